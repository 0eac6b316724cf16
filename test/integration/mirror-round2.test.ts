/**
 * `dosync mirror`, second round, against real CNCF registries (`docker-registry serve`) started on
 * free loopback ports: purge with its cap, resume inside a blob from the state file's upload
 * session, remembered mounts across processes, referrers (the fallback tag scheme and cosign tags
 * on distribution, which has no referrers API; the API itself through a small front that speaks
 * the OCI 1.1 referrers endpoint in front of a real registry), and errors that name the source.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { RegistryClient } from '../../src/registry/client.js';
import { createLogger } from '../../src/util/logger.js';
import { MirrorState, MirrorStateFile, oneShotTask, runTask, type MirrorTask, type OneShotFlags } from '../../src/mirror/index.js';
import { ROOT } from '../helpers/docker.js';
import { setupClient, startRegistry, type TestRegistry } from '../helpers/mirror-registries.js';
import { startRegistryFront, type RegistryFront } from '../helpers/registry-front.js';
import { OCI_MANIFEST, pushArtifact, pushTinyImage } from '../helpers/tiny-images.js';

let src: TestRegistry;
let dst: TestRegistry;
let dir: string;
const fronts: RegistryFront[] = [];
const setup = () => setupClient();

function quiet() {
  return createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
}

function task(flags: Partial<OneShotFlags> & { source: string; target: string }): MirrorTask {
  return oneShotTask(flags);
}

async function run(t: MirrorTask, opts: { state?: MirrorState; dryRun?: boolean; client?: RegistryClient } = {}) {
  const client = opts.client ?? new RegistryClient();
  const state = opts.state ?? new MirrorState(client);
  return runTask(t, { client, state, logger: quiet(), dryRun: opts.dryRun });
}

async function tags(registry: string, repository: string): Promise<string[]> {
  return (await setup().listTags({ registry, repository }).catch(() => [])).sort();
}

before(async () => {
  src = await startRegistry();
  dst = await startRegistry();
  dir = mkdtempSync(join(tmpdir(), 'i20-mirror-'));
});

after(async () => {
  for (const f of fronts) await f.stop();
  await src?.stop();
  await dst?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('purge', () => {
  test('deletes target tags the source lost or the filter dropped; --dry-run lists them first; the cap refuses a larger purge', async () => {
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-purge/app' };
    const images = new Map<string, string>();
    for (const tag of ['1.0', '1.1', '1.2', '2.0', 'keep-me']) images.set(tag, (await pushTinyImage(c, repo, tag)).digest);
    const target = `${dst.host}/i20-purge/app`;
    const all = { source: `${src.host}/i20-purge/app`, target };
    assert.equal((await run(task(all))).copied, 5);
    assert.deepEqual(await tags(dst.host, 'i20-purge/app'), ['1.0', '1.1', '1.2', '2.0', 'keep-me']);

    // 1.0 leaves the source; the filter now drops keep-me.
    await c.deleteManifest(repo, images.get('1.0')!);
    const filtered = { ...all, tags: 'regex:^[0-9]', purge: true, purgeMax: '50%' };
    const plan = await run(task(filtered), { dryRun: true });
    assert.deepEqual(plan.items.filter((i) => i.status === 'would-delete').map((i) => i.target).sort(), [`${target}:1.0`, `${target}:keep-me`]);
    assert.equal(plan.deleted, 2);
    assert.deepEqual(await tags(dst.host, 'i20-purge/app'), ['1.0', '1.1', '1.2', '2.0', 'keep-me'], 'a dry run deletes nothing');

    // 2 of 5 is 40%: more than a 10% cap (the default) allows.
    const capped = await run(task({ ...filtered, purgeMax: undefined }));
    assert.equal(capped.failed, 1);
    const refusal = capped.items.find((i) => i.status === 'failed')!.error!;
    assert.match(refusal, /purge refused: it would delete 2 of 5 tags, more than purge_max allows \(10% of 5 = 0\)/);
    assert.ok(!refusal.includes('\n'));
    assert.deepEqual(await tags(dst.host, 'i20-purge/app'), ['1.0', '1.1', '1.2', '2.0', 'keep-me']);

    const done = await run(task(filtered));
    assert.equal(done.failed, 0, JSON.stringify(done.items));
    assert.equal(done.deleted, 2);
    assert.deepEqual(await tags(dst.host, 'i20-purge/app'), ['1.1', '1.2', '2.0']);
    for (const tag of ['1.1', '1.2', '2.0']) assert.equal((await c.headManifest({ registry: dst.host, repository: 'i20-purge/app' }, tag))?.digest, images.get(tag));
  });

  test('a tag that shares its manifest with a kept tag is not deleted on a registry that deletes only by digest', async () => {
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-purge/shared' };
    const img = await pushTinyImage(c, repo, 'stable');
    await c.putManifest(repo, 'old-alias', img.bytes, OCI_MANIFEST);
    const flags = { source: `${src.host}/i20-purge/shared`, target: `${dst.host}/i20-purge/shared` };
    await run(task(flags));
    const s = await run(task({ ...flags, tags: 'stable', purge: true, purgeMax: '100%' }));
    assert.equal(s.failed, 0);
    const kept = s.items.find((i) => i.target.endsWith(':old-alias'))!;
    assert.equal(kept.status, 'skipped');
    assert.match(kept.note!, /cannot delete a tag alone, and stable \(kept\) points to the same manifest/);
    assert.deepEqual(await tags(dst.host, 'i20-purge/shared'), ['old-alias', 'stable']);
  });
});

/**
 * `dosync mirror --once` in a child process (to be killed), copying `repository` from `source` to the
 * same name on dst; `accepted()` reads the upload session's offset from its state file.
 */
