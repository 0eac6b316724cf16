/** Notifications: channel URLs (shoutrrr style), one message per cycle per channel, retried, never blocking. */
export { parseChannels } from './urls.js';
export { createNotifier, type Notifier, type NotifierOptions, type DeliveryResult } from './notifier.js';
export { buildMessage, plainText, type MessageView, type EventView } from './format.js';
export { signature as webhookSignature, SIGNATURE_HEADER } from './render/index.js';
export type { Channel, ChannelKind, NotifyEvent, NotifyEventKind, LoggerLike } from './types.js';
