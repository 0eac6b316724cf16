import { changeText, type EventView, type MessageView } from '../format.js';
import type { HttpRequestSpec, TelegramChannel } from '../types.js';

export const TELEGRAM_ORIGIN = 'https://api.telegram.org';
/** sendMessage accepts 4096 characters of text after entity parsing. */
const MAX_TEXT = 4000;

/** Bot API sendMessage (https://core.telegram.org/bots/api#sendmessage), HTML parse mode, one request per chat. */
export function renderTelegram(ch: TelegramChannel, m: MessageView): HttpRequestSpec[] {
  const text = messageText(m);
  return ch.chats.map((chat) => ({
    method: 'POST' as const,
    url: `${TELEGRAM_ORIGIN}/bot${ch.token}/sendMessage`,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      chat_id: chat,
      text,
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      ...(ch.silent ? { disable_notification: true } : {}),
    }),
  }));
}

export function messageText(m: MessageView): string {
  let text = `<b>${escape(m.title)}</b>`;
  for (let i = 0; i < m.events.length; i++) {
    const block = `\n\n${eventBlock(m.events[i])}`;
    const rest = m.events.length - i;
    if (text.length + block.length > MAX_TEXT - 40) return `${text}\n\n…and ${rest} more`;
    text += block;
  }
  return m.dashboard && text.length + m.dashboard.length < MAX_TEXT - 40 ? `${text}\n\n<a href="${escape(m.dashboard)}">dashboard</a>` : text;
}

function eventBlock(v: EventView): string {
  const change = changeText({ from: code(v.from), to: code(v.to), digest: v.digest }, '→');
  const lines = [`<b>${escape(v.headline)}</b>`];
  if (change) lines.push(change);
  if (v.reason) lines.push(`<i>${escape(v.reason)}</i>`);
  const details: string[] = [];
  if (v.digest) details.push(`digest ${code(v.digest)}`);
  if (v.source) details.push(/^https?:\/\/\S+$/.test(v.source) ? `<a href="${escape(v.source)}">source</a>` : `source ${escape(v.source)}`);
  if (v.revision) details.push(`revision ${code(v.revision)}`);
  if (details.length) lines.push(details.join(', '));
  return lines.join('\n');
}

/** The three characters Telegram's HTML mode requires escaped, plus the quote for attributes. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function code(text: string | undefined): string | undefined {
  return text === undefined ? undefined : `<code>${escape(text)}</code>`;
}
