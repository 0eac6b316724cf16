import { changeText, type EventView, type MessageView } from '../format.js';
import type { HttpRequestSpec, SlackChannel } from '../types.js';

/** Slack allows 50 blocks per message; header + context leave room for this many events. */
const MAX_EVENT_BLOCKS = 45;
const ICON: Record<EventView['kind'], string> = {
  'update-found': ':package:',
  updated: ':white_check_mark:',
  'update-failed': ':x:',
  'rolled-back': ':rewind:',
  'error-persisting': ':rotating_light:',
  'signature-invalid': ':warning:',
};

/** Incoming webhook (https://api.slack.com/messaging/webhooks): `text` is the notification fallback, blocks the body. */
export function renderSlack(ch: SlackChannel, m: MessageView): HttpRequestSpec {
  const shown = m.events.length > MAX_EVENT_BLOCKS ? m.events.slice(0, MAX_EVENT_BLOCKS - 1) : m.events;
  const blocks: object[] = [{ type: 'header', text: { type: 'plain_text', text: clip(m.title, 150), emoji: true } }];
  for (const v of shown) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(section(v), 3000) } });
  if (shown.length < m.events.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `…and ${m.events.length - shown.length} more` } });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escape(`dosync${m.project ? ` · project ${m.project}` : ''}`) + (m.dashboard && isLinkable(m.dashboard) ? ` · <${m.dashboard}|dashboard>` : '') }] });
  const payload: Record<string, unknown> = { text: m.title, blocks };
  if (ch.botName) payload.username = ch.botName;
  return { method: 'POST', url: ch.webhookUrl, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) };
}

function section(v: EventView): string {
  const change = changeText({ from: code(v.from), to: code(v.to), digest: v.digest }, '→');
  const what: Record<EventView['kind'], string> = {
    'update-found': `update available ${change}`,
    updated: `updated ${change}`,
    'update-failed': `update ${change} failed`,
    'rolled-back': `rolled back${v.from ? ` to ${code(v.from)}` : ''}${v.to && v.to !== v.from ? ` (${code(v.to)} failed)` : ''}`,
    'error-persisting': `failing${v.cycles ? ` for ${v.cycles} cycles` : ''}`,
    'signature-invalid': `running image${v.from ? ` ${code(v.from)}` : ''} does not verify (not redeployed)`,
  };
  const lines = [`${ICON[v.kind]} *${escape(v.subject)}* ${what[v.kind].trim()}`];
  if (v.reason) lines.push(`> ${escape(v.reason)}`);
  const details: string[] = [];
  if (v.digest) details.push(`digest ${code(v.digest)}`);
  if (v.source) details.push(isLinkable(v.source) ? `<${v.source}|source>` : `source ${escape(v.source)}`);
  if (v.revision) details.push(`revision ${code(v.revision)}`);
  if (details.length) lines.push(details.join(' · '));
  return lines.join('\n');
}

/** Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function code(text: string | undefined): string | undefined {
  return text === undefined ? undefined : `\`${escape(text.replace(/`/g, "'"))}\``;
}

function isLinkable(url: string): boolean {
  return /^https?:\/\/[^\s|<>]+$/.test(url);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
