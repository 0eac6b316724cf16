import type { MessageView } from '../format.js';
import type { Channel, HttpRequestSpec, NotifyEvent } from '../types.js';
import { renderDiscord } from './discord.js';
import { renderGotify } from './gotify.js';
import { renderNtfy } from './ntfy.js';
import { renderSlack } from './slack.js';
import { renderTeams } from './teams.js';
import { renderTelegram } from './telegram.js';
import { renderWebhook } from './webhook.js';

export { renderEmail, type MailSpec } from './email.js';
export { signature, SIGNATURE_HEADER } from './webhook.js';

/** The HTTP requests one message becomes on an HTTP channel (Telegram: one per chat). */
export function renderRequests(ch: Exclude<Channel, { kind: 'email' }>, m: MessageView, events: NotifyEvent[]): HttpRequestSpec[] {
  switch (ch.kind) {
    case 'webhook':
      return [renderWebhook(ch, m, events)];
    case 'slack':
      return [renderSlack(ch, m)];
    case 'discord':
      return [renderDiscord(ch, m)];
    case 'teams':
      return [renderTeams(ch, m)];
    case 'ntfy':
      return [renderNtfy(ch, m)];
    case 'gotify':
      return [renderGotify(ch, m)];
    case 'telegram':
      return renderTelegram(ch, m);
  }
}
