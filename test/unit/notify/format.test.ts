import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { buildMessage, eventLine, plainText, shortDigest, type MessageView } from '../../../src/notify/format.js';
import { renderRequests, renderEmail } from '../../../src/notify/render/index.js';
import { encodeHeader } from '../../../src/notify/render/headers.js';
import { parseChannels } from '../../../src/notify/urls.js';
import type { Channel, NotifyEvent } from '../../../src/notify/types.js';

const AT = new Date('2025-03-01T10:00:00Z');
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const REV = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

const updated: NotifyEvent = {
  kind: 'updated',
  service: 'web',
  project: 'shop',
  fromImage: 'nginx:1.27.0',
  toImage: 'nginx:1.27.1',
  digest: DIGEST,
  source: 'https://github.com/nginx/docker-nginx',
  revision: REV,
  at: AT,
};

function message(events: NotifyEvent[]): MessageView {
  const m = buildMessage(events);
  assert.ok(m);
  return m;
}

function channel(url: string): Exclude<Channel, { kind: 'email' }> {
  const [ch] = parseChannels([url]);
  assert.notEqual(ch.kind, 'email');
  return ch as Exclude<Channel, { kind: 'email' }>;
}

// --- the neutral view ----------------------------------------------------------------------

test('no events, no message', () => {
  assert.equal(buildMessage([]), undefined);
});

const lines: Array<[string, NotifyEvent, string, string]> = [
  // name, event, title, line
  ['updated', updated, 'dosync (shop): web updated to 1.27.1', 'web: updated 1.27.0 -> 1.27.1'],
  ['found', { kind: 'update-found', service: 'api', fromTag: 'v2.0.0', toTag: 'v2.1.0', at: AT }, 'dosync: api: v2.1.0 available', 'api: update available v2.0.0 -> v2.1.0'],
  [
    'failed',
    { kind: 'update-failed', service: 'db', fromImage: 'postgres:16.1', toImage: 'postgres:16.2', reason: 'pull failed:\n  manifest unknown', at: AT },
    'dosync: db: update to 16.2 failed',
    'db: update 16.1 -> 16.2 failed: pull failed: manifest unknown',
  ],
  [
    'rolled back',
    { kind: 'rolled-back', service: 'web', fromTag: '1.0', toTag: '1.1', reason: 'health check failed 3 times', at: AT },
    'dosync: web rolled back to 1.0',
    'web: rolled back to 1.0 (1.1 failed): health check failed 3 times',
  ],
  ['persisting error', { kind: 'error-persisting', service: '', cycles: 5, reason: 'registry 127.0.0.1:5001 unreachable', at: AT }, 'dosync: dosync: failing for 5 cycles', 'dosync: failing for 5 cycles: registry 127.0.0.1:5001 unreachable'],
  [
    'same tag, new digest',
    { kind: 'updated', service: 'cache', fromImage: 'redis:latest', toImage: 'redis:latest', digest: DIGEST, at: AT },
    'dosync: cache updated to latest',
    'cache: updated latest (new digest)',
  ],
  ['implicit latest', { kind: 'update-found', service: 'x', fromImage: 'redis', toImage: 'redis', digest: DIGEST, at: AT }, 'dosync: x: latest available', 'x: update available latest (new digest)'],
  [
    'repository changed',
    { kind: 'updated', service: 'web', fromImage: 'nginx:1.27', toImage: 'ghcr.io/acme/nginx:1.27', at: AT },
    'dosync: web updated to ghcr.io/acme/nginx:1.27',
    'web: updated nginx:1.27 -> ghcr.io/acme/nginx:1.27',
  ],
  ['explicit tags win over images', { kind: 'updated', service: 'w', fromImage: 'a:1', toImage: 'a:2', fromTag: 'one', toTag: 'two', at: AT }, 'dosync: w updated to two', 'w: updated one -> two'],
  ['nothing known', { kind: 'updated', service: 'w', at: AT }, 'dosync: w updated', 'w: updated'],
];

for (const [name, event, title, line] of lines) {
  test(`title and line: ${name}`, () => {
    const m = message([event]);
    assert.equal(m.title, title);
    assert.equal(eventLine(m.events[0]), line);
  });
}

