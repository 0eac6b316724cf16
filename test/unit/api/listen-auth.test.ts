import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { isLoopback, parseListen, type ListenAddress } from '../../../src/api/listen.js';
import { bearerToken, safeEqual, validHubSignature } from '../../../src/api/auth.js';
import { ConfigError } from '../../../src/util/errors.js';

const good: Array<[string, ListenAddress]> = [
  ['127.0.0.1:9180', { host: '127.0.0.1', port: 9180 }],
  [':9180', { host: undefined, port: 9180 }],
  ['9180', { host: undefined, port: 9180 }],
  ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
  ['localhost:0', { host: 'localhost', port: 0 }],
  ['[::1]:9180', { host: '::1', port: 9180 }],
  ['[::]:65535', { host: '::', port: 65535 }],
  ['dosync.internal:9180', { host: 'dosync.internal', port: 9180 }],
  ['  127.0.0.1:1  ', { host: '127.0.0.1', port: 1 }],
];

for (const [input, expected] of good) {
  test(`--listen ${input.trim()}`, () => assert.deepEqual(parseListen(input), expected));
}

const bad: Array<[string, RegExp]> = [
  ['127.0.0.1', /the port is missing/],
  ['127.0.0.1:65536', /"65536" is not a port/],
  ['127.0.0.1:http', /"http" is not a port/],
  [':', /"" is not a port/],
  ['::1:9180', /put an IPv6 address in brackets/],
  ['[zz::1]:9180', /not an IPv6 address/],
  ['bad_host!:9180', /not a host name or IP address/],
];

for (const [input, message] of bad) {
  test(`--listen ${input} is refused`, () => {
    assert.throws(() => parseListen(input), (err: unknown) => err instanceof ConfigError && message.test(err.message) && err.message.includes('expected HOST:PORT'));
  });
}

test('loopback hosts', () => {
  for (const h of ['127.0.0.1', '127.8.9.10', '::1', 'localhost']) assert.equal(isLoopback(h), true, h);
  for (const h of [undefined, '0.0.0.0', '::', '10.0.0.1', 'dosync.internal']) assert.equal(isLoopback(h), false, String(h));
});

test('safeEqual compares whole strings of any length', () => {
  assert.equal(safeEqual('token', 'token'), true);
  assert.equal(safeEqual('token', 'tokeN'), false);
  assert.equal(safeEqual('token', 'token-and-more'), false);
  assert.equal(safeEqual('', 'x'), false);
});

test('bearerToken reads only the Bearer scheme', () => {
  assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
  assert.equal(bearerToken('bearer   abc'), 'abc');
  assert.equal(bearerToken('Basic YTpi'), undefined);
  assert.equal(bearerToken('Bearer'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test('GitHub X-Hub-Signature-256 is checked against the body', () => {
  const body = Buffer.from('{"zen":"x"}');
  const sig = `sha256=${createHmac('sha256', 'sekret').update(body).digest('hex')}`;
  assert.equal(validHubSignature(sig, body, 'sekret'), true);
  assert.equal(validHubSignature(sig.toUpperCase().replace('SHA256=', 'sha256='), body, 'sekret'), true);
  assert.equal(validHubSignature(sig, Buffer.from('{"zen":"y"}'), 'sekret'), false);
  assert.equal(validHubSignature(sig, body, 'other'), false);
  assert.equal(validHubSignature(sig.replace('sha256=', 'sha1='), body, 'sekret'), false);
  assert.equal(validHubSignature(undefined, body, 'sekret'), false);
});
