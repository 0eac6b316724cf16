/**
 * S3 targets. Amazon S3 and Cloudflare R2 cannot be reached from here: a local S3 server (the
 * `s3rver` package, which speaks the S3 REST API and checks SigV4 signatures) stands in for S3,
 * reached through AWS_ENDPOINT_URL as R2 or any S3-compatible store would be. The mirror writes
 * the static registry layout into it with the AWS SDK's S3 client; then a small static HTTP front
 * serves what the bucket holds (objects by key, their Content-Type, and the digest metadata as
 * Docker-Content-Digest: what a bucket's public URL does with the README's rewrite rules) and the
 * real Docker engine pulls through it. The digests must match the source's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import S3rver from 's3rver';
import { GetObjectCommand, HeadObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { RegistryClient } from '../../src/registry/client.js';
import { pushTinyImage, sha256 } from '../helpers/tiny-images.js';
import { createLogger } from '../../src/util/logger.js';
import { createMirrorRuntime, parseMirrorConfig, runTask } from '../../src/mirror/index.js';
import { run } from '../helpers/registry-images.js';
import { pushMultiPlatform, startRegistry, type MultiPlatformImage, type TestRegistry } from '../helpers/mirror-registries.js';

const BUCKET = 'i20-mirror';
// s3rver's built-in account (lib/models/account.js): it verifies signatures made with these.
const KEYS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
const quiet = () => createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });

let dir: string;
let s3: S3rver;
let endpoint: string;
let src: TestRegistry;
let front: Server;
let frontHost: string;
let web: MultiPlatformImage;
let sdk: S3Client;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'i20-s3-'));
  s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET, configs: [] }] });
  const address = await s3.run() as AddressInfo;
  endpoint = `http://127.0.0.1:${address.port}`;
  sdk = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: KEYS.AWS_ACCESS_KEY_ID, secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY } });
  src = await startRegistry();
  web = await pushMultiPlatform(src, 'i20-s3/web', '1.0', `i20s3${process.pid.toString(36)}${Date.now().toString(36)}`);

  // The static front: /v2/ answers 200; everything under it is the object of the same key below the prefix.
  front = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/v2/' || path === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const key = `mirror${decodeURIComponent(path)}`;
    sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })).then(async (out) => {
      const headers: Record<string, string> = { 'content-type': out.ContentType ?? 'application/octet-stream', 'content-length': String(out.ContentLength ?? 0) };
      const digest = out.Metadata?.['docker-content-digest'];
      if (digest) headers['docker-content-digest'] = digest;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') {
        res.end();
        await out.Body?.transformToByteArray();
        return;
      }
      res.end(Buffer.from(await out.Body!.transformToByteArray()));
    }, () => res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'));
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  frontHost = `127.0.0.1:${(front.address() as AddressInfo).port}`;
});

after(async () => {
  front?.closeAllConnections();
  await new Promise((r) => (front ? front.close(r) : r(undefined)));
  await s3?.close();
  await src?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A front in front of s3rver, for the multipart tests: notes each request in `seen` (create, part N,
 * complete, abort, or its method) and passes it through, unless `handle` answers it (returns true).
 */
