/**
 * Notification URLs in the style of shoutrrr (the library Watchtower uses), so users can paste the URLs
 * they already have. Parsed once at startup; a bad URL is a ConfigError that names its position and
 * scheme but never echoes the URL (its tokens and passwords are secrets).
 *
 *   generic+https://host/path[?hmac=SECRET][&@Header=value]   webhook+http://...   generic://host/path
 *     shoutrrr's generic parameters are interpreted, not forwarded: template=json (with titlekey, messagekey,
 *     title, $field=value), contenttype, requestmethod, disabletls; `_name` forwards a reserved name; other
 *     query parameters are passed on to the target; the hmac value keeps a literal "+".
 *   slack://hooks.slack.com/services/T/B/X   slack://[botname@]T/B/X   slack://hook:T-B-X@webhook
 *   discord://TOKEN@WEBHOOKID[?username=&avatar=&thread_id=]
 *   teams+https://<webhook or workflow URL>   teams://group@tenant/altId/groupOwner?host=org.webhook.office.com
 *   ntfy://[user:pass@|:token@]host[:port]/topic[?scheme=http&priority=1..5]
 *   gotify://host[:port][/subpath]/TOKEN[?priority=0..10&disabletls=yes]
 *   telegram://TOKEN@telegram?chats=ID1,@channel[&notification=no]
 *   smtp[s]://[user:pass@]host[:port]/?from=a@b&to=c@d,e@f[&starttls=required|opportunistic|never][&fromname=]
 */
import { ConfigError } from '../util/errors.js';
import type { Channel, DiscordChannel, EmailChannel, GotifyChannel, NtfyChannel, SlackChannel, TeamsChannel, TelegramChannel, WebhookChannel } from './types.js';

class UrlProblem extends Error {}

const SUPPORTED = 'generic+https, webhook+https, slack, discord, teams, ntfy, gotify, telegram, smtp, smtps';

