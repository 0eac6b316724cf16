import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { blobsOf, parseManifest, parsePlatform, platformMatches, subsetIndex } from '../../../src/mirror/manifest.js';
import { VerifyingStream, chunksOf, digestOf } from '../../../src/registry/upload.js';
import { RegistryError } from '../../../src/util/errors.js';

const d = (n: number) => `sha256:${String(n).padStart(64, '0')}`;
const INDEX = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(1), size: 10, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(2), size: 10, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(3), size: 10, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(4), size: 10, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d(1) } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(5), size: 10, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d(2) } },
  ],
  annotations: { 'org.opencontainers.image.source': 'x' },
};
const indexBytes = Buffer.from(JSON.stringify(INDEX, null, 3));

describe('platform subsets of an index', () => {
  const cases: Array<[string[], string[]]> = [
    [['linux/amd64'], [d(1), d(4)]],
    [['linux/arm64'], [d(2), d(5)]],
    [['linux/arm64/v8', 'linux/arm/v7'], [d(2), d(3), d(5)]],
    [['linux/arm'], [d(3)]],
    [['linux/arm/v6'], []],
    [['windows/amd64'], []],
  ];
  for (const [platforms, kept] of cases) {
    test(`${platforms.join(',')} keeps ${kept.length} children (attestations follow their image)`, () => {
      const s = subsetIndex(indexBytes, platforms.map((p) => parsePlatform(p, 't')));
      assert.deepEqual(s.kept.map((k) => k.digest), kept);
      assert.equal(s.dropped.length, 5 - kept.length);
      assert.equal(s.complete, false);
      const doc = JSON.parse(s.bytes.toString()) as typeof INDEX;
      assert.deepEqual(doc.manifests.map((m) => m.digest), kept);
      // Everything but the list is the source's, in the same order.
      assert.deepEqual(Object.keys(doc), Object.keys(INDEX));
      assert.deepEqual(doc.annotations, INDEX.annotations);
    });
  }

  test('every platform chosen: complete (the source bytes are pushed), and the result is deterministic', () => {
    const all = ['linux/amd64', 'linux/arm64', 'linux/arm'].map((p) => parsePlatform(p, 't'));
    const s = subsetIndex(indexBytes, all);
    assert.equal(s.complete, true);
    assert.equal(digestOf(subsetIndex(indexBytes, [all[0]!]).bytes), digestOf(subsetIndex(Buffer.from(JSON.stringify(INDEX)), [all[0]!]).bytes));
  });

  test('platform matching', () => {
    assert.equal(platformMatches(parsePlatform('LINUX/AMD64', 't'), { os: 'linux', architecture: 'amd64' }), true);
    assert.equal(platformMatches(parsePlatform('linux/arm64/v8', 't'), { os: 'linux', architecture: 'arm64' }), false);
    assert.equal(platformMatches(parsePlatform('linux/arm64', 't'), undefined), false);
    assert.throws(() => parsePlatform('linux', 'x.platforms'), /x\.platforms: "linux" is not a platform/);
  });
});

describe('manifest parsing', () => {
  test('image manifests: config and layers, foreign layers left out', () => {
    const m = parseManifest(Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d(9), size: 5 },
      layers: [
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d(7), size: 100 },
        { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d(8), size: 100, urls: ['https://x'] },
      ],
    })), '', 'w');
    assert.equal(m.kind, 'image');
    assert.deepEqual(blobsOf(m as Extract<typeof m, { kind: 'image' }>).map((b) => b.digest), [d(9), d(7)]);
  });

  test('the Content-Type decides when the manifest has no mediaType; indexes are recognised', () => {
    const noType = { schemaVersion: 2, manifests: INDEX.manifests };
    assert.equal(parseManifest(Buffer.from(JSON.stringify(noType)), 'application/vnd.oci.image.index.v1+json', 'w').kind, 'index');
    assert.equal(parseManifest(Buffer.from(JSON.stringify(noType)), '', 'w').kind, 'index');
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', '{', /w: the manifest is not JSON/],
    ['schema 1', JSON.stringify({ schemaVersion: 1, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }), /unsupported manifest type/],
    ['index without digests', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ size: 1 }] }), /not a valid image index \(manifests\.0\.digest/],
  ];
  for (const [name, text, message] of bad) {
    test(`rejects ${name}`, () => assert.throws(() => parseManifest(Buffer.from(text), '', 'w'), (e: unknown) => e instanceof RegistryError && message.test(e.message)));
  }
});

describe('streaming verification', () => {
  const data = Buffer.from('x'.repeat(100_000) + 'tail');
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const pieces = (buf: Buffer, n: number) => Readable.from(Array.from({ length: Math.ceil(buf.length / n) }, (_, i) => buf.subarray(i * n, (i + 1) * n)));

  async function drain(s: NodeJS.ReadableStream): Promise<Buffer> {
    const out: Buffer[] = [];
    for await (const c of s) out.push(c as Buffer);
    return Buffer.concat(out);
  }

  test('passes the right bytes through unchanged', async () => {
    const v = new VerifyingStream(digest, data.length, 'w');
    const got = await drain(pieces(data, 4096).pipe(v));
    assert.deepEqual(got, data);
    assert.equal(v.bytesSeen, data.length);
  });

  const wrong: Array<[string, Buffer, number | undefined, RegExp]> = [
    ['a changed byte', Buffer.concat([data.subarray(0, 50), Buffer.from('y'), data.subarray(51)]), data.length, /hash to sha256:[0-9a-f]{64}, not sha256:/],
    ['a short body', data.subarray(0, 5000), data.length, /sent 5000 bytes, its manifest declares 100004/],
    ['a long body', Buffer.concat([data, Buffer.from('!')]), data.length, /more than the 100004 bytes/],
  ];
  for (const [name, body, size, message] of wrong) {
    test(`fails on ${name}, before the last bytes are passed on`, async () => {
      const v = new VerifyingStream(digest, size, 'w');
      const passed: Buffer[] = [];
      v.on('data', (c: Buffer) => passed.push(c));
      await assert.rejects(new Promise((resolve, reject) => {
        v.on('error', reject).on('end', resolve);
        pieces(body, 4096).pipe(v);
      }), message);
      assert.ok(Buffer.concat(passed).length < body.length);
    });
  }

  test('chunks of exactly the size asked, the last one shorter', async () => {
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const c of chunksOf(pieces(data, 777), 10_000)) {
      sizes.push(c.length);
      parts.push(c);
    }
    assert.deepEqual(sizes, [...Array(10).fill(10_000), 4]);
    assert.deepEqual(Buffer.concat(parts), data);
  });
});
