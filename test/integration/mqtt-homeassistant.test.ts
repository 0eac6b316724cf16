/**
 * Home Assistant over MQTT against a real mosquitto (TLS, self-signed CA, password) and the real engine: the
 * discovery payloads carry the keys HA documents for `update` entities, latest_version follows a push, and
 * HA's Install command approves and applies the update; a service that leaves the stack loses its entity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { ComposeProject, pushImage, unique, logLines, ROOT, REGISTRY } from '../helpers/docker.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { until } from '../helpers/wait.js';


// The keys of HA's MQTT update platform (https://www.home-assistant.io/integrations/update.mqtt) dosync sets.
const CONFIG_KEYS = ['availability_topic', 'command_topic', 'device', 'name', 'payload_available', 'payload_install', 'payload_not_available', 'state_topic', 'unique_id'];
const STATE_KEYS = ['in_progress', 'installed_version', 'latest_version', 'release_url', 'title'];

test('mqtt: HA update entities over TLS, latest_version follows a push, Install applies it on the real engine, removed with the service', async () => {
  const repo = unique('i18/mqtt');
  const other = unique('i18/mqttx');
  for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
  await pushImage(other, '1.0.0', { version: '1.0.0', healthcheck: true });
  const compose = (withExtra: boolean) => `services:
  app:
    image: ${REGISTRY}/${repo}:1.0.0
    labels:
      dosync.approve: manual
      dosync.link.template: "https://example.org/app/$\${tag}"
${withExtra ? `  extra:\n    image: ${REGISTRY}/${other}:1.0.0\n` : ''}`;
  const p = await ComposeProject.create(compose(true), 'i18');
  const broker = await startMosquitto();
  const stateDir = await mkdtemp(join(tmpdir(), 'i18-mqtt-state-'));
  await p.up();
  const token = 'i18-mqtt-api-token-0123';
  const notify = `mqtts://${broker.username}:${broker.password}@127.0.0.1:${broker.tlsPort}?ca=${encodeURIComponent(broker.ca)}`;
  const child = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '-f', p.file, '-i', '1h', '--health-stable', '1s', '--state-dir', stateDir,
    '--listen', '127.0.0.1:0', '--api-token', token, '--notify', notify], { env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  const ha = await connectAsync(`mqtts://127.0.0.1:${broker.tlsPort}`, { username: broker.username, password: broker.password, ca: readFileSync(broker.ca) });
  const retained = new Map<string, string>();
  ha.on('message', (topic, payload) => { retained.set(topic, payload.toString('utf8')); });
  await ha.subscribeAsync(['homeassistant/#', 'dosync/#']);
  const json = (topic: string) => { const t = retained.get(topic); return t ? JSON.parse(t) as Record<string, unknown> : undefined; };
  try {
    assert.ok(!out.includes(broker.password), 'the broker password is never logged');
    const url = await until('the endpoint', () => logLines(out).find((l) => l.msg === 'HTTP endpoint listening')?.url as string | undefined);
    const configTopic = await until('the discovery config', () => [...retained.keys()].find((t) => /^homeassistant\/update\/dosync_[^/]+\/app\/config$/.test(t)));
    const config = json(configTopic)!;
    for (const k of CONFIG_KEYS) assert.ok(k in config, `config has ${k}`);
    assert.equal(config.payload_install, 'install');
    assert.equal(retained.get(config.availability_topic as string), 'online');
    const stateTopic = config.state_topic as string;
    const state = await until('latest 1.1.0', () => (json(stateTopic)?.latest_version === '1.1.0' ? json(stateTopic) : undefined));
    for (const k of STATE_KEYS) assert.ok(k in state, `state has ${k}`);
    assert.equal(state.installed_version, '1.0.0');
    assert.equal(state.release_url, 'https://example.org/app/1.1.0');

    // A newer push: after a check, latest_version says 1.2.0 (it replaced the pending 1.1.0).
    await pushImage(repo, '1.2.0', { version: '1.2.0', healthcheck: true });
    const check = await fetch(`${url}/v1/check`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(check.status, 202);
    await until('latest 1.2.0', () => (json(stateTopic)?.latest_version === '1.2.0' ? true : undefined));
    assert.deepEqual(await p.versions('app'), ['1.0.0'], 'nothing applied before Install');

    // HA's Install button: approve + apply through the health gate.
    await ha.publishAsync(config.command_topic as string, 'install');
    await until('installed 1.2.0', () => (json(stateTopic)?.installed_version === '1.2.0' ? true : undefined), 180_000);
    assert.deepEqual(await p.versions('app'), ['1.2.0']);

    // A service that leaves the stack loses its entity (an empty retained config).
    const extraConfig = [...retained.keys()].find((t) => t.endsWith('/extra/config'))!;
    assert.ok(retained.get(extraConfig));
    await writeFile(p.file, compose(false));
    await p.compose(['up', '-d', '--remove-orphans', '--wait']);
    assert.equal((await fetch(`${url}/v1/check`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status, 202);
    await until('extra removed', () => (retained.get(extraConfig) === '' ? true : undefined));
  } catch (err) {
    process.stderr.write(`daemon log (last lines):\n${out.split('\n').slice(-30).join('\n')}\n`);
    throw err;
  } finally {
    child.kill('SIGTERM');
    await exited;
    await ha.endAsync().catch(() => undefined);
    await broker.close();
    await p.destroy();
    await rm(stateDir, { recursive: true, force: true });
  }
});