async function s3Front(handle?: (req: IncomingMessage, res: ServerResponse, seen: string[], forward: () => void) => boolean) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const forward = () => {
      const up = httpRequest(`${endpoint}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    };
    if (handle?.(req, res, seen, forward)) return;
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    seen.push(q.has('uploads') ? 'create' : q.has('partNumber') ? `part ${q.get('partNumber')}` : q.has('uploadId') ? (req.method === 'DELETE' ? 'abort' : 'complete') : `${req.method}`);
    forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    seen,
    env: { ...KEYS, AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

test('target: s3://bucket/prefix writes the registry layout; docker pulls it through a static front with the same digests', async () => {
  const config = parseMirrorConfig(`
tasks:
  - name: to-s3
    source: ${src.host}
    target: s3://${BUCKET}/mirror
    images: [{ from: i20-s3/web, tags: ['1.0'] }]
`, 'mirror.yaml');
  const env = { ...KEYS, AWS_ENDPOINT_URL: endpoint };
  const { client, state } = createMirrorRuntime(config, { env, logger: quiet() });
  const s = await runTask(config.tasks[0]!, { client, state, logger: quiet() });
  assert.equal(s.failed, 0, JSON.stringify(s.items));
  assert.equal(s.copied, 1);
  assert.equal(s.items[0]!.target, `s3://${BUCKET}/mirror/i20-s3/web:1.0`);
  assert.equal(s.items[0]!.targetDigest, web.indexDigest);

  const tag = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'mirror/v2/i20-s3/web/manifests/1.0' }));
  assert.equal(tag.ContentType, 'application/vnd.oci.image.index.v1+json');
  assert.equal(tag.Metadata?.['docker-content-digest'], web.indexDigest);
  const byDigest = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `mirror/v2/i20-s3/web/manifests/${web.indexDigest}` }));
  assert.equal(byDigest.Metadata?.['docker-content-digest'], web.indexDigest);
  const list = JSON.parse(await (await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mirror/v2/i20-s3/web/tags/list' }))).Body!.transformToString()) as unknown;
  assert.deepEqual(list, { name: 'i20-s3/web', tags: ['1.0'] });

  const again = await runTask(config.tasks[0]!, { client, state, logger: quiet() });
  assert.equal(again.skipped, 1, 'a second run finds the digest in the bucket and copies nothing');

  const ref = `${frontHost}/i20-s3/web:1.0`;
  try {
    await run('docker', ['pull', '-q', ref]);
    const digests = JSON.parse(await run('docker', ['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])) as string[];
    assert.ok(digests.includes(`${frontHost}/i20-s3/web@${web.indexDigest}`), digests.join(', '));
    const id = (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref])).trim();
    const config = JSON.parse((await (await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: `mirror/v2/i20-s3/web/blobs/${id}` }))).Body!.transformToString())) as { architecture: string };
    assert.ok(['amd64', 'arm64'].includes(config.architecture), 'the pulled image is the config blob the bucket holds');
  } finally {
    await run('docker', ['rmi', ref]).catch(() => undefined);
  }
});

test('target: r2://<account>/bucket/prefix signs for region auto and writes the same layout (R2 stands in as s3rver behind AWS_ENDPOINT_URL)', async () => {
  const account = 'c0ffee00'.repeat(4);
  const scopes = new Set<string>();
  const r2 = await s3Front((req) => {
    // SigV4's credential scope: <key id>/<date>/<region>/s3/aws4_request.
    const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\/aws4_request/.exec(req.headers.authorization ?? '');
    scopes.add(scope ? scope[1]! : 'unsigned');
    return false;
  });
  try {
    const config = parseMirrorConfig(`
tasks:
  - name: to-r2
    source: ${src.host}
    target: r2://${account}/${BUCKET}/r2
    images: [{ from: i20-s3/web, tags: ['1.0'] }]
`, 'mirror.yaml');
    const { client, state } = createMirrorRuntime(config, { env: r2.env, logger: quiet() });
    const s = await runTask(config.tasks[0]!, { client, state, logger: quiet() });
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.equal(s.items[0]!.target, `r2://${account}/${BUCKET}/r2/i20-s3/web:1.0`);
    const tag = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'r2/v2/i20-s3/web/manifests/1.0' }));
    assert.equal(tag.Metadata?.['docker-content-digest'], web.indexDigest);
    for (const child of Object.values(web.children)) {
      const m = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `r2/v2/i20-s3/web/manifests/${child}` }));
      assert.equal(m.Metadata?.['docker-content-digest'], child);
    }
    assert.deepEqual([...scopes], ['auto'], 'every request signed for R2\'s region');
  } finally {
    r2.close();
  }
});

