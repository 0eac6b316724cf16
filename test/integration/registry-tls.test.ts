/**
 * A registry's `ca_file`, against a real CNCF registry (`docker-registry serve`) serving TLS on an
 * unused loopback port with a certificate from a throw-away CA: the client trusts that CA for that
 * registry only (the public roots stay trusted), a configured https:// url is reached over https
 * even on loopback, and nothing is ever retried over plain http.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { createMirrorRuntime, type MirrorConfig } from '../../src/mirror/index.js';
import { createRegistryRuntime } from '../../src/cli/registry-runtime.js';
import type { ConfigFile } from '../../src/config/file.js';
import { RegistryClient } from '../../src/registry/client.js';
import { trustedCas } from '../../src/registry/transport.js';
import { ConfigError, RegistryError } from '../../src/util/errors.js';
import { createLogger } from '../../src/util/logger.js';
import { closeFixtures, fixture, json, makeTestCa, type Fixture, type TestCa } from '../helpers/protocol-fixtures.js';
import { rejection } from '../helpers/rejection.js';

const PASSWORD = 'tls-registry-password-0001';
const TAGS = ['1.0.0', '1.1.0', '2.0.0'];
const REPO = 'team/tls-app';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** GET https://host/v2/ trusting `ca`: the registry is up when it answers at all. */
function answers(host: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const [hostname, port] = host.split(':');
    const req = httpsRequest({ hostname, port: Number(port), path: '/v2/', ca, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

describe('registry ca_file (real CNCF registry serving TLS on loopback)', () => {
  let dir: string;
  let ca: TestCa;
  let caFile: string;
  let host: string;
  let registry: ChildProcess | undefined;
  let registryLog = '';
  let sameCaFixture: Fixture;
  let plainHttp: Fixture;
  const logs: string[] = [];
  const logger = createLogger({ verbose: true, json: true, destination: new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString('utf8')); done(); } }) });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dosync-tls-registry-'));
    ca = makeTestCa(dir, ['localhost']);
    caFile = join(dir, 'ca.pem');
    host = `127.0.0.1:${await freePort()}`;
    writeFileSync(join(dir, 'config.yml'), [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} } }`,
      'http:',
      `  addr: ${host}`,
      `  tls: { certificate: ${join(dir, 'server.pem')}, key: ${join(dir, 'server.key')} }`,
      '',
    ].join('\n'));
    registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    registry.stderr!.on('data', (c: Buffer) => (registryLog += c.toString('utf8')));
    let up = false;
    for (let i = 0; i < 100 && !up && registry.exitCode === null; i++) {
      up = await answers(host, ca.caCert);
      if (!up) await delay(100);
    }
    assert.ok(up, `docker-registry did not start on ${host}: ${registryLog}`);

    // An image (config blob + manifest) pushed over TLS by a client that trusts the CA.
    const pusher = new RegistryClient({ httpsRegistries: [host], registryCa: new Map([[host, [ca.caCert]]]) });
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }));
    const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
    const repo = { registry: host, repository: REPO };
    await pusher.pushBlob(repo, configDigest, config.length, Readable.from([config]));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers: [] }));
    for (const tag of TAGS) await pusher.putManifest(repo, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');

    // A second TLS server with a certificate from the same CA, and a plain-http one.
    sameCaFixture = await fixture((req, res) => (req.path === '/v2/' ? json(res, 200, {}) : json(res, 200, { name: REPO, tags: ['9.9.9'] })), ca.server);
    plainHttp = await fixture((_req, res) => json(res, 200, { tags: ['plain'] }));
  });

  after(async () => {
    if (registry && registry.exitCode === null) {
      const exited = new Promise((resolve) => registry!.once('exit', resolve));
      registry.kill('SIGTERM');
      await exited;
    }
    await closeFixtures();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const runtime = (registrySection: Record<string, unknown>) => createRegistryRuntime({ registry: registrySection } as ConfigFile, {}, logger, join(dir, 'dosync.yaml'));


  for (const family of ['custom', 'harbor', 'gitlab'] as const) {
    test(`${family} with ca_file: the tags are listed over https, on loopback too`, async () => {
      const { registry: client } = await runtime({ [family]: { url: `https://${host}`, ca_file: caFile, username: 'reader', password: PASSWORD } });
      assert.deepEqual((await client.listTags({ registry: host, repository: REPO })).sort(), TAGS);
      assert.match((await client.getDigest({ registry: host, repository: REPO }, '1.1.0')).digest, /^sha256:[0-9a-f]{64}$/);
    });
  }

  test('mirror.yaml registry entries honour ca_file too: the mirror client lists the TLS registry', async () => {
    const { client } = createMirrorRuntime({ registry: { custom: { url: `https://${host}`, ca_file: caFile } } } as Pick<MirrorConfig, 'registry'>, { env: {}, logger, file: join(dir, 'mirror.yaml') });
    assert.deepEqual((await client.listTags({ registry: host, repository: REPO })).sort(), TAGS);
    const bare = createMirrorRuntime({ registry: {} } as Pick<MirrorConfig, 'registry'>, { env: {}, logger, file: join(dir, 'mirror.yaml') });
    // Without the entry, loopback means plain http, which this TLS-only registry refuses.
    assert.match((await rejection(bare.client.listTags({ registry: host, repository: REPO }))).message, /HTTP 400/);
  });

  test('a url without scheme but with ca_file is https too (a CA means TLS)', async () => {
    const { registry: client } = await runtime({ custom: { url: host, ca_file: caFile } });
    assert.deepEqual((await client.listTags({ registry: host, repository: REPO })).sort(), TAGS);
  });

  test('without ca_file the TLS failure is one line naming the host, the reason and the fix, without secrets; the host is then failed fast', async () => {
    const { registry: client } = await runtime({ custom: { url: `https://${host}`, username: 'reader', password: PASSWORD } });
    const err = await rejection(client.listTags({ registry: host, repository: REPO }));
    assert.ok(err instanceof RegistryError);
    assert.match(err.message, new RegExp(`^${host}/${REPO}: cannot reach ${host} over TLS: its certificate is not signed by a trusted CA \\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\\); set ca_file for this registry in dosync\\.yaml \\(registry\\.custom, harbor or gitlab\\) to the PEM of the CA that signed it$`));
    assert.equal(err.message.split('\n').length, 1);
    assert.ok(!err.message.includes(PASSWORD));
    const again = await rejection(client.listTags({ registry: host, repository: 'team/other' }));
    assert.equal(again.message, err.message.replace(`/${REPO}:`, '/team/other:'));
    assert.equal(client.stats.requests, 1, 'one handshake attempt, then the host is failed fast');
    assert.ok(!logs.join('').includes(PASSWORD), 'the password is not in the log');
  });

  test('the CA is trusted for the configured host only: another host with a certificate from the same CA is not', async () => {
    const { registry: client } = await runtime({ custom: [{ url: `https://${host}`, ca_file: caFile }, { url: `https://${sameCaFixture.host}` }] });
    assert.deepEqual((await client.listTags({ registry: host, repository: REPO })).sort(), TAGS);
    const err = await rejection(client.listTags({ registry: sameCaFixture.host, repository: REPO }));
    assert.match(err.message, /over TLS: its certificate is not signed by a trusted CA/);
    assert.equal(sameCaFixture.seen.length, 0);
  });

  test('an https:// url pointing at a plain-http server fails the TLS handshake and is never retried over http', async () => {
    const { registry: client } = await runtime({ custom: { url: `https://${plainHttp.host}`, ca_file: caFile, password: PASSWORD, username: 'u' } });
    const err = await rejection(client.listTags({ registry: plainHttp.host, repository: 'x' }));
    assert.match(err.message, new RegExp(`^${plainHttp.host}/x: cannot reach ${plainHttp.host} over TLS: it does not answer TLS on this port \\([A-Z_]+\\); if the registry really is plain http, give it an http:// url with insecure: true in dosync\\.yaml$`));
    assert.equal(plainHttp.seen.length, 0, 'no HTTP request reached the plain server');
  });

  test('insecure: true on an https:// url is ignored with a warning (never a silent downgrade); with an http:// url it is plain http', async () => {
    const before = logs.length;
    const { registry: client } = await runtime({ custom: { url: `https://${host}`, insecure: true, ca_file: caFile } });
    assert.deepEqual((await client.listTags({ registry: host, repository: REPO })).sort(), TAGS);
    assert.match(logs.slice(before).join(''), /registry\.custom\.insecure: ignored, the url says https:\/\//);
    const { registry: plain } = await runtime({ custom: { url: `http://${plainHttp.host}`, insecure: true } });
    assert.deepEqual(await plain.listTags({ registry: plainHttp.host, repository: 'x' }), ['plain']);
  });

  test('NODE_EXTRA_CA_CERTS stays trusted next to a ca_file (Node drops it when a CA list is given); an unreadable one is skipped as Node does', () => {
    const withExtra = trustedCas(['registry-ca'], { NODE_EXTRA_CA_CERTS: caFile });
    assert.deepEqual(withExtra.slice(-2), [ca.caCert, 'registry-ca']);
    assert.deepEqual(trustedCas(['registry-ca'], { NODE_EXTRA_CA_CERTS: join(dir, 'missing.pem') }), trustedCas(['registry-ca'], {}));
  });

  test('a ca_file that cannot be read, or is not a certificate, is a one-line config error naming the field', async () => {
    const missing = await rejection(runtime({ harbor: { url: `https://${host}`, ca_file: join(dir, 'nope.pem') } }), ConfigError);
    assert.ok(missing instanceof ConfigError);
    assert.equal(missing.message, `${join(dir, 'dosync.yaml')}: registry.harbor.ca_file: cannot read ${join(dir, 'nope.pem')} (ENOENT)`);
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    const bad = await rejection(runtime({ custom: [{ url: 'https://a.example.com' }, { url: `https://${host}`, ca_file: junk }] }), ConfigError);
    assert.ok(bad instanceof ConfigError);
    assert.equal(bad.message, `${join(dir, 'dosync.yaml')}: registry.custom[1].ca_file: ${junk} is not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
  });
});
