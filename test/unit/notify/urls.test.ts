import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChannels } from '../../../src/notify/urls.js';
import { ConfigError } from '../../../src/util/errors.js';
import type { Channel } from '../../../src/notify/types.js';

/** Omit distributed over the union, so each object literal is checked against its own kind. */
type WithoutLabel<T> = T extends unknown ? Omit<T, 'label'> : never;

const SLACK_URL = 'https://hooks.slack.com/services/T0001/B0002/AbCdEf123';

/** input URL -> expected channel (label checked separately). */
const good: Array<[string, WithoutLabel<Channel>]> = [
  ['generic+https://hooks.example.com/dosync', { kind: 'webhook', url: 'https://hooks.example.com/dosync', hmacSecret: undefined, headers: {} }],
  ['webhook+http://127.0.0.1:8080/in?x=1', { kind: 'webhook', url: 'http://127.0.0.1:8080/in?x=1', hmacSecret: undefined, headers: {} }],
  ['generic://hooks.example.com/p', { kind: 'webhook', url: 'https://hooks.example.com/p', hmacSecret: undefined, headers: {} }],
  ['generic://hooks.example.com/p?disabletls=yes', { kind: 'webhook', url: 'http://hooks.example.com/p', hmacSecret: undefined, headers: {} }],
  ['generic+https://h.example/p?hmac=s3cr%2Ft+x&team=ops', { kind: 'webhook', url: 'https://h.example/p?team=ops', hmacSecret: 's3cr/t+x', headers: {} }],
  ['generic+https://h.example/p?@Authorization=Bearer%20abc&@X-Env=prod', { kind: 'webhook', url: 'https://h.example/p', hmacSecret: undefined, headers: { Authorization: 'Bearer abc', 'X-Env': 'prod' } }],
  ['generic+https://user:p%40w@h.example/p', { kind: 'webhook', url: 'https://h.example/p', hmacSecret: undefined, headers: { Authorization: `Basic ${Buffer.from('user:p@w').toString('base64')}` } }],
  ['generic+https://u:p@h.example/p?@Authorization=Bearer%20t', { kind: 'webhook', url: 'https://h.example/p', hmacSecret: undefined, headers: { Authorization: 'Bearer t' } }],
  ['slack://hooks.slack.com/services/T0001/B0002/AbCdEf123', { kind: 'slack', webhookUrl: SLACK_URL, botName: undefined }],
  ['slack://T0001/B0002/AbCdEf123', { kind: 'slack', webhookUrl: SLACK_URL, botName: undefined }],
  ['slack://dosync-bot@T0001/B0002/AbCdEf123', { kind: 'slack', webhookUrl: SLACK_URL, botName: 'dosync-bot' }],
  ['slack://hook:T0001-B0002-AbCdEf123@webhook', { kind: 'slack', webhookUrl: SLACK_URL, botName: undefined }],
  ['slack+https://hooks.slack.com/services/T0001/B0002/AbCdEf123', { kind: 'slack', webhookUrl: SLACK_URL, botName: undefined }],
  ['discord://Tok-en_9@123456789', { kind: 'discord', webhookId: '123456789', token: 'Tok-en_9', username: undefined, avatarUrl: undefined, threadId: undefined }],
  ['discord://t@42?username=dosync&avatar=https%3A%2F%2Fx.example%2Fa.png&thread_id=77', { kind: 'discord', webhookId: '42', token: 't', username: 'dosync', avatarUrl: 'https://x.example/a.png', threadId: '77' }],
  ['teams+https://org.webhook.office.com/webhookb2/g@t/IncomingWebhook/a/o', { kind: 'teams', url: 'https://org.webhook.office.com/webhookb2/g@t/IncomingWebhook/a/o' }],
  [
    'teams+https://prod-1.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIG',
    { kind: 'teams', url: 'https://prod-1.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIG' },
  ],
  ['teams://grp@tnt/alt/own?host=org.webhook.office.com', { kind: 'teams', url: 'https://org.webhook.office.com/webhookb2/grp@tnt/IncomingWebhook/alt/own' }],
  ['ntfy://ntfy.sh/dosync-alerts', { kind: 'ntfy', url: 'https://ntfy.sh/dosync-alerts', priority: undefined }],
  ['ntfy://me:pa%40ss@ntfy.example:8080/t?scheme=http&priority=5', { kind: 'ntfy', url: 'http://ntfy.example:8080/t', priority: 5, username: 'me', password: 'pa@ss' }],
  ['ntfy://:tk_abc@ntfy.example/t', { kind: 'ntfy', url: 'https://ntfy.example/t', priority: undefined, token: 'tk_abc' }],
  ['gotify://gotify.example/AzyoeNS.D4iJLVa', { kind: 'gotify', baseUrl: 'https://gotify.example', token: 'AzyoeNS.D4iJLVa', priority: undefined }],
  ['gotify://gotify.example:8443/sub/path/TOK?priority=1', { kind: 'gotify', baseUrl: 'https://gotify.example:8443/sub/path', token: 'TOK', priority: 1 }],
  ['gotify://127.0.0.1:8080/TOK?disabletls=yes', { kind: 'gotify', baseUrl: 'http://127.0.0.1:8080', token: 'TOK', priority: undefined }],
  ['telegram://123456:ABC-def_9@telegram?chats=-1001234,@dosync_ops', { kind: 'telegram', token: '123456:ABC-def_9', chats: ['-1001234', '@dosync_ops'], silent: false }],
  ['telegram://1:x@telegram?chats=5&notification=no', { kind: 'telegram', token: '1:x', chats: ['5'], silent: true }],
  [
    'smtp://user:p%40ss@mail.example:587/?from=dosync@example.com&to=a@example.com,b@example.com',
    { kind: 'email', host: 'mail.example', port: 587, implicitTls: false, starttls: 'opportunistic', username: 'user', password: 'p@ss', from: 'dosync@example.com', fromName: undefined, to: ['a@example.com', 'b@example.com'] },
  ],
  ['smtp://mail.example/?from=a@b.c&to=d@e.f', { kind: 'email', host: 'mail.example', port: 25, implicitTls: false, starttls: 'opportunistic', username: undefined, password: undefined, from: 'a@b.c', fromName: undefined, to: ['d@e.f'] }],
  ['smtp://mail.example:465/?from=a@b.c&to=d@e.f', { kind: 'email', host: 'mail.example', port: 465, implicitTls: true, starttls: 'never', username: undefined, password: undefined, from: 'a@b.c', fromName: undefined, to: ['d@e.f'] }],
  ['smtps://mail.example/?from=a@b.c&to=d@e.f&fromname=dosync', { kind: 'email', host: 'mail.example', port: 465, implicitTls: true, starttls: 'never', username: undefined, password: undefined, from: 'a@b.c', fromName: 'dosync', to: ['d@e.f'] }],
  ['smtp://m.example:587/?from=a@b.c&to=d@e.f&starttls=required', { kind: 'email', host: 'm.example', port: 587, implicitTls: false, starttls: 'required', username: undefined, password: undefined, from: 'a@b.c', fromName: undefined, to: ['d@e.f'] }],
  ['smtp://m.example:2525/?from=a@b.c&to=d@e.f&starttls=never', { kind: 'email', host: 'm.example', port: 2525, implicitTls: false, starttls: 'never', username: undefined, password: undefined, from: 'a@b.c', fromName: undefined, to: ['d@e.f'] }],
  ['smtp://m.example:587/?from=a@b.c&to=d@e.f&encryption=ExplicitTLS', { kind: 'email', host: 'm.example', port: 587, implicitTls: false, starttls: 'required', username: undefined, password: undefined, from: 'a@b.c', fromName: undefined, to: ['d@e.f'] }],
  ['smtp://m.example:1465/?from=a@b.c&to=d@e.f&encryption=ImplicitTLS', { kind: 'email', host: 'm.example', port: 1465, implicitTls: true, starttls: 'never', username: undefined, password: undefined, from: 'a@b.c', fromName: undefined, to: ['d@e.f'] }],
  ['smtp://[::1]:2525/?from=a@b.c&to=d@e.f&usestarttls=no', { kind: 'email', host: '::1', port: 2525, implicitTls: false, starttls: 'never', username: undefined, password: undefined, from: 'a@b.c', fromName: undefined, to: ['d@e.f'] }],
];