test('several events: counts in the title, worst severity, one project', () => {
  const m = message([
    updated,
    { ...updated, service: 'api' },
    { kind: 'update-failed', service: 'db', project: 'shop', at: AT },
    { kind: 'update-found', service: 'q', project: 'shop', at: AT },
  ]);
  assert.equal(m.title, 'dosync (shop): 2 updated, 1 update available, 1 failed');
  assert.equal(m.severity, 'error');
  assert.equal(m.project, 'shop');
  assert.equal(m.events.length, 4);
});

test('events of different projects name none in the title', () => {
  const m = message([updated, { ...updated, project: 'blog' }]);
  assert.equal(m.title, 'dosync: 2 updated');
  assert.equal(m.project, undefined);
});

test('plain text lists details under each event, shortened', () => {
  assert.equal(
    plainText(message([updated, { kind: 'update-found', service: 'api', toTag: '2', at: AT }])),
    'web: updated 1.27.0 -> 1.27.1\n  digest sha256:0123456789ab, source https://github.com/nginx/docker-nginx, revision a1b2c3d4e5f6\napi: update available 2',
  );
});

test('short digest and revision', () => {
  assert.equal(shortDigest(DIGEST), 'sha256:0123456789ab');
  assert.equal(shortDigest('not-a-digest'), 'not-a-digest');
  assert.equal(message([{ ...updated, revision: 'v1.2.3' }]).events[0].revision, 'v1.2.3');
});

test('a long reason is cut to one line of 300 characters', () => {
  const v = message([{ kind: 'update-failed', service: 's', reason: `${'x'.repeat(500)}\nsecond line`, at: AT }]).events[0];
  assert.equal(v.reason?.length, 300);
  assert.ok(!v.reason?.includes('\n'));
});

// --- per channel ---------------------------------------------------------------------------

test('webhook: JSON body with all event fields and a verifiable HMAC signature', () => {
  const ch = channel('generic+https://hooks.example.com/in?hmac=topsecret&team=ops&@X-Env=prod');
  const [req] = renderRequests(ch, message([updated]), [updated]);
  assert.equal(req.url, 'https://hooks.example.com/in?team=ops');
  assert.equal(req.headers['Content-Type'], 'application/json');
  assert.equal(req.headers['X-Env'], 'prod');
  const expected = `sha256=${createHmac('sha256', 'topsecret').update(req.body).digest('hex')}`;
  assert.equal(req.headers['X-Dosync-Signature'], expected);
  assert.deepEqual(JSON.parse(req.body), {
    source: 'dosync',
    version: 1,
    title: 'dosync (shop): web updated to 1.27.1',
    text: 'web: updated 1.27.0 -> 1.27.1\n  digest sha256:0123456789ab, source https://github.com/nginx/docker-nginx, revision a1b2c3d4e5f6',
    events: [{ kind: 'updated', service: 'web', project: 'shop', fromImage: 'nginx:1.27.0', toImage: 'nginx:1.27.1', digest: DIGEST, source: 'https://github.com/nginx/docker-nginx', revision: REV, at: '2025-03-01T10:00:00.000Z' }],
  });
});

test('webhook without a secret is not signed', () => {
  const [req] = renderRequests(channel('generic+https://h.example/x'), message([updated]), [updated]);
  assert.equal(req.headers['X-Dosync-Signature'], undefined);
});

test('slack: fallback text, header, one section per event, context', () => {
  const [req] = renderRequests(channel('slack://bot@T1/B2/X3'), message([updated]), [updated]);
  assert.equal(req.url, 'https://hooks.slack.com/services/T1/B2/X3');
  assert.deepEqual(JSON.parse(req.body), {
    text: 'dosync (shop): web updated to 1.27.1',
    username: 'bot',
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'dosync (shop): web updated to 1.27.1', emoji: true } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: ':white_check_mark: *web* updated `1.27.0` → `1.27.1`\ndigest `sha256:0123456789ab` · <https://github.com/nginx/docker-nginx|source> · revision `a1b2c3d4e5f6`',
        },
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'dosync · project shop' }] },
    ],
  });
});

