/**
 * cosign signature verification before any update (issue 21), on the real engine and registry, with signatures
 * made by the real cosign 2.5 (offline: keys from `cosign generate-key-pair`, no transparency log).
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, dosync, logLines, REGISTRY, ROOT, sh } from '../helpers/docker.js';
import { keyPair, sign, digestOf, startFront, type KeyPair } from '../helpers/cosign.js';
import { pushMultiPlatform, type TestRegistry } from '../helpers/mirror-registries.js';
import { startHttpReceiver } from '../helpers/http-receiver.js';
import { run } from '../helpers/registry-images.js';
import { RegistryClient } from '../../src/registry/client.js';

const FAST = ['--health-stable', '1s', '--health-timeout', '30s'];
let keyA: KeyPair;
let keyB: KeyPair;

before(async () => {
  [keyA, keyB] = await Promise.all([keyPair(), keyPair()]);
});

/** Pushes each version of `repo` and signs those in `signed` (with key A unless told). */
async function release(repo: string, versions: string[], signed: Record<string, KeyPair | undefined>): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const v of versions) {
    await pushImage(repo, v, { version: v });
    digests[v] = await digestOf(REGISTRY, repo, v);
    const key = signed[v];
    if (key) await sign(key, `${REGISTRY}/${repo}@${digests[v]}`);
  }
  return digests;
}

async function config(p: ComposeProject, text: string): Promise<string> {
  const path = join(p.dir, 'dosync.yaml');
  await writeFile(path, text);
  return path;
}

/** The invariant: every running container runs what `docker compose config` names. */
async function assertInvariant(p: ComposeProject): Promise<void> {
  const cfg = JSON.parse(await p.compose(['config', '--format', 'json'])) as { services: Record<string, { image: string }> };
  for (const [name, svc] of Object.entries(cfg.services)) {
    for (const id of await p.containers(name)) assert.equal(await sh('docker', ['inspect', '-f', '{{.Config.Image}}', id]), svc.image, `${name} runs what the file names`);
  }
}