function killableMirror(source: string, repository: string, stateFile: string, extra: string[] = []) {
  const args = ['--import', 'tsx', join(ROOT, 'test/helpers/mirror-cli.ts'), 'mirror', '--source', `${source}/${repository}`, '--target', `${dst.host}/${repository}`,
    '--tags', 'v1', ...extra, '--state', stateFile, '--once', '--log-format', 'json'];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  const accepted = () => {
    if (!existsSync(stateFile)) return 0;
    const uploads = (JSON.parse(readFileSync(stateFile, 'utf8')) as { uploads: Record<string, { offset: number }> }).uploads;
    return Object.values(uploads)[0]?.offset ?? 0;
  };
  return { child, exited, accepted, get stderr() { return text; } };
}

describe('resume inside a blob', () => {
  const LAYER = 24 * 1024 * 1024;
  const CHUNK = '2MiB';

  test('a run killed mid-blob sends only what the target lacks on the next run, from the session in the state file', async () => {
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-resume/big' };
    const img = await pushTinyImage(c, repo, 'v1', LAYER);
    // The source stops sending after 7 MiB: the target accepts three 2 MiB chunks and the copy waits
    // for the fourth, as a copy from a slow source would when the kill comes.
    const front = await startRegistryFront(src.host, { stallBlobAfter: 7 * 1024 * 1024 });
    fronts.push(front);
    const stateFile = join(dir, 'resume-state.json');
    const mirror = killableMirror(front.host, 'i20-resume/big', stateFile, ['--chunk-size', CHUNK]);
    const { child, exited, accepted } = mirror;
    for (let i = 0; i < 1200 && accepted() < 6 * 1024 * 1024 && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await exited;
    const offset = accepted();
    assert.equal(offset, 6 * 1024 * 1024, `the state file names the session at 6 MiB: ${mirror.stderr}`);
    front.options.stallBlobAfter = undefined;

    const client = new RegistryClient();
    const state = new MirrorState(client, { file: await MirrorStateFile.open(stateFile) });
    const s = await runTask(task({ source: `${src.host}/i20-resume/big`, target: `${dst.host}/i20-resume/big`, tags: 'v1', chunkSize: CHUNK }), { client, state, logger: quiet() });
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.equal(s.items[0]!.targetDigest, img.digest);
    // The layer's bytes from where the target stopped; the config went up before the kill.
    assert.equal(s.bytes, LAYER - offset, `sent ${s.bytes} bytes after a kill at ${offset}`);
    assert.deepEqual(s.blobs, { present: 1, mounted: 0, uploaded: 1 });
    assert.equal((await c.headBlob({ registry: dst.host, repository: 'i20-resume/big' }, img.layer.digest)), LAYER);
    assert.deepEqual((JSON.parse(readFileSync(stateFile, 'utf8')) as { uploads: object }).uploads, {}, 'the finished session leaves the state');
  });

  test('without chunkSize: a large layer goes up in streamed PATCHes, and a run killed while the source is quiet resumes from the session in the state file', async () => {
    const BIG = 40 * 1024 * 1024; // over the 32 MiB above which blobs are streamed in PATCHes
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-resume/default' };
    const img = await pushTinyImage(c, repo, 'v1', BIG);
    const front = await startRegistryFront(src.host, { stallBlobAfter: 7 * 1024 * 1024 });
    fronts.push(front);
    const stateFile = join(dir, 'resume-default.json');
    const mirror = killableMirror(front.host, 'i20-resume/default', stateFile);
    const { child, exited, accepted } = mirror;
    // The source goes quiet after 7 MiB: the PATCH under way is ended there and its session saved.
    for (let i = 0; i < 1200 && accepted() === 0 && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await exited;
    const offset = accepted();
    assert.ok(offset > 6 * 1024 * 1024 && offset <= 7 * 1024 * 1024, `the state file names the session at ~7 MiB, not ${offset}: ${mirror.stderr}`);
    front.options.stallBlobAfter = undefined;

    const client = new RegistryClient();
    const state = new MirrorState(client, { file: await MirrorStateFile.open(stateFile) });
    const s = await runTask(task({ source: `${src.host}/i20-resume/default`, target: `${dst.host}/i20-resume/default`, tags: 'v1' }), { client, state, logger: quiet() });
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.equal(s.items[0]!.targetDigest, img.digest);
    assert.equal(s.bytes, BIG - offset, `sent ${s.bytes} bytes after a kill at ${offset}`);
    assert.equal((await c.headBlob({ registry: dst.host, repository: 'i20-resume/default' }, img.layer.digest)), BIG);
    assert.deepEqual((JSON.parse(readFileSync(stateFile, 'utf8')) as { uploads: object }).uploads, {}, 'the finished session leaves the state');
  });

  test('without chunkSize, a source that dies mid-blob ends the streamed PATCH cleanly: the retry continues the same session', async () => {
    const BIG = 40 * 1024 * 1024;
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-resume/cut-default' };
    const img = await pushTinyImage(c, repo, 'v1', BIG);
    const front = await startRegistryFront(src.host, { cutBlobAfter: 20 * 1024 * 1024 });
    fronts.push(front);
    const flags = { source: `${front.host}/i20-resume/cut-default`, target: `${dst.host}/i20-resume/cut-default`, tags: 'v1' };
    const client = new RegistryClient();
    const state = new MirrorState(client);
    const failed = await runTask({ ...task(flags), maxErrors: 10 }, { client, state, logger: quiet() });
    assert.equal(failed.failed, 1);
    assert.match(failed.items[0]!.error!, new RegExp(`^${front.host}/i20-resume/cut-default@${img.layer.digest}: the source stopped sending after`));
    const session = state.blobs.state.session(`${dst.host}/i20-resume/cut-default@${img.layer.digest}`);
    assert.ok(session && session.offset > 19 * 1024 * 1024, `the session is kept at the bytes the target has: ${JSON.stringify(session)}`);

    front.options.cutBlobAfter = undefined;
    const s = await runTask(task(flags), { client, state, logger: quiet() });
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.equal(s.bytes, BIG - session.offset, `resumed at ${session.offset}: ${s.bytes} bytes sent`);
    assert.equal(s.items[0]!.targetDigest, img.digest);
  });

  test('a source that dies mid-blob is named as the source; the retry continues the same session', async () => {
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-resume/cut' };
    const img = await pushTinyImage(c, repo, 'v1', 8 * 1024 * 1024);
    const front = await startRegistryFront(src.host, { cutBlobAfter: 5 * 1024 * 1024 });
    fronts.push(front);
    const flags = { source: `${front.host}/i20-resume/cut`, target: `${dst.host}/i20-resume/cut`, tags: 'v1', chunkSize: '1MiB' };
    const client = new RegistryClient();
    const state = new MirrorState(client);
    const failed = await runTask({ ...task(flags), maxErrors: 10 }, { client, state, logger: quiet() });
    assert.equal(failed.failed, 1);
    const error = failed.items[0]!.error!;
    assert.match(error, new RegExp(`^${front.host}/i20-resume/cut@${img.layer.digest}: the source stopped sending after \\d+ of ${8 * 1024 * 1024} bytes`));
    assert.ok(!error.includes(dst.host), error);
    const session = state.blobs.state.session(`${dst.host}/i20-resume/cut@${img.layer.digest}`);
    assert.ok(session, 'the session with the accepted chunks is kept');

    front.options.cutBlobAfter = undefined;
    const s = await runTask(task(flags), { client, state, logger: quiet() });
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    // The first attempt's three retries each continued the session too: what is left is at most 4 MiB.
    assert.ok(s.bytes > 0 && s.bytes <= 4 * 1024 * 1024 + img.config.size, `resumed: ${s.bytes} bytes sent`);
    assert.equal(s.items[0]!.targetDigest, img.digest);
  });

  test('a session the target no longer knows falls back to a fresh upload; sessions no copy resumes are cancelled', async () => {
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-resume/stale' };
    const img = await pushTinyImage(c, repo, 'v1', 3 * 1024 * 1024);
    const target = { registry: dst.host, repository: 'i20-resume/stale' };
    const open = async () => {
      const res = await fetch(`http://${dst.host}/v2/${target.repository}/blobs/uploads/`, { method: 'POST' });
      await res.arrayBuffer();
      return new URL(res.headers.get('location')!, `http://${dst.host}`).href;
    };
    const stale = await open();
    await fetch(stale, { method: 'DELETE' }).then((r) => r.arrayBuffer());
    const orphan = await open();
    const file = MirrorStateFile.inMemory();
    file.setSession(`${dst.host}/${target.repository}@${img.layer.digest}`, stale, 1024 * 1024, Date.now() - 60_000);
    file.setSession(`${dst.host}/${target.repository}@sha256:${'0'.repeat(64)}`, orphan, 0, Date.now() - 60_000);
    const client = new RegistryClient();
    const s = await runTask(task({ source: `${src.host}/i20-resume/stale`, target: `${dst.host}/i20-resume/stale`, tags: 'v1', chunkSize: '1MiB' }), { client, state: new MirrorState(client, { file }), logger: quiet() });
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.equal(s.bytes, 3 * 1024 * 1024 + img.config.size, 'the whole layer went up again');
    assert.deepEqual(file.sessions(), []);
    const orphanStatus = await fetch(orphan);
    await orphanStatus.arrayBuffer();
    assert.equal(orphanStatus.status, 404, 'the orphaned session was cancelled on the target');
  });
});

describe('remembered mounts', () => {
  test('a layer copied into one target repository is mounted into another by the next process, from the state file', async () => {
    const c = setup();
    const img = await pushTinyImage(c, { registry: src.host, repository: 'i20-mounts/base' }, 'v1', 512 * 1024);
    const file = join(dir, 'mounts-state.json');
    const first = new RegistryClient();
    const a = await runTask(task({ source: `${src.host}/i20-mounts/base`, target: `${dst.host}/i20-mounts/a`, tags: 'v1' }), { client: first, state: new MirrorState(first, { file: await MirrorStateFile.open(file) }), logger: quiet() });
    assert.equal(a.blobs.uploaded, 2);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { blobs: Record<string, Record<string, string[]>> };
    assert.deepEqual(saved.blobs[dst.host]![img.layer.digest], ['i20-mounts/a']);

    const second = new RegistryClient();
    const b = await runTask(task({ source: `${src.host}/i20-mounts/base`, target: `${dst.host}/i20-mounts/b`, tags: 'v1' }), { client: second, state: new MirrorState(second, { file: await MirrorStateFile.open(file) }), logger: quiet() });
    assert.equal(b.failed, 0);
    assert.deepEqual(b.blobs, { present: 0, mounted: 2, uploaded: 0 });
    assert.equal(b.bytes, 0);
    assert.equal((await c.headManifest({ registry: dst.host, repository: 'i20-mounts/b' }, 'v1'))?.digest, img.digest);
  });

  test('a state file that is not one is set aside with a warning, not an error', async () => {
    const file = join(dir, 'broken-state.json');
    writeFileSync(file, '{"version": 7}');
    const warnings: string[] = [];
    const state = await MirrorStateFile.open(file, (m) => warnings.push(m));
    assert.deepEqual(state.sessions(), []);
    assert.match(warnings[0]!, /not a mirror state file \(version 1\); starting with an empty one/);
  });
});

describe('referrers', () => {
  test('fallback tag and cosign tags are copied with the image, as referrers; referrers: false leaves them', async () => {
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-ref/signed' };
    const img = await pushTinyImage(c, repo, '1.0');
    const sig = await pushArtifact(c, repo, img, 'application/vnd.example.signature');
    const sbom = await pushArtifact(c, repo, img, 'application/spdx+json');
    const stem = img.digest.replace(':', '-');
    const fallback = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [sig, sbom] }));
    await c.putManifest(repo, stem, fallback, 'application/vnd.oci.image.index.v1+json');
    const cosign = await pushArtifact(c, repo, img, 'application/vnd.dev.cosign.artifact.sig.v1+json', `${stem}.sig`);

    const off = await run(task({ source: `${src.host}/i20-ref/signed`, target: `${dst.host}/i20-ref/off`, referrers: false, tags: '1.0' }));
    assert.equal(off.copied, 1);
    assert.deepEqual(await tags(dst.host, 'i20-ref/off'), ['1.0']);

    const s = await run(task({ source: `${src.host}/i20-ref/signed`, target: `${dst.host}/i20-ref/signed` }));
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    // One item: the fallback and cosign tags are not ordinary tags of the selection.
    assert.deepEqual(s.items.map((i) => i.target), [`${dst.host}/i20-ref/signed:1.0`]);
    assert.match(s.items[0]!.note!, /with 2 referrers and 1 cosign tag/);
    const t = { registry: dst.host, repository: 'i20-ref/signed' };
    for (const d of [sig, sbom]) assert.equal((await c.headManifest(t, d.digest))?.digest, d.digest);
    assert.equal((await c.headManifest(t, `${stem}.sig`))?.digest, cosign.digest);
    const index = JSON.parse((await c.getManifest(t, stem)).bytes.toString()) as { manifests: Array<{ digest: string; artifactType?: string }> };
    assert.deepEqual(index.manifests.map((m) => [m.digest, m.artifactType]).sort(), [[sig.digest, sig.artifactType], [sbom.digest, sbom.artifactType]].sort());

    const again = await run(task({ source: `${src.host}/i20-ref/signed`, target: `${dst.host}/i20-ref/signed` }));
    assert.equal(again.skipped, 1);
    assert.equal(again.manifestsPushed, 0, 'nothing pushed when everything is there');
  });

  test("an index's children keep their referrers: per-platform signatures and SBOMs travel with the index, also for a platform subset and once the tag is up to date", async () => {
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-ref/multi' };
    const amd = await pushTinyImage(c, repo, 'amd');
    const arm = await pushTinyImage(c, repo, 'arm');
    const INDEX = 'application/vnd.oci.image.index.v1+json';
    const child = (img: typeof amd, architecture: string) => ({ mediaType: OCI_MANIFEST, digest: img.digest, size: img.size, platform: { os: 'linux', architecture } });
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [child(amd, 'amd64'), child(arm, 'arm64')] }));
    await c.putManifest(repo, 'multi', index, INDEX);
    // An SBOM on the amd64 child through the fallback tag; a cosign signature on the arm64 child.
    const sbom = await pushArtifact(c, repo, amd, 'application/spdx+json');
    await c.putManifest(repo, amd.digest.replace(':', '-'), Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [sbom] })), INDEX);
    const sig = await pushArtifact(c, repo, arm, 'application/vnd.dev.cosign.artifact.sig.v1+json', `${arm.digest.replace(':', '-')}.sig`);

    const s = await run(task({ source: `${src.host}/i20-ref/multi`, target: `${dst.host}/i20-ref/multi`, tags: 'multi' }));
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.match(s.items[0]!.note!, /with 1 referrer and 1 cosign tag/);
    const t = { registry: dst.host, repository: 'i20-ref/multi' };
    assert.equal((await c.headManifest(t, sbom.digest))?.digest, sbom.digest);
    const fallback = JSON.parse((await c.getManifest(t, amd.digest.replace(':', '-'))).bytes.toString()) as { manifests: Array<{ digest: string }> };
    assert.deepEqual(fallback.manifests.map((m) => m.digest), [sbom.digest]);
    assert.equal((await c.headManifest(t, `${arm.digest.replace(':', '-')}.sig`))?.digest, sig.digest);

    // Attached after the copy: the next run (the tag itself up to date) finds it through the target's index.
    const late = await pushArtifact(c, repo, arm, 'application/vnd.example.attestation');
    await c.putManifest(repo, arm.digest.replace(':', '-'), Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [late] })), INDEX);
    const again = await run(task({ source: `${src.host}/i20-ref/multi`, target: `${dst.host}/i20-ref/multi`, tags: 'multi' }));
    assert.equal(again.skipped, 1, JSON.stringify(again.items));
    assert.equal((await c.headManifest(t, late.digest))?.digest, late.digest, 'the late attestation was copied');

    // A platform subset is a new index without referrers of its own; the child it keeps keeps its SBOM.
    const sub = await run(task({ source: `${src.host}/i20-ref/multi`, target: `${dst.host}/i20-ref/amd-only`, tags: 'multi', platforms: ['linux/amd64'] }));
    assert.equal(sub.failed, 0, JSON.stringify(sub.items));
    const st = { registry: dst.host, repository: 'i20-ref/amd-only' };
    assert.equal((await c.headManifest(st, sbom.digest))?.digest, sbom.digest);
    assert.equal(await c.headManifest(st, `${arm.digest.replace(':', '-')}.sig`), null, 'the arm64 signature stays behind with its platform');
  });

  test('through the referrers API of the source (a front speaking OCI 1.1 referrers before a real registry)', async () => {
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-ref/api' };
    const img = await pushTinyImage(c, repo, '1.0');
    const att = await pushArtifact(c, repo, img, 'application/vnd.in-toto+json');
    const asked: string[] = [];
    // OCI distribution spec 1.1, "Listing Referrers": GET /v2/<name>/referrers/<digest> answers an image index.
    const front = await startRegistryFront(src.host, {
      route: (req, res) => {
        const m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})/.exec(req.url ?? '');
        if (!m) return false;
        asked.push(m[2]!);
        const manifests = m[1] === repo.repository && m[2] === img.digest ? [att] : [];
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
        return true;
      },
    });
    fronts.push(front);
    const s = await run(task({ source: `${front.host}/i20-ref/api`, target: `${dst.host}/i20-ref/api`, tags: '1.0' }));
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.ok(asked.includes(img.digest));
    const t = { registry: dst.host, repository: 'i20-ref/api' };
    assert.equal((await c.headManifest(t, att.digest))?.digest, att.digest);
    // The target (distribution) has no referrers API: the fallback tag lists the attestation.
    const index = JSON.parse((await c.getManifest(t, img.digest.replace(':', '-'))).bytes.toString()) as { manifests: Array<{ digest: string }> };
    assert.deepEqual(index.manifests.map((m) => m.digest), [att.digest]);
  });
});

describe('errors', () => {
  test('a child missing from the source reads repo@sha256:… and names the tag', async () => {
    const c = setup();
    const repo = { registry: src.host, repository: 'i20-err/index' };
    const child = await pushTinyImage(c, repo, 'child');
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.size, platform: { os: 'linux', architecture: 'amd64' } }] }));
    await c.putManifest(repo, 'multi', index, 'application/vnd.oci.image.index.v1+json');
    await c.deleteManifest(repo, child.digest);
    const s = await run(task({ source: `${src.host}/i20-err/index`, target: `${dst.host}/i20-err/index`, tags: 'multi', referrers: false }));
    assert.equal(s.failed, 1);
    assert.equal(s.items[0]!.error, `${src.host}/i20-err/index@${child.digest}: missing on the source, though the index of ${src.host}/i20-err/index:multi lists it for linux/amd64 (HTTP 404)`);
  });
});