for (const [input, expected] of good) {
  test(`parses ${input.split('?')[0]}`, () => {
    const [channel] = parseChannels([input]);
    const { label, ...rest } = channel;
    assert.deepEqual(rest, expected);
    assert.equal(typeof label, 'string');
  });
}

/** Labels go to logs: they must never contain a token, password, topic or secret path. */
const labels: Array<[string, string, string[]]> = [
  ['generic+https://user:pw@h.example/secret-path?hmac=K3Y&@Authorization=Bearer%20abc', 'webhook https://h.example', ['pw', 'secret-path', 'K3Y', 'abc']],
  ['slack://hooks.slack.com/services/T0001/B0002/AbCdEf123', 'slack webhook T0001/B0002', ['AbCdEf123']],
  ['discord://S3CRETTOKEN@123456789', 'discord webhook 123456789', ['S3CRETTOKEN']],
  ['teams+https://org.webhook.office.com/webhookb2/g@t/IncomingWebhook/a/o', 'teams org.webhook.office.com', ['IncomingWebhook']],
  ['ntfy://me:hunter2@ntfy.sh/private-topic', 'ntfy https://ntfy.sh', ['hunter2', 'private-topic']],
  ['gotify://gotify.example/APPTOKEN', 'gotify https://gotify.example', ['APPTOKEN']],
  ['telegram://123456:SECRETPART@telegram?chats=1,2', 'telegram bot 123456 (2 chats)', ['SECRETPART']],
  ['smtp://user:hunter2@mail.example:587/?from=a@b.c&to=d@e.f', 'email via mail.example:587', ['hunter2']],
];

