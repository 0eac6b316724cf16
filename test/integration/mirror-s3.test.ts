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
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import S3rver from 's3rver';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
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
  const seen: string[] = [];
  const spy = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    seen.push(q.has('uploads') ? 'create' : q.has('partNumber') ? `part ${q.get('partNumber')}` : q.has('uploadId') ? 'complete' : `${req.method}`);
    const up = httpRequest(`${endpoint}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => spy.listen(0, '127.0.0.1', resolve));
  const env = { ...KEYS, AWS_ENDPOINT_URL: `http://127.0.0.1:${(spy.address() as AddressInfo).port}` };
  const { client, state } = createMirrorRuntime(config, { env, logger: quiet(), s3Multipart: { threshold: 8 * 1024 * 1024, partSize: 5 * 1024 * 1024 } });
  const s = await runTask(config.tasks[0]!, { client, state, logger: quiet() }).finally(() => {
    spy.closeAllConnections();
    spy.close();
  });
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

test('a bad bucket or source is one line naming the field', () => {
  assert.throws(() => parseMirrorConfig('tasks: [{ source: ghcr.io/o, target: s3://Bad_Bucket/x, images: [{ from: a }] }]', 'm.yaml'), /^Error: m\.yaml: tasks\[0\]\.target: "s3:\/\/Bad_Bucket\/x": "Bad_Bucket" is not a bucket name|m\.yaml: tasks\[0\]\.target: "s3:\/\/Bad_Bucket\/x": "Bad_Bucket" is not a bucket name/);
  assert.throws(() => parseMirrorConfig('tasks: [{ source: s3://bucket/x, target: ghcr.io/o, images: [{ from: a }] }]', 'm.yaml'), /m\.yaml: tasks\[0\]\.source: an S3\/R2 bucket can be a target only/);
  assert.throws(() => parseMirrorConfig('tasks: [{ source: ghcr.io/o, target: r2://nothex/bucket/x, images: [{ from: a }] }]', 'm.yaml'), /tasks\[0\]\.target: "r2:\/\/nothex\/bucket\/x": write r2:\/\/<account id>\/<bucket>\/<prefix>/);
});
