/** shoutrrr's generic service parameters are interpreted as shoutrrr does, never forwarded to the target. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChannels } from '../../../src/notify/urls.js';
import { renderWebhook } from '../../../src/notify/render/webhook.js';
import { buildMessage } from '../../../src/notify/format.js';
import type { NotifyEvent, WebhookChannel } from '../../../src/notify/types.js';

const events: NotifyEvent[] = [{ kind: 'updated', service: 'web', fromImage: 'nginx:1.27.0', toImage: 'nginx:1.27.1', fromTag: '1.27.0', toTag: '1.27.1', at: new Date('2026-12-03T10:00:00Z') }];
const message = buildMessage(events)!;
const channel = (url: string) => parseChannels([url])[0] as WebhookChannel;
const request = (url: string) => renderWebhook(channel(url), message, events);

test('template=json: shoutrrr\'s {title, message} body; titlekey/messagekey rename, $field adds, title fixes the title', () => {
  const plain = request('generic://hooks.example.com/in?template=json');
  assert.equal(plain.url, 'https://hooks.example.com/in');
  assert.deepEqual(Object.keys(JSON.parse(plain.body)), ['title', 'message']);
  assert.equal(JSON.parse(plain.body).title, message.title);
  assert.match(JSON.parse(plain.body).message, /web/);

  const shaped = request('generic+https://hooks.example.com/in?template=json&titlekey=subject&messagekey=content&$priority=high&title=dosync&keep=1');
  assert.equal(shaped.url, 'https://hooks.example.com/in?keep=1', 'only the unknown parameter is forwarded');
  const body = JSON.parse(shaped.body);
  assert.deepEqual(Object.keys(body).sort(), ['content', 'priority', 'subject']);
  assert.deepEqual([body.subject, body.priority], ['dosync', 'high']);
});

test('@header, contenttype and requestmethod shape the request; _name forwards a reserved name', () => {
  const r = request('generic://hooks.example.com/in?@X-Api-Key=k3y&contenttype=text/plain&requestmethod=put&_template=raw&disabletls=yes');
  assert.equal(r.url, 'http://hooks.example.com/in?template=raw');
  assert.equal(r.method, 'PUT');
  assert.equal(r.headers['Content-Type'], 'text/plain');
  assert.equal(r.headers['X-Api-Key'], 'k3y');
  // Without template=json the body stays dosync's event document.
  assert.equal(JSON.parse(r.body).source, 'dosync');
  // Reserved names are matched case-insensitively, as shoutrrr does.
  assert.equal(request('generic://h.example/in?Template=JSON&TitleKey=t').body.startsWith('{"t":'), true);
});

test('mistakes are one line naming the parameter, never the URL', () => {
  assert.throws(() => channel('generic://h.example/in?template=fancy'), /notification URL 1 \(generic:\/\/\): template "fancy" is not known/);
  assert.throws(() => channel('generic://h.example/in?$x=1'), /add template=json/);
  assert.throws(() => channel('generic://h.example/in?requestmethod=GET'), /requestmethod "GET" cannot carry a message/);
});