for (const [input, label, secrets] of labels) {
  test(`label of ${input.split(':')[0]} names the endpoint without secrets`, () => {
    const [channel] = parseChannels([input]);
    assert.equal(channel.label, label);
    for (const s of secrets) assert.ok(!channel.label.includes(s), `label leaks ${s}`);
  });
}

/** input, fragment the message must contain, secrets it must not contain. */
const bad: Array<[string, RegExp, string[]]> = [
  ['hooks.example.com/x', /notification URL 2: not a URL/, []],
  ['irc://chat.example/room', /\(irc:\/\/\): unknown scheme; supported: generic\+https/, []],
  ['generic+https:///no-host?hmac=TOPSECRET', /host is missing/, ['TOPSECRET']],
  ['generic+https://h.example/p?hmac=', /"hmac" is empty/, []],
  ['generic+https://h.example/p?@Bad%20Name=SECRETVALUE', /invalid header name/, ['SECRETVALUE']],
  ['slack://T0001/B0002', /three parts/, []],
  ['slack://hooks.slack.com/services/T1/B2/SECRET!X', /three parts/, ['SECRET']],
  ['slack://xoxb-SECRET:xyz@C0123456', /bot tokens .* not supported/, ['SECRET', 'xyz']],
  ['discord://123456789', /expected discord:\/\/TOKEN@WEBHOOKID/, []],
  ['discord://T0PSECRET@not-a-number', /must be the number/, ['T0PSECRET']],
  ['discord://bad%20token@12', /may only contain/, ['bad']],
  ['teams://g@t/a/o', /\?host=/, []],
  ['teams://g@t/a?host=x.webhook.office.com', /expected teams:\/\/group@tenant/, []],
  ['ntfy://ntfy.example', /exactly one topic/, []],
  ['ntfy://ntfy.sh/a/b', /exactly one topic/, []],
  ['ntfy://u:PASSWORD@ntfy.sh/t?scheme=ftp', /"scheme" must be https or http/, ['PASSWORD']],
  ['ntfy://ntfy.sh/t?priority=9', /"priority" must be an integer from 1 to 5/, []],
  ['gotify://gotify.example', /application token is missing/, []],
  ['gotify://gotify.example/TOK?priority=high', /"priority" must be an integer from 0 to 10/, ['TOK']],
  ['gotify://gotify.example/TOK?disabletls=maybe', /"disabletls" must be yes or no/, ['TOK']],
  ['telegram://notatoken@telegram?chats=1', /BOTTOKEN looks like 123456:ABC/, ['notatoken']],
  ['telegram://123:SECRET@api.telegram.org?chats=1', /host must be the word "telegram"/, ['SECRET']],
  ['telegram://123:SECRET@telegram', /"chats" is missing/, ['SECRET']],
  ['telegram://123:SECRET@telegram?chats=me', /numeric chat ID or an @channelname/, ['SECRET']],
  ['smtp://u:SECRETPW@mail.example/?to=a@b.c', /"from" must be one e-mail address/, ['SECRETPW']],
  ['smtp://u:SECRETPW@mail.example/?from=a@b.c', /"to" is missing/, ['SECRETPW']],
  ['smtp://mail.example/?from=a@b.c&to=nobody', /not an e-mail address/, []],
  ['smtp://mail.example/?from=a@b.c&to=d@e.f&starttls=sometimes', /"starttls" must be required, opportunistic or never/, []],
  ['smtp://mail.example/?from=a@b.c&to=d@e.f&encryption=SSL', /"encryption" must be None, ExplicitTLS/, []],
  ['smtp://u:SECRET PW@mail.example:99999/?from=a@b.c&to=d@e.f', /cannot be parsed as a URL/, ['SECRET']],
  ['ntfy://u:p%ZZ@ntfy.sh/t', /malformed percent-escape/, ['%ZZ']],
];

for (const [input, message, secrets] of bad) {
  test(`rejects ${input.slice(0, 40)}`, () => {
    assert.throws(
      () => parseChannels(['ntfy://ntfy.sh/ok', input]),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, 'a ConfigError');
        assert.match(err.message, /^notification URL 2/);
        assert.match(err.message, message);
        for (const s of secrets) assert.ok(!err.message.includes(s), `message leaks ${s}: ${err.message}`);
        assert.ok(!err.message.includes(input), 'message repeats the URL');
        return true;
      },
    );
  });
}

test('parses several URLs in order', () => {
  const channels = parseChannels(['discord://t@1', 'ntfy://ntfy.sh/x', 'slack://T1/B2/X3']);
  assert.deepEqual(channels.map((c) => c.kind), ['discord', 'ntfy', 'slack']);
});

test('an empty list gives no channels', () => {
  assert.deepEqual(parseChannels([]), []);
});