export function parseChannels(urls: string[]): Channel[] {
  return urls.map((raw, i) => {
    const scheme = schemeOf(raw);
    const where = `notification URL ${i + 1}${scheme ? ` (${scheme}://)` : ''}`;
    try {
      return parseChannel(raw.trim(), scheme);
    } catch (err) {
      if (err instanceof UrlProblem) throw new ConfigError(`${where}: ${err.message}`);
      throw err;
    }
  });
}

/** The scheme only, lower-cased, or '' when the text has none. Safe to show: it holds no secret. */
function schemeOf(raw: string): string {
  const m = /^\s*([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(raw);
  return m ? m[1].toLowerCase() : '';
}

function parseChannel(raw: string, scheme: string): Channel {
  if (scheme === '') throw new UrlProblem(`not a URL; expected SCHEME://..., where SCHEME is one of ${SUPPORTED}`);
  const u = parseUrl(raw, scheme);
  switch (scheme) {
    case 'generic':
    case 'generic+https':
    case 'generic+http':
    case 'webhook':
    case 'webhook+https':
    case 'webhook+http':
      return webhook(u, scheme);
    case 'slack':
    case 'slack+https':
      return slack(u, scheme);
    case 'discord':
      return discord(u);
    case 'teams':
    case 'teams+https':
      return teams(u, scheme);
    case 'ntfy':
      return ntfy(u);
    case 'gotify':
      return gotify(u);
    case 'telegram':
      return telegram(u);
    case 'smtp':
    case 'smtps':
      return email(u, scheme);
    default:
      throw new UrlProblem(`unknown scheme; supported: ${SUPPORTED}`);
  }
}

function parseUrl(raw: string, scheme: string): URL {
  try {
    return new URL(raw);
  } catch {
    // URL's own error repeats the input, secrets included: say what is wrong in our words.
    throw new UrlProblem(`cannot be parsed as a URL; check for spaces or unescaped characters (percent-encode "/", "@", ":" and "#" inside tokens and passwords), e.g. ${example(scheme)}`);
  }
}

function example(scheme: string): string {
  const examples: Record<string, string> = {
    slack: 'slack://hooks.slack.com/services/T000/B000/XXXX',
    discord: 'discord://TOKEN@WEBHOOKID',
    teams: 'teams+https://example.webhook.office.com/webhookb2/...',
    ntfy: 'ntfy://ntfy.sh/my-topic',
    gotify: 'gotify://gotify.example.com/APPTOKEN',
    telegram: 'telegram://123456:ABC@telegram?chats=-1001234',
    smtp: 'smtp://user:pass@mail.example.com:587/?from=dosync@example.com&to=ops@example.com',
  };
  const base = scheme.split('+')[0];
  return examples[base] ?? examples[scheme === 'smtps' ? 'smtp' : base] ?? 'generic+https://hooks.example.com/dosync';
}

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new UrlProblem('contains a malformed percent-escape');
  }
};

function pathSegments(u: URL): string[] {
  return u.pathname.split('/').filter((s) => s !== '').map(decode);
}

function yesNo(u: URL, name: string, fallback: boolean): boolean {
  const v = u.searchParams.get(name);
  if (v === null || v === '') return fallback;
  if (/^(yes|true|1|on)$/i.test(v)) return true;
  if (/^(no|false|0|off)$/i.test(v)) return false;
  throw new UrlProblem(`query parameter "${name}" must be yes or no`);
}

function intParam(u: URL, name: string, min: number, max: number): number | undefined {
  const v = u.searchParams.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UrlProblem(`query parameter "${name}" must be an integer from ${min} to ${max}`);
  return n;
}

function hostPort(u: URL): string {
  return u.port ? `${u.hostname}:${u.port}` : u.hostname;
}

// --- generic webhook -------------------------------------------------------------------------

function webhook(u: URL, scheme: string): WebhookChannel {
  const [, inner] = scheme.split('+');
  // shoutrrr's plain generic:// means https unless disabletls=yes.
  const protocol = inner ?? (yesNo(u, 'disabletls', false) ? 'http' : 'https');
  if (u.hostname === '') throw new UrlProblem(`the host is missing, e.g. ${scheme}://hooks.example.com/path`);
  const target = new URL(`${protocol}://${u.host}${u.pathname}`);
  let hmacSecret: string | undefined;
  const headers: Record<string, string> = {};
  // fetch refuses URLs with credentials (Fetch standard), so userinfo becomes Basic auth.
  if (u.username || u.password) headers.Authorization = `Basic ${Buffer.from(`${decode(u.username)}:${decode(u.password)}`).toString('base64')}`;
  // shoutrrr's generic service reads these itself (https://containrrr.dev/shoutrrr/v0.8/services/generic/);
  // any other parameter is forwarded to the target, and `_name` forwards a reserved name as `name`.
  const props: Record<string, string> = {};
  const extra: Record<string, string> = {};
  for (const [key, value] of u.searchParams) {
    const lower = key.toLowerCase();
    if (key === 'hmac') hmacSecret = rawParam(u, 'hmac') ?? value;
    else if (lower === 'disabletls') continue;
    else if (GENERIC_PROPS.includes(lower)) props[lower] = value;
    else if (key.startsWith('@')) {
      const name = key.slice(1);
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new UrlProblem('a "@Header=value" query parameter has an invalid header name');
      headers[name] = value;
    } else if (key.startsWith('$') && key.length > 1) extra[key.slice(1)] = value;
    else if (key.startsWith('_') && key.length > 1) target.searchParams.append(key.slice(1), value);
    else target.searchParams.append(key, value);
  }
  if (hmacSecret === '') throw new UrlProblem('"hmac" is empty; give the shared secret or leave the parameter out');
  const channel: WebhookChannel = { kind: 'webhook', url: target.toString(), hmacSecret, headers, label: `webhook ${protocol}://${u.host}` };
  if (props.requestmethod) {
    const method = props.requestmethod.toUpperCase();
    if (!/^(POST|PUT|PATCH)$/.test(method)) throw new UrlProblem(`requestmethod "${props.requestmethod}" cannot carry a message; use POST, PUT or PATCH`);
    channel.method = method as 'POST' | 'PUT' | 'PATCH';
  }
  if (props.contenttype) channel.contentType = props.contenttype;
  const template = props.template?.toLowerCase();
  if (template !== undefined && template !== '' && template !== 'json') {
    throw new UrlProblem(`template "${props.template}" is not known; shoutrrr URLs name only the built-in template=json (leave it out for dosync's event document)`);
  }
  if (template === 'json') {
    channel.json = { titleKey: props.titlekey || 'title', messageKey: props.messagekey || 'message', extra, ...(props.title ? { title: props.title } : {}) };
  } else if (Object.keys(extra).length > 0 || props.titlekey || props.messagekey) {
    throw new UrlProblem('"$field", titlekey and messagekey shape shoutrrr\'s JSON template; add template=json');
  } else if (props.title) {
    throw new UrlProblem('title sets the title of shoutrrr\'s JSON template; add template=json');
  }
  return channel;
}

/** shoutrrr generic's own query parameters (lower-case; shoutrrr matches them case-insensitively). */
const GENERIC_PROPS = ['contenttype', 'messagekey', 'requestmethod', 'template', 'title', 'titlekey'];

/**
 * A query value percent-decoded but with "+" kept: HMAC secrets are often base64, and form-decoding
 * would silently turn their "+" into spaces and break every signature.
 */
function rawParam(u: URL, name: string): string | undefined {
  for (const pair of u.search.slice(1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq) === name) return decode(pair.slice(eq + 1));
  }
  return undefined;
}