test('slack escapes &, < and > in free text', () => {
  const e: NotifyEvent = { kind: 'update-failed', service: 'w', reason: '<!channel> a & b > c', at: AT };
  const [req] = renderRequests(channel('slack://T1/B2/X3'), message([e]), [e]);
  const section = JSON.parse(req.body).blocks[1].text.text as string;
  assert.ok(section.includes('> &lt;!channel&gt; a &amp; b &gt; c'), section);
});

test('slack stays within 50 blocks', () => {
  const many = Array.from({ length: 60 }, (_, i) => ({ ...updated, service: `s${i}` }));
  const [req] = renderRequests(channel('slack://T1/B2/X3'), message(many), many);
  const blocks = JSON.parse(req.body).blocks as Array<{ text?: { text: string } }>;
  assert.equal(blocks.length, 47);
  assert.equal(blocks[45].text?.text, '…and 16 more');
});

test('discord: execute-webhook URL, content, one embed per event, no mentions', () => {
  const [req] = renderRequests(channel('discord://tok@123?username=dosync&thread_id=9'), message([updated]), [updated]);
  assert.equal(req.url, 'https://discord.com/api/webhooks/123/tok?thread_id=9');
  assert.deepEqual(JSON.parse(req.body), {
    content: 'dosync (shop): web updated to 1.27.1',
    username: 'dosync',
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: 'dosync (shop): web updated to 1.27.1'.replace('dosync (shop): ', ''),
        description: '`1.27.0` → `1.27.1`\ndigest `sha256:0123456789ab`\n[source](https://github.com/nginx/docker-nginx)\nrevision `a1b2c3d4e5f6`',
        color: 0x2eb67d,
        timestamp: '2025-03-01T10:00:00.000Z',
      },
    ],
  });
});

test('discord neutralises @everyone and markdown in reasons', () => {
  const e: NotifyEvent = { kind: 'update-failed', service: 'w', reason: '@everyone **boom**', at: AT };
  const [req] = renderRequests(channel('discord://t@1'), message([e]), [e]);
  const description = JSON.parse(req.body).embeds[0].description as string;
  assert.equal(description, '> @\u200beveryone \\*\\*boom\\*\\*');
});

test('discord sends at most 10 embeds', () => {
  const many = Array.from({ length: 14 }, (_, i) => ({ ...updated, service: `s${i}` }));
  const [req] = renderRequests(channel('discord://t@1'), message(many), many);
  const embeds = JSON.parse(req.body).embeds as Array<{ description: string }>;
  assert.equal(embeds.length, 10);
  assert.equal(embeds[9].description, '…and 5 more');
  assert.ok(JSON.stringify(embeds).length < 6000);
});

