/**
 * Notification delivery over real sockets. The receivers are protocol fixtures: a local HTTP server
 * standing in for each service's webhook endpoint (the request formats asserted are the documented
 * ones: Slack incoming webhooks, Discord execute-webhook, Teams Adaptive Card envelope, ntfy publish,
 * Gotify /message, Telegram sendMessage), and a real SMTP server (smtp-server) for e-mail.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { createNotifier, parseChannels, type DeliveryResult, type NotifyEvent } from '../../src/notify/index.js';
import type { LoggerLike } from '../../src/notify/types.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import { startSmtpFixture } from '../helpers/smtp-fixture.js';

const AT = new Date('2025-03-01T10:00:00Z');
const DIGEST = `sha256:${'9f86d081884c7d65'.repeat(4)}`;
const updated: NotifyEvent = {
  kind: 'updated',
  service: 'web',
  project: 'shop',
  fromImage: '127.0.0.1:5000/shop/web:1.4.0',
  toImage: '127.0.0.1:5000/shop/web:1.5.0',
  digest: DIGEST,
  source: 'https://github.com/acme/web',
  revision: '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e',
  at: AT,
};
const rolledBack: NotifyEvent = { kind: 'rolled-back', service: 'api', project: 'shop', fromTag: '2.0.0', toTag: '2.1.0', reason: 'container unhealthy after 60s', at: AT };

interface Captured {
  logs: Array<{ level: string; obj: object; msg?: string }>;
  logger: LoggerLike;
}

function capture(): Captured {
  const logs: Captured['logs'] = [];
  const at = (level: string) => (obj: object, msg?: string) => void logs.push({ level, obj, msg });
  return { logs, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

/** A loopback port nobody listens on. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('HTTP channels against a local receiver (protocol fixture)', () => {
  let rx: HttpReceiver;
  before(async () => (rx = await startHttpReceiver()));
  after(() => rx.close());
  beforeEach(() => (rx.requests.length = 0));

  const override = () => ({ slack: rx.url, discord: rx.url, telegram: rx.url, teams: rx.url });

  async function deliver(url: string, events: NotifyEvent[] = [updated]): Promise<DeliveryResult[]> {
    const results: DeliveryResult[] = [];
    const notifier = createNotifier(parseChannels([url]), { endpointOverride: override(), retries: 0, onDelivery: (r) => results.push(r) });
    await notifier.notify(events);
    return results;
  }

  test('generic webhook: POST JSON with a verifiable HMAC-SHA256 signature', async () => {
    const secret = 'hmac+secret/with=chars';
    const results = await deliver(`webhook+${rx.url}/hooks/dosync?team=ops&hmac=${encodeURIComponent(secret)}`);
    assert.equal(results[0].ok, true);
    assert.equal(rx.requests.length, 1);
    const req = rx.requests[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/hooks/dosync');
    assert.equal(req.query.get('team'), 'ops');
    assert.equal(req.query.get('hmac'), null, 'the secret is not sent');
    assert.equal(req.headers['content-type'], 'application/json');
    const expected = `sha256=${createHmac('sha256', secret).update(req.body).digest('hex')}`;
    assert.equal(req.headers['x-dosync-signature'], expected);
    const body = JSON.parse(req.body);
    assert.equal(body.source, 'dosync');
    assert.equal(body.version, 1);
    assert.equal(body.title, 'dosync (shop): web updated to 1.5.0');
    assert.deepEqual(body.events, [{ ...updated, at: AT.toISOString() }]);
  });

  test('generic webhook: credentials in the URL are sent as Basic auth, @headers as headers', async () => {
    const results = await deliver(`webhook+http://hook%40user:s3cret@${new URL(rx.url).host}/in?@X-Env=prod`);
    assert.equal(results[0].ok, true);
    const req = rx.requests[0];
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('hook@user:s3cret').toString('base64')}`);
    assert.equal(req.headers['x-env'], 'prod');
    assert.equal(req.query.toString(), '');
  });

  test('Slack: POST /services/T/B/X with text and blocks', async () => {
    await deliver('slack://hooks.slack.com/services/T0001/B0002/XyZ123');
    const req = rx.requests[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/services/T0001/B0002/XyZ123');
    assert.equal(req.headers['content-type'], 'application/json');
    const body = JSON.parse(req.body);
    assert.equal(body.text, 'dosync (shop): web updated to 1.5.0');
    assert.deepEqual(body.blocks.map((b: { type: string }) => b.type), ['header', 'section', 'context']);
    assert.equal(body.blocks[1].text.type, 'mrkdwn');
    assert.match(body.blocks[1].text.text, /\*web\* updated `1\.4\.0` → `1\.5\.0`/);
    assert.match(body.blocks[1].text.text, /digest `sha256:9f86d081884c` · <https:\/\/github\.com\/acme\/web\|source> · revision `4f2a9c1e0b7d`/);
  });

  test('Discord: POST /api/webhooks/ID/TOKEN with content and embeds', async () => {
    await deliver('discord://tok_EN-1@112233445566?username=dosync', [updated, rolledBack]);
    const req = rx.requests[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/api/webhooks/112233445566/tok_EN-1');
    assert.equal(req.headers['content-type'], 'application/json');
    const body = JSON.parse(req.body);
    assert.equal(body.username, 'dosync');
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    assert.match(body.content, /1 updated, 1 rolled back/);
    assert.deepEqual(body.embeds.map((e: { title: string }) => e.title), ['web updated to 1.5.0', 'api rolled back to 2.0.0']);
    assert.equal(body.embeds[1].color, 0xffc441);
    assert.equal(body.embeds[0].timestamp, AT.toISOString());
  });

  test('Teams: POST of an Adaptive Card message to the webhook URL', async () => {
    await deliver('teams+https://acme.webhook.office.com/webhookb2/g@t/IncomingWebhook/a/o');
    const req = rx.requests[0];
    assert.equal(req.path, '/webhookb2/g@t/IncomingWebhook/a/o');
    const body = JSON.parse(req.body);
    assert.equal(body.type, 'message');
    assert.equal(body.attachments.length, 1);
    assert.equal(body.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(body.attachments[0].content.type, 'AdaptiveCard');
    assert.equal(body.attachments[0].content.body[0].text, 'dosync (shop): web updated to 1.5.0');
  });

  test('ntfy: POST /topic, text body, Title/Tags/Priority headers, Basic auth', async () => {
    const host = new URL(rx.url).host;
    await deliver(`ntfy://alice:pa55@${host}/dosync-alerts?scheme=http`, [rolledBack]);
    const req = rx.requests[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/dosync-alerts');
    assert.equal(req.headers.title, 'dosync (shop): api rolled back to 2.0.0');
    assert.equal(req.headers.tags, 'rewind,dosync');
    assert.equal(req.headers.priority, '4');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('alice:pa55').toString('base64')}`);
    assert.equal(req.body, 'api: rolled back to 2.0.0 (2.1.0 failed): container unhealthy after 60s');
  });

  test('Gotify: POST /message with X-Gotify-Key and JSON title/message/priority', async () => {
    const host = new URL(rx.url).host;
    await deliver(`gotify://${host}/gotify/AppT0ken.x?disabletls=yes&priority=7`);
    const req = rx.requests[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/gotify/message');
    assert.equal(req.headers['x-gotify-key'], 'AppT0ken.x');
    const body = JSON.parse(req.body);
    assert.equal(body.title, 'dosync (shop): web updated to 1.5.0');
    assert.equal(body.priority, 7);
    assert.match(body.message, /^web: updated 1\.4\.0 -> 1\.5\.0\n {2}digest sha256:9f86d081884c/);
  });

  test('Telegram: POST /bot<TOKEN>/sendMessage once per chat', async () => {
    const results = await deliver('telegram://987654:AAE-secret_x@telegram?chats=-1001,@dosync_ops');
    assert.equal(results[0].ok, true);
    assert.deepEqual(rx.requests.map((r) => r.path), ['/bot987654:AAE-secret_x/sendMessage', '/bot987654:AAE-secret_x/sendMessage']);
    const bodies = rx.requests.map((r) => JSON.parse(r.body));
    assert.deepEqual(bodies.map((b) => b.chat_id).sort(), ['-1001', '@dosync_ops']);
    assert.equal(bodies[0].parse_mode, 'HTML');
    assert.match(bodies[0].text, /^<b>dosync \(shop\): web updated to 1\.5\.0<\/b>/);
  });

  test('no events: nothing is sent', async () => {
    await deliver(`webhook+${rx.url}/x`, []);
    assert.equal(rx.requests.length, 0);
  });

  test('several events of one cycle become one request per channel', async () => {
    await deliver(`webhook+${rx.url}/x`, [updated, rolledBack, { ...updated, service: 'worker' }]);
    assert.equal(rx.requests.length, 1);
    assert.equal(JSON.parse(rx.requests[0].body).events.length, 3);
  });
});

describe('retries and failures', () => {
  let rx: HttpReceiver;
  before(async () => (rx = await startHttpReceiver()));
  after(() => rx.close());
  beforeEach(() => (rx.requests.length = 0));

  test('a channel that fails twice (503, then 429 with Retry-After) is retried and delivers', async () => {
    rx.script({ status: 503, body: 'upstream down' }, { status: 429, body: '{"message":"slow down","retry_after":0.01}', headers: { 'Retry-After': '0' } });
    const results: DeliveryResult[] = [];
    const { logger, logs } = capture();
    const notifier = createNotifier(parseChannels([`webhook+${rx.url}/retry`]), { retries: 3, retryBaseMs: 5, logger, onDelivery: (r) => results.push(r) });
    await notifier.notify([updated]);
    assert.equal(rx.requests.length, 3);
    assert.ok(rx.requests.every((r) => r.body === rx.requests[0].body), 'the same message each time');
    assert.deepEqual(results, [{ channel: 'webhook http://127.0.0.1:' + new URL(rx.url).port, kind: 'webhook', ok: true, attempts: 3 }]);
    assert.deepEqual(logs.filter((l) => l.level === 'warn').map((l) => (l.obj as { error: string }).error), ['HTTP 503: upstream down', 'HTTP 429: slow down']);
  });

  test('Telegram retries only the chat that failed', async () => {
    rx.script({ status: 200, body: '{"ok":true}' }, { status: 502, body: 'bad gateway' });
    const notifier = createNotifier(parseChannels(['telegram://1:AA@telegram?chats=11,22']), { endpointOverride: { telegram: rx.url }, retries: 2, retryBaseMs: 5 });
    await notifier.notify([updated]);
    const chats = rx.requests.map((r) => JSON.parse(r.body).chat_id as string);
    assert.equal(chats.length, 3);
    assert.deepEqual([...chats.slice(0, 2)].sort(), ['11', '22']);
    // The receiver answered the second request to arrive with 502: that chat, and only it, is resent.
    assert.equal(chats[2], chats[1]);
  });

  test('permanent errors (4xx, redirects) are not retried', async () => {
    rx.script({ status: 404, body: '{"ok":false,"description":"Not Found: chat not found"}' }, { status: 302, headers: { Location: 'http://elsewhere.example/' } });
    const results: DeliveryResult[] = [];
    const notifier = createNotifier(parseChannels(['telegram://1:AA@telegram?chats=11', `webhook+${rx.url}/moved`]), {
      endpointOverride: { telegram: rx.url },
      retries: 3,
      retryBaseMs: 5,
      onDelivery: (r) => results.push(r),
    });
    await notifier.notify([updated]);
    assert.equal(rx.requests.length, 2);
    const byKind = Object.fromEntries(results.map((r) => [r.kind, r]));
    assert.deepEqual(byKind.telegram, { channel: 'telegram bot 1 (1 chat)', kind: 'telegram', ok: false, attempts: 1, error: 'HTTP 404: Not Found: chat not found' });
    assert.equal(byKind.webhook.ok, false);
    assert.equal(byKind.webhook.attempts, 1);
    assert.match(byKind.webhook.error ?? '', /^HTTP 302: the endpoint redirects/);
  });

  test('a dead channel does not throw, does not stop the others, and its secret stays out of the logs', async () => {
    const port = await deadPort();
    const { logger, logs } = capture();
    const results: DeliveryResult[] = [];
    const notifier = createNotifier(parseChannels([`ntfy://:tk_SECRET123@127.0.0.1:${port}/private-topic?scheme=http`, `webhook+${rx.url}/alive`]), {
      retries: 2,
      retryBaseMs: 5,
      logger,
      onDelivery: (r) => results.push(r),
    });
    await assert.doesNotReject(notifier.notify([updated]));
    const dead = results.find((r) => r.kind === 'ntfy');
    assert.deepEqual(dead, { channel: `ntfy http://127.0.0.1:${port}`, kind: 'ntfy', ok: false, attempts: 3, error: 'connection failed (ECONNREFUSED)' });
    assert.equal(results.find((r) => r.kind === 'webhook')?.ok, true);
    assert.equal(rx.requests.length, 1);
    const errors = logs.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0].msg, 'notification could not be delivered');
    const text = JSON.stringify(logs);
    assert.ok(!text.includes('tk_SECRET123') && !text.includes('private-topic'), text);
  });

  test('an endpoint that never answers times out per attempt and gives up', async () => {
    rx.script('hang', 'hang');
    const results: DeliveryResult[] = [];
    const notifier = createNotifier(parseChannels([`webhook+${rx.url}/slow`]), { retries: 1, retryBaseMs: 5, fetchTimeoutMs: 150, onDelivery: (r) => results.push(r) });
    await notifier.notify([updated]);
    assert.equal(rx.requests.length, 2);
    assert.equal(results[0].ok, false);
    assert.equal(results[0].error, 'no answer within 150 ms');
  });

  test('notify does not wait for a slow channel to return control; flush waits for delivery', async () => {
    rx.script({ status: 503 });
    let delivered = false;
    let releaseSleep: (() => void) | undefined;
    const notifier = createNotifier(parseChannels([`webhook+${rx.url}/later`]), {
      retries: 1,
      // The backoff waits until the test lets it go, so delivery is provably still under way.
      sleep: () => new Promise<void>((r) => (releaseSleep = r)),
      onDelivery: (r) => (delivered = r.ok),
    });
    const pending = notifier.notify([updated]);
    assert.equal(delivered, false);
    // Wait until the notifier is in its backoff (on a busy machine that takes longer than any fixed delay).
    while (!releaseSleep) await new Promise((r) => setTimeout(r, 5));
    assert.equal(delivered, false, 'still waiting in backoff');
    assert.equal(rx.requests.length, 1);
    releaseSleep();
    await notifier.flush();
    await pending;
    assert.equal(delivered, true);
    assert.equal(rx.requests.length, 2);
  });

  test('messages to one channel arrive in the order of the cycles', async () => {
    rx.script({ status: 500 });
    const notifier = createNotifier(parseChannels([`webhook+${rx.url}/order`]), { retries: 1, retryBaseMs: 5 });
    void notifier.notify([{ ...updated, service: 'first' }]);
    void notifier.notify([{ ...updated, service: 'second' }]);
    await notifier.flush();
    assert.deepEqual(rx.requests.map((r) => JSON.parse(r.body).events[0].service), ['first', 'first', 'second']);
  });
});

describe('e-mail over SMTP (smtp-server protocol fixture)', () => {
  test('the mail arrives with subject, recipients and the events in the body', async () => {
    const smtp = await startSmtpFixture({ users: { dosync: 'mail-pa55' } });
    try {
      const results: DeliveryResult[] = [];
      const url = `smtp://dosync:mail-pa55@127.0.0.1:${smtp.port}/?from=dosync@example.com&to=ops@example.com,oncall@example.com&starttls=never&fromname=dosync`;
      const notifier = createNotifier(parseChannels([url]), { retries: 0, onDelivery: (r) => results.push(r) });
      await notifier.notify([updated, rolledBack]);
      assert.deepEqual(results, [{ channel: `email via 127.0.0.1:${smtp.port}`, kind: 'email', ok: true, attempts: 1 }]);
      assert.equal(smtp.messages.length, 1);
      const { mail, envelopeFrom, envelopeTo, user } = smtp.messages[0];
      assert.equal(user, 'dosync');
      assert.equal(envelopeFrom, 'dosync@example.com');
      assert.deepEqual(envelopeTo, ['ops@example.com', 'oncall@example.com']);
      assert.equal(mail.subject, 'dosync (shop): 1 updated, 1 rolled back');
      assert.equal(mail.from?.text, '"dosync" <dosync@example.com>');
      assert.equal(
        mail.text,
        'web: updated 1.4.0 -> 1.5.0\n  digest sha256:9f86d081884c, source https://github.com/acme/web, revision 4f2a9c1e0b7d\n' +
          'api: rolled back to 2.0.0 (2.1.0 failed): container unhealthy after 60s\n\n-- \ndosync, project shop\n',
      );
    } finally {
      await smtp.close();
    }
  });

  test('a wrong password is a permanent failure: not retried, password not logged', async () => {
    const smtp = await startSmtpFixture({ users: { dosync: 'right' } });
    try {
      const { logger, logs } = capture();
      const results: DeliveryResult[] = [];
      const notifier = createNotifier(parseChannels([`smtp://dosync:wrong-Pw-77@127.0.0.1:${smtp.port}/?from=a@example.com&to=b@example.com&starttls=never`]), {
        retries: 3,
        retryBaseMs: 5,
        logger,
        onDelivery: (r) => results.push(r),
      });
      await notifier.notify([updated]);
      assert.equal(results[0].ok, false);
      assert.equal(results[0].attempts, 1);
      assert.match(results[0].error ?? '', /^SMTP 535: /);
      assert.equal(smtp.authAttempts, 1);
      assert.equal(smtp.messages.length, 0);
      assert.ok(!JSON.stringify(logs).includes('wrong-Pw-77'));
    } finally {
      await smtp.close();
    }
  });

  test('starttls=required refuses a server that offers no STARTTLS instead of sending in clear', async () => {
    const smtp = await startSmtpFixture();
    try {
      const results: DeliveryResult[] = [];
      const notifier = createNotifier(parseChannels([`smtp://127.0.0.1:${smtp.port}/?from=a@example.com&to=b@example.com&starttls=required`]), {
        retries: 2,
        retryBaseMs: 5,
        onDelivery: (r) => results.push(r),
      });
      await notifier.notify([updated]);
      assert.equal(results[0].ok, false);
      assert.equal(results[0].attempts, 1, 'not retried');
      assert.equal(smtp.messages.length, 0);
    } finally {
      await smtp.close();
    }
  });

  test('an SMTP server that is down is retried, then given up without throwing', async () => {
    const port = await deadPort();
    const results: DeliveryResult[] = [];
    const notifier = createNotifier(parseChannels([`smtp://127.0.0.1:${port}/?from=a@example.com&to=b@example.com`]), { retries: 1, retryBaseMs: 5, onDelivery: (r) => results.push(r) });
    await assert.doesNotReject(notifier.notify([updated]));
    assert.equal(results[0].ok, false);
    assert.equal(results[0].attempts, 2);
    assert.match(results[0].error ?? '', /ECONNREFUSED|ESOCKET|ECONNECTION/);
  });
});