test('a blob over the multipart threshold goes up in parts (5 GiB on S3; lowered to 8 MiB here, with 5 MiB parts, since s3rver stands in for S3)', async () => {
  const c = new RegistryClient();
  const repo = { registry: src.host, repository: 'i20-s3/big' };
  const img = await pushTinyImage(c, repo, '1.0', 12 * 1024 * 1024);
  const config = parseMirrorConfig(`
tasks:
  - name: to-s3-big
    source: ${src.host}
    target: s3://${BUCKET}/mirror
    images: [{ from: i20-s3/big, tags: ['1.0'] }]
`, 'mirror.yaml');
  // A pass-through in front of s3rver that notes each request, to see the multipart calls go by.
  const front = await s3Front();
  const { seen, env } = front;
  const { client, state } = createMirrorRuntime(config, { env, logger: quiet(), s3Multipart: { threshold: 8 * 1024 * 1024, partSize: 5 * 1024 * 1024 } });
  const s = await runTask(config.tasks[0]!, { client, state, logger: quiet() }).finally(front.close);
  assert.equal(s.failed, 0, JSON.stringify(s.items));
  assert.equal(s.items[0]!.targetDigest, img.digest);
  const key = `mirror/v2/i20-s3/big/blobs/${img.layer.digest}`;
  const head = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  assert.equal(head.ContentLength, 12 * 1024 * 1024);
  assert.equal(head.Metadata?.['docker-content-digest'], img.layer.digest);
  // 12 MiB in 5 MiB parts: 5 + 5 + 2; the small config and the manifests are single PUTs.
  assert.deepEqual(seen.filter((r) => r === 'create' || r.startsWith('part') || r === 'complete'), ['create', 'part 1', 'part 2', 'part 3', 'complete']);
  const body = await (await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray();
  assert.equal(sha256(Buffer.from(body)), img.layer.digest, 'the parts join into the layer');
  const configHead = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `mirror/v2/i20-s3/big/blobs/${img.config.digest}` }));
  assert.equal(configHead.ContentLength, img.config.size);
});