// --- Slack ----------------------------------------------------------------------------------

const SLACK_PART = /^[A-Za-z0-9]+$/;

function slack(u: URL, scheme: string): SlackChannel {
  let parts: string[];
  let botName: string | undefined;
  const segments = pathSegments(u);
  if (scheme === 'slack+https' || u.hostname === 'hooks.slack.com') {
    // slack://hooks.slack.com/services/T/B/X: the webhook URL with its scheme swapped.
    if (u.hostname !== 'hooks.slack.com' || segments[0] !== 'services') throw new UrlProblem('expected hooks.slack.com/services/T.../B.../X...');
    parts = segments.slice(1);
  } else if (decode(u.username).toLowerCase() === 'hook' && u.hostname.toLowerCase() === 'webhook') {
    // shoutrrr >= 0.6: slack://hook:T-B-X@webhook
    parts = decode(u.password).split('-');
  } else if (/^xox/i.test(decode(u.username))) {
    throw new UrlProblem('Slack bot tokens (xox...) are not supported; create an incoming webhook and use slack://hooks.slack.com/services/T/B/X');
  } else {
    // shoutrrr < 0.6: slack://[botname@]T/B/X
    if (u.username) botName = decode(u.username);
    parts = [decode(u.hostname), ...segments];
  }
  if (parts.length !== 3 || !parts.every((p) => SLACK_PART.test(p))) {
    throw new UrlProblem('the webhook token must have three parts T.../B.../X... (letters and digits), e.g. slack://hooks.slack.com/services/T000/B000/XXXX');
  }
  return { kind: 'slack', webhookUrl: `https://hooks.slack.com/services/${parts.join('/')}`, botName, label: `slack webhook ${parts[0]}/${parts[1]}` };
}

// --- Discord --------------------------------------------------------------------------------

function discord(u: URL): DiscordChannel {
  const token = decode(u.username);
  const webhookId = decode(u.hostname);
  if (token === '' || webhookId === '') throw new UrlProblem('expected discord://TOKEN@WEBHOOKID (from https://discord.com/api/webhooks/WEBHOOKID/TOKEN)');
  if (!/^\d+$/.test(webhookId)) throw new UrlProblem('the webhook ID (after "@") must be the number from the webhook URL');
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new UrlProblem('the webhook token (before "@") may only contain letters, digits, "_" and "-"');
  const threadId = u.searchParams.get('thread_id') ?? u.searchParams.get('threadid') ?? undefined;
  if (threadId !== undefined && !/^\d+$/.test(threadId)) throw new UrlProblem('"thread_id" must be a number');
  return {
    kind: 'discord',
    webhookId,
    token,
    username: u.searchParams.get('username') ?? undefined,
    avatarUrl: u.searchParams.get('avatar') ?? u.searchParams.get('avatarurl') ?? undefined,
    threadId,
    label: `discord webhook ${webhookId}`,
  };
}

