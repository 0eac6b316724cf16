import { changeText, type EventView, type MessageView, type Severity } from '../format.js';
import type { DiscordChannel, HttpRequestSpec } from '../types.js';

export const DISCORD_ORIGIN = 'https://discord.com';
/** Discord allows 10 embeds and 6000 characters across them; these caps keep well inside both. */
const MAX_EMBEDS = 10;
const TITLE_MAX = 150;
const DESCRIPTION_MAX = 400;
const COLOR: Record<Severity, number> = { info: 0x2488ff, success: 0x2eb67d, warning: 0xffc441, error: 0xd60510 };

/**
 * Execute Webhook (POST /api/webhooks/{id}/{token}): `content` carries the title, one embed per event.
 * `allowed_mentions: { parse: [] }` so a reason text can never ping @everyone.
 */
export function renderDiscord(ch: DiscordChannel, m: MessageView): HttpRequestSpec {
  const overflow = m.events.length > MAX_EMBEDS;
  const shown = overflow ? m.events.slice(0, MAX_EMBEDS - 1) : m.events;
  const embeds: object[] = shown.map(embed);
  if (overflow) embeds.push({ description: `…and ${m.events.length - shown.length} more`, color: COLOR[m.severity] });
  if (m.dashboard && /^https?:\/\/\S+$/.test(m.dashboard) && embeds.length < MAX_EMBEDS) embeds.push({ description: `[dashboard](${m.dashboard.replace(/\)/g, '%29')})`, color: COLOR[m.severity] });
  const payload: Record<string, unknown> = { content: clip(escape(m.title), 2000), embeds, allowed_mentions: { parse: [] } };
  if (ch.username) payload.username = ch.username;
  if (ch.avatarUrl) payload.avatar_url = ch.avatarUrl;
  const query = ch.threadId ? `?thread_id=${ch.threadId}` : '';
  return {
    method: 'POST',
    url: `${DISCORD_ORIGIN}/api/webhooks/${ch.webhookId}/${ch.token}${query}`,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(payload),
  };
}

function embed(v: EventView): object {
  const lines: string[] = [];
  const change = changeText({ from: code(v.from), to: code(v.to), digest: v.digest }, '→');
  if (change) lines.push(change);
  if (v.reason) lines.push(`> ${escape(v.reason)}`);
  if (v.digest) lines.push(`digest ${code(v.digest)}`);
  if (v.source) lines.push(/^https?:\/\/\S+$/.test(v.source) ? `[source](${v.source.replace(/\)/g, '%29')})` : `source ${escape(v.source)}`);
  if (v.revision) lines.push(`revision ${code(v.revision)}`);
  return {
    title: clip(v.headline, TITLE_MAX),
    description: clip(lines.join('\n'), DESCRIPTION_MAX),
    color: COLOR[v.severity],
    timestamp: v.at.toISOString(),
  };
}

/** Backslash-escapes Discord markdown (`[` and `]` too, so no text becomes a link) so names and reasons render literally. */
export function escape(text: string): string {
  return text.replace(/([\\*_~`|>#[\]-])/g, '\\$1').replace(/@/g, '@\u200b');
}

function code(text: string | undefined): string | undefined {
  return text === undefined ? undefined : `\`${text.replace(/`/g, "'")}\``;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