test('a blob over the copy limit is mounted into another repository of the bucket with UploadPartCopy, never CopyObject (5 GiB on S3; 8 MiB here, with 5 MiB parts)', async () => {
  const c = new RegistryClient();
  const repo = { registry: src.host, repository: 'i20-s3/huge' };
  const img = await pushTinyImage(c, repo, '1.0', 12 * 1024 * 1024);
  const config = parseMirrorConfig(`
tasks:
  - name: to-s3-repo-a
    source: ${src.host}
    target: s3://${BUCKET}/mirror
    images: [{ from: i20-s3/huge, to: i20-s3/huge-a, tags: ['1.0'] }]
  - name: to-s3-repo-b
    source: ${src.host}
    target: s3://${BUCKET}/mirror
    images: [{ from: i20-s3/huge, to: i20-s3/huge-b, tags: ['1.0'] }]
`, 'mirror.yaml');
  // A fault-free fixture in front of s3rver. s3rver has no UploadPartCopy (it answers NotImplemented),
  // so this front implements it as S3 documents it (PUT ?partNumber&uploadId with x-amz-copy-source
  // and x-amz-copy-source-range: bytes=first-last; the answer is a CopyPartResult with the part's
  // ETag), by reading the range from s3rver and uploading it as that part. It refuses a CopyObject of
  // a source over the lowered limit with S3's own InvalidRequest, as S3 does above 5 GiB.
  const LIMIT = 8 * 1024 * 1024;
  const front = await s3Front((req, res, seen, forward) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const copySource = req.headers['x-amz-copy-source'];
    if (typeof copySource !== 'string' || req.method !== 'PUT') return false;
    const fail = (status: number, code: string, message: string) => res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
    const [bucket, ...rest] = decodeURIComponent(copySource.replace(/^\//, '')).split('/');
    const sourceKey = rest.join('/');
    const key = decodeURIComponent(url.pathname.replace(/^\//, '')).split('/').slice(1).join('/');
    if (q.has('partNumber') && q.has('uploadId')) {
      const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers['x-amz-copy-source-range'] ?? ''));
      seen.push(`copy part ${q.get('partNumber')} ${range ? `${range[1]}-${range[2]}` : 'no range'}`);
      if (!range) {
        fail(400, 'InvalidArgument', 'x-amz-copy-source-range must be bytes=first-last');
        return true;
      }
      sdk.send(new GetObjectCommand({ Bucket: bucket, Key: sourceKey, Range: `bytes=${range[1]}-${range[2]}` }))
        .then(async (got) => Buffer.from(await got.Body!.transformToByteArray()))
        .then((bytes) => sdk.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: q.get('uploadId')!, PartNumber: Number(q.get('partNumber')), Body: bytes, ContentLength: bytes.length })))
        .then((up) => res.writeHead(200, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><CopyPartResult><LastModified>${new Date().toISOString()}</LastModified><ETag>${up.ETag}</ETag></CopyPartResult>`))
        .catch((err: Error) => fail(404, 'NoSuchKey', err.message));
      return true;
    }
    seen.push('copy object');
    sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: sourceKey })).then((head) => {
      if ((head.ContentLength ?? 0) > LIMIT) fail(400, 'InvalidRequest', `The specified copy source is larger than the maximum allowable size for a copy source: ${LIMIT}`);
      else forward();
    }, forward);
    return true;
  });
  const { seen, env } = front;
  const { client, state } = createMirrorRuntime(config, { env, logger: quiet(), s3Multipart: { threshold: LIMIT, partSize: 5 * 1024 * 1024 } });
  const [a, b] = await (async () => [
    await runTask(config.tasks[0]!, { client, state, logger: quiet() }),
    await runTask(config.tasks[1]!, { client, state, logger: quiet() }),
  ])().finally(front.close);
  assert.equal(a.failed + b.failed, 0, JSON.stringify([a.items, b.items]));
  assert.deepEqual([a.items[0]!.targetDigest, b.items[0]!.targetDigest], [img.digest, img.digest]);
  // The first repository got the layer uploaded in parts; the second had it copied inside the bucket,
  // range by range, and its small config blob with one CopyObject.
  assert.deepEqual(seen.filter((r) => r.startsWith('copy part')), ['copy part 1 0-5242879', 'copy part 2 5242880-10485759', 'copy part 3 10485760-12582911']);
  assert.equal(seen.filter((r) => r === 'copy object').length, 1);
  assert.equal(seen.filter((r) => r === 'create').length, 2, 'one multipart upload for the upload, one for the copy');
  assert.equal(seen.filter((r) => r === 'abort').length, 0);
  const key = `mirror/v2/i20-s3/huge-b/blobs/${img.layer.digest}`;
  const head = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  assert.equal(head.ContentLength, 12 * 1024 * 1024);
  assert.equal(head.ContentType, 'application/octet-stream');
  assert.equal(head.Metadata?.['docker-content-digest'], img.layer.digest);
  const body = await (await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray();
  assert.equal(sha256(Buffer.from(body)), img.layer.digest, 'the copied parts join into the layer');
  const configHead = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `mirror/v2/i20-s3/huge-b/blobs/${img.config.digest}` }));
  assert.equal(configHead.ContentLength, img.config.size);
});

test('a bad bucket or source is one line naming the field', () => {
  assert.throws(() => parseMirrorConfig('tasks: [{ source: ghcr.io/o, target: s3://Bad_Bucket/x, images: [{ from: a }] }]', 'm.yaml'), /^Error: m\.yaml: tasks\[0\]\.target: "s3:\/\/Bad_Bucket\/x": "Bad_Bucket" is not a bucket name|m\.yaml: tasks\[0\]\.target: "s3:\/\/Bad_Bucket\/x": "Bad_Bucket" is not a bucket name/);
  assert.throws(() => parseMirrorConfig('tasks: [{ source: s3://bucket/x, target: ghcr.io/o, images: [{ from: a }] }]', 'm.yaml'), /m\.yaml: tasks\[0\]\.source: an S3\/R2 bucket can be a target only/);
  assert.throws(() => parseMirrorConfig('tasks: [{ source: ghcr.io/o, target: r2://nothex/bucket/x, images: [{ from: a }] }]', 'm.yaml'), /tasks\[0\]\.target: "r2:\/\/nothex\/bucket\/x": write r2:\/\/<account id>\/<bucket>\/<prefix>/);
});