// --- Microsoft Teams ------------------------------------------------------------------------

function teams(u: URL, scheme: string): TeamsChannel {
  if (scheme === 'teams+https') {
    if (u.hostname === '') throw new UrlProblem('the host is missing; prefix the webhook URL Teams gave you with "teams+"');
    const url = `https${u.toString().slice('teams+https'.length)}`;
    return { kind: 'teams', url, label: `teams ${u.hostname}` };
  }
  // Legacy shoutrrr form for Office 365 connector URLs:
  // https://<host>/webhookb2/<group>@<tenant>/IncomingWebhook/<altId>/<groupOwner>[/<extraId>]
  const host = u.searchParams.get('host');
  const group = decode(u.username);
  const tenant = decode(u.hostname);
  const segments = pathSegments(u);
  if (!host) throw new UrlProblem('add ?host=<organisation>.webhook.office.com, or use teams+https://<the full webhook URL>');
  if (!group || !tenant || segments.length < 2 || segments.length > 3) {
    throw new UrlProblem('expected teams://group@tenant/altId/groupOwner?host=..., or teams+https://<the full webhook URL>');
  }
  const url = `https://${host}/webhookb2/${encodeURIComponent(group)}@${encodeURIComponent(tenant)}/IncomingWebhook/${segments.map(encodeURIComponent).join('/')}`;
  return { kind: 'teams', url, label: `teams ${host}` };
}

// --- ntfy -----------------------------------------------------------------------------------

function ntfy(u: URL): NtfyChannel {
  const segments = pathSegments(u);
  if (u.hostname === '') throw new UrlProblem('the host is missing, e.g. ntfy://ntfy.sh/my-topic');
  if (segments.length !== 1) throw new UrlProblem('expected exactly one topic in the path, e.g. ntfy://ntfy.sh/my-topic');
  const protocol = u.searchParams.get('scheme') ?? 'https';
  if (protocol !== 'https' && protocol !== 'http') throw new UrlProblem('"scheme" must be https or http');
  const username = decode(u.username);
  const password = decode(u.password);
  const base: NtfyChannel = {
    kind: 'ntfy',
    url: `${protocol}://${hostPort(u)}/${encodeURIComponent(segments[0])}`,
    priority: intParam(u, 'priority', 1, 5),
    // The topic is a secret on public servers ("the topic is essentially a password"): not in the label.
    label: `ntfy ${protocol}://${hostPort(u)}`,
  };
  if (username === '' && password !== '') return { ...base, token: password };
  if (username !== '') return { ...base, username, password };
  return base;
}

// --- Gotify ---------------------------------------------------------------------------------

function gotify(u: URL): GotifyChannel {
  const segments = pathSegments(u);
  if (u.hostname === '') throw new UrlProblem('the host is missing, e.g. gotify://gotify.example.com/APPTOKEN');
  const token = segments.pop();
  if (!token) throw new UrlProblem('the application token is missing: gotify://host[:port][/subpath]/APPTOKEN');
  const protocol = yesNo(u, 'disabletls', false) ? 'http' : 'https';
  const subpath = segments.map(encodeURIComponent).join('/');
  return {
    kind: 'gotify',
    baseUrl: `${protocol}://${hostPort(u)}${subpath ? `/${subpath}` : ''}`,
    token,
    priority: intParam(u, 'priority', 0, 10),
    label: `gotify ${protocol}://${hostPort(u)}`,
  };
}

// --- Telegram -------------------------------------------------------------------------------

