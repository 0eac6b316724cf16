import { plainText, type MessageView } from '../format.js';
import type { GotifyChannel, HttpRequestSpec } from '../types.js';

/**
 * POST /message (https://gotify.net/docs/pushmsg). The app token goes in `X-Gotify-Key`, which Gotify
 * accepts as well as `?token=`, so it stays out of reverse proxies' access logs.
 */
export function renderGotify(ch: GotifyChannel, m: MessageView): HttpRequestSpec {
  const priority = ch.priority ?? (m.severity === 'error' || m.severity === 'warning' ? 8 : 5);
  return {
    method: 'POST',
    url: `${ch.baseUrl}/message`,
    headers: { 'Content-Type': 'application/json', 'X-Gotify-Key': ch.token },
    body: JSON.stringify({ title: m.title, message: plainText(m), priority, extras: { 'client::display': { contentType: 'text/plain' } } }),
  };
}