describe('enforce mode', () => {
  test('the newest tag is unsigned: the next signed one is deployed, and check --explain says why the newest was passed over', async () => {
    const repo = unique('i21-newest');
    await release(repo, ['1.0.0', '1.1.0', '1.2.0'], { '1.0.0': keyA, '1.1.0': keyA });
    const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n`, 'i21-');
    try {
      await p.up();
      const cfg = await config(p, `verify:\n  cosign:\n    keys: [${keyA.pub}]\n`);
      const check = await dosync(['check', '-f', p.file, '-c', cfg, '--explain']);
      assert.equal(check.code, 10, check.stdout + check.stderr);
      assert.match(check.stdout, /passed over 1\.2\.0: no signature/);
      assert.match(check.stdout, new RegExp(`web\\s+1\\.0\\.0\\s+1\\.1\\.0`));
      const r = await dosync(['sync', '-f', p.file, '-c', cfg, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await p.versions('web'), ['1.1.0']);
      assert.match(await readFile(p.file, 'utf8'), new RegExp(`${repo}:1\\.1\\.0\\n`));
      await assertInvariant(p);
    } finally {
      await p.destroy();
    }
  });

  test('signed by another key: refused; the unsigned running image is reported, not redeployed; a key from env: works the same', async () => {
    const repo = unique('i21-otherkey');
    await release(repo, ['2.0.0', '2.1.0'], { '2.1.0': keyB });
    const compose = `services:\n  web:\n    image: ${REGISTRY}/${repo}:2.0.0\n`;
    const p = await ComposeProject.create(compose, 'i21-');
    try {
      await p.up();
      const cfg = await config(p, 'verify:\n  cosign:\n    keys: [env:I21_COSIGN_KEY]\n');
      const env = { I21_COSIGN_KEY: keyA.pem };
      const check = await dosync(['check', '-f', p.file, '-c', cfg, '--explain'], { env });
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.match(check.stdout, /passed over 2\.1\.0: signed by an unknown key/);
      assert.match(check.stdout, /up to date; running image does not verify: no signature/);
      const json = JSON.parse((await dosync(['check', '-f', p.file, '-c', cfg, '--json'], { env })).stdout) as { services: Array<{ unverified?: string }> };
      assert.equal(json.services[0].unverified, 'no signature');
      const r = await dosync(['sync', '-f', p.file, '-c', cfg, '--once', ...FAST], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await readFile(p.file, 'utf8'), compose);
      assert.deepEqual(await p.versions('web'), ['2.0.0']);
      await assertInvariant(p);
      // With key B trusted instead, 2.1.0 is taken.
      const ok = await dosync(['check', '-f', p.file, '-c', cfg], { env: { I21_COSIGN_KEY: keyB.pem } });
      assert.match(ok.stdout, /web\s+2\.0\.0\s+2\.1\.0/);
      // A missing variable is one line naming the field, exit 2.
      const bad = await dosync(['check', '-f', p.file, '-c', cfg], { env: { I21_COSIGN_KEY: '' } });
      assert.equal(bad.code, 2);
      assert.match(bad.stdout + bad.stderr, /verify\.cosign\.keys: env:I21_COSIGN_KEY: the variable I21_COSIGN_KEY is not set/);
    } finally {
      await p.destroy();
    }
  });

  test('a tampered payload (new blob, same signature) is refused', async () => {
    const repo = unique('i21-tamper');
    const digests = await release(repo, ['3.0.0', '3.1.0'], { '3.0.0': keyA, '3.1.0': keyA });
    // An attacker with push rights rewrites the signed payload (here: adds a claim) and keeps cosign's signature.
    const client = new RegistryClient();
    const ref = { registry: REGISTRY, repository: repo };
    const sigTag = `${digests['3.1.0'].replace(':', '-')}.sig`;
    const manifest = JSON.parse((await client.getManifest(ref, sigTag)).bytes.toString()) as { layers: Array<{ digest: string; size: number }> };
    const chunks: Buffer[] = [];
    for await (const c of (await client.openBlob(ref, manifest.layers[0].digest)).stream) chunks.push(c as Buffer);
    const payload = JSON.parse(Buffer.concat(chunks).toString()) as { optional: unknown };
    payload.optional = { note: 'tampered' };
    const bytes = Buffer.from(JSON.stringify(payload));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await client.pushBlob(ref, digest, bytes.length, Readable.from([bytes]));
    manifest.layers[0] = { ...manifest.layers[0], digest, size: bytes.length };
    await client.putManifest(ref, sigTag, Buffer.from(JSON.stringify(manifest)), 'application/vnd.oci.image.manifest.v1+json');

    const compose = `services:\n  web:\n    image: ${REGISTRY}/${repo}:3.0.0\n`;
    const p = await ComposeProject.create(compose, 'i21-');
    try {
      await p.up();
      const cfg = await config(p, `verify:\n  cosign:\n    keys: [${keyA.pub}]\n`);
      const check = await dosync(['check', '-f', p.file, '-c', cfg, '--explain']);
      assert.match(check.stdout, /passed over 3\.1\.0: signed by an unknown key/);
      const r = await dosync(['sync', '-f', p.file, '-c', cfg, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await readFile(p.file, 'utf8'), compose);
      assert.deepEqual(await p.versions('web'), ['3.0.0']);
      await assertInvariant(p);
    } finally {
      await p.destroy();
    }
  });

  test('a multi-platform index signed at its index digest is deployed', async () => {
    const repo = unique('i21-multi');
    const registry = { host: REGISTRY } as TestRegistry;
    const nonce = unique('');
    const old = await pushMultiPlatform(registry, repo, '4.0.0', `${nonce}a`);
    const next = await pushMultiPlatform(registry, repo, '4.1.0', `${nonce}b`);
    await sign(keyA, `${REGISTRY}/${repo}@${old.indexDigest}`);
    await sign(keyA, `${REGISTRY}/${repo}@${next.indexDigest}`);
    const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:4.0.0\n`, 'i21-');
    try {
      await p.up();
      const cfg = await config(p, `services:\n  web:\n    verify:\n      cosign:\n        keys: [${keyA.pub}]\n`);
      const check = await dosync(['check', '-f', p.file, '-c', cfg, '--explain']);
      assert.doesNotMatch(check.stdout, /does not verify|passed over/, 'the running index verifies too');
      const r = await dosync(['sync', '-f', p.file, '-c', cfg, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await p.versions('web'), [`${nonce}b-amd64`]);
      await assertInvariant(p);
    } finally {
      await p.destroy();
    }
  });

  test('a mirrored copy verifies only with reference_aliases naming where it was signed', async () => {
    const origin = unique('i21-origin');
    const mirror = unique('i21-mirror');
    await release(origin, ['6.0.0', '6.1.0'], { '6.0.0': keyA, '6.1.0': keyA });
    // The copy and its signature tag, as `cosign copy` makes them (issue 20's mirror referrers copy is not used here).
    for (const v of ['6.0.0', '6.1.0']) await run('cosign', ['copy', '--allow-http-registry', '--allow-insecure-registry', '-f', `${REGISTRY}/${origin}:${v}`, `${REGISTRY}/${mirror}:${v}`]);
    const compose = `services:\n  web:\n    image: ${REGISTRY}/${mirror}:6.0.0\n`;
    const p = await ComposeProject.create(compose, 'i21-');
    try {
      await p.up();
      const strict = await config(p, `verify:\n  cosign:\n    keys: [${keyA.pub}]\n`);
      const check = await dosync(['check', '-f', p.file, '-c', strict, '--explain']);
      assert.match(check.stdout, new RegExp(`passed over 6\\.1\\.0: signed by key .*cosign\\.pub, but its payload names ${REGISTRY}/${origin}, not ${REGISTRY}/${mirror}`));
      const aliased = await config(p, `registry:\n  custom:\n    url: http://${REGISTRY}\n    insecure: true\n    verify:\n      cosign:\n        reference_aliases: [${REGISTRY}/${origin}]\nverify:\n  cosign:\n    keys: [${keyA.pub}]\n`);
      const r = await dosync(['sync', '-f', p.file, '-c', aliased, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await p.versions('web'), ['6.1.0']);
      await assertInvariant(p);
    } finally {
      await p.destroy();
    }
  });

  test('a copy made by dosync mirror --once keeps the .sig tag: refused without reference_aliases, deployed with them', async () => {
    const origin = unique('i21b-origin');
    const mirror = unique('i21b-mirror');
    const digests = await release(origin, ['7.0.0', '7.1.0'], { '7.0.0': keyA, '7.1.0': keyA });
    const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${mirror}:7.0.0\n`, 'i21b-');
    try {
      const mirrorYaml = join(p.dir, 'mirror.yaml');
      await writeFile(mirrorYaml, `state: mirror-state.json\ntasks:\n  - name: i21b-sigs\n    source: ${REGISTRY}\n    target: ${REGISTRY}\n    images: [{ from: ${origin}, to: ${mirror}, tags: ['7.0.0', '7.1.0'] }]\n`);
      const m = await dosync(['mirror', '-c', mirrorYaml, '--once']);
      assert.equal(m.code, 0, m.stdout + m.stderr);
      assert.match(m.stdout, /i21b-sigs: copied 2, up to date 0, failed 0/);
      const client = new RegistryClient();
      for (const v of ['7.0.0', '7.1.0']) {
        const sig = `${digests[v].replace(':', '-')}.sig`;
        const copied = await client.headManifest({ registry: REGISTRY, repository: mirror }, sig);
        assert.equal(copied?.digest, await digestOf(REGISTRY, origin, sig), `${mirror}:${sig} is the origin's signature manifest, byte for byte`);
        assert.equal(await digestOf(REGISTRY, mirror, v), digests[v], `${mirror}:${v} keeps its digest, the one signed`);
      }
      await p.up();
      const strict = await config(p, `verify:\n  cosign:\n    keys: [${keyA.pub}]\n`);
      const check = await dosync(['check', '-f', p.file, '-c', strict, '--explain']);
      assert.match(check.stdout, new RegExp(`passed over 7\\.1\\.0: signed by key .*cosign\\.pub, but its payload names ${REGISTRY}/${origin}, not ${REGISTRY}/${mirror}`));
      const refused = await dosync(['sync', '-f', p.file, '-c', strict, '--once', ...FAST]);
      assert.equal(refused.code, 0, refused.stdout + refused.stderr);
      assert.deepEqual(await p.versions('web'), ['7.0.0'], 'without reference_aliases the mirrored 7.1.0 is not deployed');
      const aliased = await config(p, `verify:\n  cosign:\n    keys: [${keyA.pub}]\n    reference_aliases: [${REGISTRY}/${origin}]\n`);
      const explained = await dosync(['check', '-f', p.file, '-c', aliased, '--explain']);
      assert.equal(explained.code, 10, explained.stdout + explained.stderr);
      assert.doesNotMatch(explained.stdout, /passed over|does not verify/);
      const r = await dosync(['sync', '-f', p.file, '-c', aliased, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await p.versions('web'), ['7.1.0']);
      assert.match(await readFile(p.file, 'utf8'), new RegExp(`${mirror}:7\\.1\\.0\\n`));
    } finally {
      await p.destroy();
    }
  });
});

