import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoveryMessages, parseMqttUrl, topicsFor } from '../../../src/notify/homeassistant.js';
import type { StatusDoc } from '../../../src/api/status-doc.js';

const at = new Date(0).toISOString();
const doc = (names: string[]): StatusDoc => ({
  project: 'shop',
  services: names.map((name) => ({ name, project: 'shop', image: `reg/${name}:1.0.0`, currentTag: '1.0.0', availableTag: '1.1.0', link: 'https://x.example/1.1.0',
    status: { kind: 'pending-approval', at, tag: '1.1.0' }, history: [], failed: [], skipped: [] })),
});

test('mqtt URLs: credentials, TLS default port, options; never the password in the label', () => {
  const t = parseMqttUrl('mqtts://u%40x:p%3Ass@broker.lan?ca=/etc/ca.pem&prefix=ha');
  assert.deepEqual([t.url, t.username, t.password, t.prefix, t.base, t.ca, t.insecure], ['mqtts://broker.lan:8883', 'u@x', 'p:ss', 'ha', 'dosync', '/etc/ca.pem', false]);
  assert.ok(!t.label.includes('p:ss'));
  assert.equal(parseMqttUrl('mqtt://h').url, 'mqtt://h:1883');
  assert.throws(() => parseMqttUrl('mqtt://h?topic=a+b'), /may hold letters/);
});

test('discovery: one retained config + state per service; a service that left gets an empty config', () => {
  const topics = topicsFor({ prefix: 'homeassistant', base: 'dosync' }, 'shop');
  const first = discoveryMessages(doc(['web', 'db']), topics, new Set());
  assert.deepEqual(first.map((m) => m.topic), [
    'homeassistant/update/dosync_shop/web/config', 'dosync/shop/web/state', 'homeassistant/update/dosync_shop/db/config', 'dosync/shop/db/state']);
  const config = JSON.parse(first[0].payload) as Record<string, unknown>;
  assert.equal(config.command_topic, 'dosync/shop/web/install');
  assert.equal(config.payload_install, 'install');
  assert.equal(config.availability_topic, 'dosync/shop/availability');
  assert.deepEqual(JSON.parse(first[1].payload), { installed_version: '1.0.0', latest_version: '1.1.0', title: 'web (reg/web)', release_url: 'https://x.example/1.1.0', in_progress: false });
  const later = discoveryMessages(doc(['web']), topics, new Set(['homeassistant/update/dosync_shop/web/config', 'homeassistant/update/dosync_shop/db/config']));
  assert.deepEqual(later.filter((m) => m.payload === '').map((m) => m.topic), ['homeassistant/update/dosync_shop/db/config']);
});