function telegram(u: URL): TelegramChannel {
  // The bot token "123456:ABC" sits in the userinfo, so URL splits it at the colon.
  const token = `${decode(u.username)}:${decode(u.password)}`;
  if (!/^\d+:[A-Za-z0-9_-]+$/.test(token)) throw new UrlProblem('expected telegram://BOTTOKEN@telegram?chats=..., where BOTTOKEN looks like 123456:ABC-DEF (from @BotFather)');
  if (u.hostname.toLowerCase() !== 'telegram') throw new UrlProblem('the host must be the word "telegram": telegram://BOTTOKEN@telegram?chats=...');
  const chats = (u.searchParams.get('chats') ?? u.searchParams.get('channels') ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '');
  if (chats.length === 0) throw new UrlProblem('"chats" is missing: list chat IDs or @channel names, comma-separated');
  for (const chat of chats) if (!/^(-?\d+|@[A-Za-z0-9_]{4,})$/.test(chat)) throw new UrlProblem('each chat must be a numeric chat ID or an @channelname');
  return { kind: 'telegram', token, chats, silent: !yesNo(u, 'notification', true), label: `telegram bot ${token.split(':')[0]} (${chats.length} chat${chats.length === 1 ? '' : 's'})` };
}

// --- email ----------------------------------------------------------------------------------

const ADDRESS = /^[^\s@<>,]+@[^\s@<>,]+$/;

function email(u: URL, scheme: string): EmailChannel {
  if (u.hostname === '') throw new UrlProblem('the SMTP host is missing, e.g. smtp://mail.example.com:587/?from=...&to=...');
  const from = u.searchParams.get('from') ?? '';
  const to = (u.searchParams.get('to') ?? '').split(',').map((a) => a.trim()).filter((a) => a !== '');
  if (!ADDRESS.test(from)) throw new UrlProblem('"from" must be one e-mail address, e.g. from=dosync@example.com');
  if (to.length === 0) throw new UrlProblem('"to" is missing: one or more e-mail addresses, comma-separated');
  if (!to.every((a) => ADDRESS.test(a))) throw new UrlProblem('"to" contains something that is not an e-mail address');
  const port = u.port ? Number(u.port) : scheme === 'smtps' ? 465 : 25;
  const { implicitTls, starttls } = tlsMode(u, scheme, port);
  const username = decode(u.username);
  return {
    kind: 'email',
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    implicitTls,
    starttls,
    username: username || undefined,
    password: username ? decode(u.password) : undefined,
    from,
    fromName: u.searchParams.get('fromname') ?? undefined,
    to,
    label: `email via ${u.hostname}:${port}`,
  };
}

function tlsMode(u: URL, scheme: string, port: number): Pick<EmailChannel, 'implicitTls' | 'starttls'> {
  if (scheme === 'smtps') return { implicitTls: true, starttls: 'never' };
  // shoutrrr's encryption=None|ExplicitTLS|ImplicitTLS|Auto
  const encryption = u.searchParams.get('encryption')?.toLowerCase();
  if (encryption !== undefined) {
    if (encryption === 'implicittls') return { implicitTls: true, starttls: 'never' };
    if (encryption === 'explicittls') return { implicitTls: false, starttls: 'required' };
    if (encryption === 'none') return { implicitTls: false, starttls: 'never' };
    if (encryption !== 'auto') throw new UrlProblem('"encryption" must be None, ExplicitTLS, ImplicitTLS or Auto');
  }
  const starttls = u.searchParams.get('starttls') ?? u.searchParams.get('usestarttls');
  if (starttls === null || starttls === '') return port === 465 ? { implicitTls: true, starttls: 'never' } : { implicitTls: false, starttls: 'opportunistic' };
  const v = starttls.toLowerCase();
  if (v === 'required' || v === 'yes' || v === 'true') return { implicitTls: false, starttls: 'required' };
  if (v === 'opportunistic' || v === 'auto') return { implicitTls: false, starttls: 'opportunistic' };
  if (v === 'never' || v === 'no' || v === 'false') return { implicitTls: false, starttls: 'never' };
  throw new UrlProblem('"starttls" must be required, opportunistic or never');
}