test('teams: adaptive card in a message envelope with facts', () => {
  const [req] = renderRequests(channel('teams+https://org.webhook.office.com/webhookb2/x'), message([updated]), [updated]);
  assert.equal(req.url, 'https://org.webhook.office.com/webhookb2/x');
  const body = JSON.parse(req.body);
  assert.equal(body.type, 'message');
  assert.equal(body.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
  const card = body.attachments[0].content;
  assert.equal(card.type, 'AdaptiveCard');
  assert.equal(card.version, '1.4');
  assert.deepEqual(card.body, [
    { type: 'TextBlock', text: 'dosync (shop): web updated to 1.27.1', weight: 'Bolder', size: 'Medium', wrap: true },
    { type: 'TextBlock', text: 'web updated to 1.27.1', weight: 'Bolder', color: 'Good', wrap: true, spacing: 'Medium' },
    {
      type: 'FactSet',
      facts: [
        { title: 'Change', value: '1.27.0 → 1.27.1' },
        { title: 'Digest', value: 'sha256:0123456789ab' },
        { title: 'Source', value: 'https://github.com/nginx/docker-nginx' },
        { title: 'Revision', value: 'a1b2c3d4e5f6' },
      ],
    },
  ]);
});

test('telegram: one sendMessage per chat, HTML escaped', () => {
  const e: NotifyEvent = { ...updated, reason: undefined, service: 'w<b>' };
  const reqs = renderRequests(channel('telegram://1:AA@telegram?chats=-100,@ops_chan&notification=no'), message([e]), [e]);
  assert.deepEqual(reqs.map((r) => r.url), ['https://api.telegram.org/bot1:AA/sendMessage', 'https://api.telegram.org/bot1:AA/sendMessage']);
  const bodies = reqs.map((r) => JSON.parse(r.body));
  assert.deepEqual(bodies.map((b) => b.chat_id), ['-100', '@ops_chan']);
  assert.deepEqual(bodies[0], {
    chat_id: '-100',
    parse_mode: 'HTML',
    link_preview_options: { is_disabled: true },
    disable_notification: true,
    text:
      '<b>dosync (shop): w&lt;b&gt; updated to 1.27.1</b>\n\n<b>w&lt;b&gt; updated to 1.27.1</b>\n<code>1.27.0</code> → <code>1.27.1</code>\n' +
      'digest <code>sha256:0123456789ab</code>, <a href="https://github.com/nginx/docker-nginx">source</a>, revision <code>a1b2c3d4e5f6</code>',
  });
});

test('telegram keeps the text under the 4096-character limit', () => {
  const many = Array.from({ length: 200 }, (_, i) => ({ ...updated, service: `service-${i}` }));
  const [req] = renderRequests(channel('telegram://1:AA@telegram?chats=1'), message(many), many);
  const text = JSON.parse(req.body).text as string;
  assert.ok(text.length <= 4096, String(text.length));
  assert.match(text, /…and \d+ more$/);
});

test('ntfy: text body, Title/Tags/Priority headers, auth', () => {
  const failed: NotifyEvent = { kind: 'update-failed', service: 'db', reason: 'unhealthy', at: AT };
  const [basic] = renderRequests(channel('ntfy://me:pw@ntfy.example/alerts'), message([failed]), [failed]);
  assert.equal(basic.url, 'https://ntfy.example/alerts');
  assert.equal(basic.body, 'db: update failed: unhealthy');
  assert.deepEqual(basic.headers, {
    'Content-Type': 'text/plain; charset=utf-8',
    Title: 'dosync: db: update failed',
    Tags: 'rotating_light,dosync',
    Priority: '4',
    Authorization: `Basic ${Buffer.from('me:pw').toString('base64')}`,
  });
  const [token] = renderRequests(channel('ntfy://:tk_1@ntfy.example/alerts?priority=2'), message([updated]), [updated]);
  assert.equal(token.headers.Authorization, 'Bearer tk_1');
  assert.equal(token.headers.Priority, '2');
  assert.equal(token.headers.Tags, 'white_check_mark,dosync');
});

test('non-ASCII titles become RFC 2047 encoded words', () => {
  assert.equal(encodeHeader('plain title'), 'plain title');
  assert.equal(encodeHeader('café → prod'), `=?UTF-8?B?${Buffer.from('café → prod').toString('base64')}?=`);
  assert.equal(encodeHeader('two\r\nlines'), 'two lines');
});

test('gotify: /message with the key header and JSON body', () => {
  const [req] = renderRequests(channel('gotify://g.example:8443/sub/APPTOKEN'), message([updated]), [updated]);
  assert.equal(req.url, 'https://g.example:8443/sub/message');
  assert.equal(req.headers['X-Gotify-Key'], 'APPTOKEN');
  assert.ok(!req.url.includes('APPTOKEN'));
  assert.deepEqual(JSON.parse(req.body), {
    title: 'dosync (shop): web updated to 1.27.1',
    message: plainText(message([updated])),
    priority: 5,
    extras: { 'client::display': { contentType: 'text/plain' } },
  });
});

test('email: subject is the title, text has every event and a signature line', () => {
  const [ch] = parseChannels(['smtp://mail.example/?from=dosync@example.com&to=a@example.com,b@example.com&fromname=dosync%20bot']);
  assert.equal(ch.kind, 'email');
  if (ch.kind !== 'email') return;
  assert.deepEqual(renderEmail(ch, message([updated])), {
    from: { name: 'dosync bot', address: 'dosync@example.com' },
    to: ['a@example.com', 'b@example.com'],
    subject: 'dosync (shop): web updated to 1.27.1',
    text: `${plainText(message([updated]))}\n\n-- \ndosync, project shop\n`,
  });
});
