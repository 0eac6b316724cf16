import { createHmac } from 'node:crypto';
import { plainText, type MessageView } from '../format.js';
import type { HttpRequestSpec, NotifyEvent, WebhookChannel } from '../types.js';

export const SIGNATURE_HEADER = 'X-Dosync-Signature';

/**
 * Generic webhook: the events as JSON, with a title and a plain-text rendering for receivers that only
 * display text (Home Assistant, n8n). Body, version 1:
 * `{ "source": "dosync", "version": 1, "title", "text", "events": [{ kind, service, project?, fromImage?,
 * toImage?, fromTag?, toTag?, digest?, reason?, source?, revision?, cycles?, at }] }`.
 * With a secret, `X-Dosync-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>` (GitHub's scheme).
 */
export function renderWebhook(ch: WebhookChannel, m: MessageView, events: NotifyEvent[]): HttpRequestSpec {
  const body = ch.json ? JSON.stringify({
    // shoutrrr's JSON template: extra fields first, so title and message are never overwritten by them.
    ...ch.json.extra,
    [ch.json.titleKey]: ch.json.title ?? m.title,
    [ch.json.messageKey]: plainText(m),
  }) : JSON.stringify({
    source: 'dosync',
    version: 1,
    title: m.title,
    text: plainText(m),
    events: events.map((e) => ({ ...e, at: e.at.toISOString() })),
  });
  const headers: Record<string, string> = { ...ch.headers, 'Content-Type': ch.contentType ?? 'application/json' };
  if (ch.hmacSecret) headers[SIGNATURE_HEADER] = signature(ch.hmacSecret, body);
  return { method: ch.method ?? 'POST', url: ch.url, headers, body };
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