test('a tag tracked by digest (latest): a new unsigned digest is not deployed until it is signed', async () => {
  const repo = unique('i21-latest');
  await pushImage(repo, 'latest', { version: 'one' });
  await sign(keyA, `${REGISTRY}/${repo}@${await digestOf(REGISTRY, repo, 'latest')}`);
  const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:latest\n`, 'i21-');
  try {
    await p.up();
    const cfg = await config(p, `verify:\n  cosign:\n    keys: [${keyA.pub}]\n`);
    await pushImage(repo, 'latest', { version: 'two' });
    const unsigned = await dosync(['check', '-f', p.file, '-c', cfg, '--explain']);
    assert.equal(unsigned.code, 0, unsigned.stdout + unsigned.stderr);
    assert.match(unsigned.stdout, /passed over latest@sha256:[0-9a-f]{12}…: no signature/);
    const held = await dosync(['sync', '-f', p.file, '-c', cfg, '--once', ...FAST]);
    assert.equal(held.code, 0, held.stdout + held.stderr);
    assert.deepEqual(await p.versions('web'), ['one']);
    await sign(keyA, `${REGISTRY}/${repo}@${await digestOf(REGISTRY, repo, 'latest')}`);
    const r = await dosync(['sync', '-f', p.file, '-c', cfg, '--once', ...FAST]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await p.versions('web'), ['two']);
    await assertInvariant(p);
  } finally {
    await p.destroy();
  }
});

test('warn mode deploys an unsigned newest tag, with a warning', async () => {
  const repo = unique('i21-warn');
  await release(repo, ['5.0.0', '5.1.0'], { '5.0.0': keyA });
  const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:5.0.0\n    labels:\n      dosync.verify: cosign\n`, 'i21-');
  try {
    await p.up();
    const cfg = await config(p, `verify:\n  cosign:\n    keys: [${keyA.pub}]\n    mode: warn\n`);
    const r = await dosync(['sync', '-f', p.file, '-c', cfg, '--once', ...FAST]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(logLines(r.stdout).some((l) => /warning: 5\.1\.0 is not verified \(no signature\); deployed anyway/.test(String(l.msg))), r.stdout);
    assert.deepEqual(await p.versions('web'), ['5.1.0']);
    await assertInvariant(p);
  } finally {
    await p.destroy();
  }
});

