import { plainText, type MessageView, type Severity } from '../format.js';
import type { HttpRequestSpec, NtfyChannel } from '../types.js';
import { encodeHeader } from './headers.js';

/** ntfy tags that render as emojis (https://docs.ntfy.sh/publish/#tags-emojis). */
const TAG: Record<Severity, string> = { info: 'package', success: 'white_check_mark', warning: 'rewind', error: 'rotating_light' };

/** Publish as in https://docs.ntfy.sh/publish/: the message as the body, Title/Tags/Priority as headers. */
export function renderNtfy(ch: NtfyChannel, m: MessageView): HttpRequestSpec {
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain; charset=utf-8',
    Title: encodeHeader(m.title),
    Tags: `${TAG[m.severity]},dosync`,
    Priority: String(ch.priority ?? (m.severity === 'error' || m.severity === 'warning' ? 4 : 3)),
  };
  if (ch.token) headers.Authorization = `Bearer ${ch.token}`;
  else if (ch.username) headers.Authorization = `Basic ${Buffer.from(`${ch.username}:${ch.password ?? ''}`).toString('base64')}`;
  return { method: 'POST', url: ch.url, headers, body: plainText(m) };
}
