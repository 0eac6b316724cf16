/** What the daemon tells the notifier about; one call carries the events of one cycle. */
export type NotifyEventKind = 'update-found' | 'updated' | 'update-failed' | 'rolled-back' | 'error-persisting' | 'signature-invalid';

export const EVENT_KINDS: readonly NotifyEventKind[] = ['update-found', 'updated', 'update-failed', 'rolled-back', 'error-persisting', 'signature-invalid'];

export interface NotifyEvent {
  kind: NotifyEventKind;
  /** Compose service name; empty for errors that concern no single service (an engine that is down). */
  service: string;
  project?: string;
  /** The image that ran before (`nginx:1.27.0`). */
  fromImage?: string;
  /** The new image: found (monitor mode), deployed, or attempted (failed / rolled back). */
  toImage?: string;
  fromTag?: string;
  toTag?: string;
  /** Digest of the new image (`sha256:...`). */
  digest?: string;
  /** Why an update failed, was rolled back, or what keeps failing. */
  reason?: string;
  /** `org.opencontainers.image.source` of the new image, when present. */
  source?: string;
  /** `org.opencontainers.image.revision` of the new image, when present. */
  revision?: string;
  /** For `error-persisting`: how many cycles in a row the error was seen. */
  cycles?: number;
  /** The unit the service moved in, when it moved with others (`n8n, n8n-runner (N8N_VERSION in .env)`). */
  unit?: string;
  /** Release notes of the new tag (dosync.link.template or the image's OCI labels). */
  link?: string;
  /** The dashboard (`public_url`), when set. */
  dashboard?: string;
  at: Date;
}

/** Channels parsed from notification URLs. `label` is safe to log: it never contains a secret. */
export type Channel =
  | WebhookChannel
  | SlackChannel
  | DiscordChannel
  | TeamsChannel
  | NtfyChannel
  | GotifyChannel
  | TelegramChannel
  | EmailChannel;

export type ChannelKind = Channel['kind'];

interface ChannelBase {
  label: string;
}

export interface WebhookChannel extends ChannelBase {
  kind: 'webhook';
  url: string;
  /** Signs the body: `X-Dosync-Signature: sha256=<hex HMAC-SHA256(secret, body)>`. */
  hmacSecret?: string;
  /** Extra request headers (shoutrrr's `@Name=value` query parameters). */
  headers: Record<string, string>;
}

export interface SlackChannel extends ChannelBase {
  kind: 'slack';
  /** `https://hooks.slack.com/services/T/B/X` */
  webhookUrl: string;
  /** Legacy webhooks honour a username override; app webhooks ignore it. */
  botName?: string;
}

export interface DiscordChannel extends ChannelBase {
  kind: 'discord';
  webhookId: string;
  token: string;
  username?: string;
  avatarUrl?: string;
  threadId?: string;
}

export interface TeamsChannel extends ChannelBase {
  kind: 'teams';
  /** Full webhook URL: a Workflows (Power Automate) URL or a legacy Office 365 connector URL. */
  url: string;
}

export interface NtfyChannel extends ChannelBase {
  kind: 'ntfy';
  /** `https://host/topic` */
  url: string;
  username?: string;
  password?: string;
  /** Access token (`ntfy://:token@host/topic`), sent as Bearer. */
  token?: string;
  /** 1..5; default: 3, and 4 for failures. */
  priority?: number;
}

export interface GotifyChannel extends ChannelBase {
  kind: 'gotify';
  /** `https://host[:port][/subpath]` without a trailing slash. */
  baseUrl: string;
  /** Application token, sent in the `X-Gotify-Key` header (kept out of proxies' access logs). */
  token: string;
  /** 0..10; default: 5, and 8 for failures. */
  priority?: number;
}

export interface TelegramChannel extends ChannelBase {
  kind: 'telegram';
  /** Bot token `123456:ABC-DEF...`. */
  token: string;
  chats: string[];
  silent: boolean;
}

export interface EmailChannel extends ChannelBase {
  kind: 'email';
  host: string;
  port: number;
  /** TLS from the first byte (port 465 / `smtps://`). */
  implicitTls: boolean;
  /** STARTTLS on a plain connection: demand it, use it when offered, or never. */
  starttls: 'required' | 'opportunistic' | 'never';
  username?: string;
  password?: string;
  from: string;
  fromName?: string;
  to: string[];
}

/** An HTTP request a channel sends; built by pure functions, sent by the notifier. */
export interface HttpRequestSpec {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The subset of pino the notifier and the API server use. */
export interface LoggerLike {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