test('daemon: a verified digest is not looked up again in later cycles; OCI 1.1 referrers API; an unverified running image is in metrics and notified once', async () => {
  // The front adds the referrers API to distribution 2.8 and counts what dosync asks.
  const front = await startFront(0, REGISTRY, { referrersApi: true });
  const hook = await startHttpReceiver();
  const a = unique('i21-daemon-a');
  const b = unique('i21-daemon-b');
  const digests = await release(a, ['7.0.0', '7.1.0'], {});
  await release(b, ['8.0.0'], {});
  // Signed as OCI 1.1 referrers (stored under the fallback tag by distribution 2.8), at the upstream name.
  for (const v of ['7.0.0', '7.1.0']) await sign(keyA, `${REGISTRY}/${a}@${digests[v]}`, { referrers: true });
  const p = await ComposeProject.create(`services:\n  a:\n    image: ${front.host}/${a}:7.0.0\n  b:\n    image: ${front.host}/${b}:8.0.0\n`, 'i21-');
  try {
    await p.up();
    const cfg = await config(p, `verify:\n  cosign:\n    keys: [${keyA.pub}]\n    reference_aliases: [${REGISTRY}/${a}]\n`);
    const child = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '-f', p.file, '-c', cfg, '-i', '1s', '--listen', '127.0.0.1:0', '--api-token', 'i21-token', '--notify', `generic+${hook.url}/hook`, ...FAST], {
      env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const cycles = () => logLines(out).filter((l) => l.msg === 'cycle done').length;
    while (cycles() < 4 && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    const api = logLines(out).find((l) => l.msg === 'HTTP endpoint listening')?.url as string;
    assert.ok(api, out);
    const metrics = await (await fetch(`${api}/metrics`, { headers: { authorization: 'Bearer i21-token' } })).text();
    const status = await (await fetch(`${api}/v1/status`, { headers: { authorization: 'Bearer i21-token' } })).json() as { services: Array<{ name: string; signatureUnverified?: string }> };
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.deepEqual(await p.versions('a'), ['7.1.0']);
    await assertInvariant(p);

    const sigTagGets = (digest: string) => front.requests.filter((r) => r === `GET /v2/${a}/manifests/${digest.replace(':', '-')}.sig`).length;
    const apiGets = (digest: string) => front.requests.filter((r) => r === `GET /v2/${a}/referrers/${digest}`).length;
    assert.equal(sigTagGets(digests['7.1.0']), 1, 'one signature lookup for 7.1.0 over 4 cycles');
    assert.equal(apiGets(digests['7.1.0']), 1);
    assert.equal(front.requests.filter((r) => r === `GET /v2/${a}/manifests/${digests['7.1.0'].replace(':', '-')}`).length, 0, 'the API answered: no fallback tag read');
    assert.equal(sigTagGets(digests['7.0.0']), 0, 'the running 7.0.0 is not looked up when 7.1.0 replaces it');

    assert.match(metrics, /dosync_signature_unverified\{service="b",project="[^"]+"\} 1/);
    assert.deepEqual(status.services.map((x) => [x.name, x.signatureUnverified]), [['a', undefined], ['b', 'no signature']]);
    assert.match(metrics, /dosync_signature_unverified\{service="a",project="[^"]+"\} 0/);
    const told = hook.requests.filter((r) => r.body.includes('does not verify'));
    assert.equal(told.length, 1, 'notified once, not every cycle');
    assert.match(told[0].body, /no signature/);
  } finally {
    await p.destroy();
    await front.close();
    await hook.close();
  }
});
