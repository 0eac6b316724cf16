/**
 * Signatures made by the real cosign (2.5, installed by test/env/install.sh), offline: key pairs from
 * `cosign generate-key-pair`, signatures pushed with --tlog-upload=false to the loopback registries.
 * Also a loopback front for a registry that adds what distribution 2.8 lacks, the OCI 1.1 referrers API
 * (answered from the spec's referrers tag schema, as a registry implementing the API would), and counts requests.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './registry-images.js';
import { RegistryClient } from '../../src/registry/client.js';

const PASSWORD = 'i21-test-password';
const ENV = { ...process.env, COSIGN_PASSWORD: PASSWORD, COSIGN_YES: 'true' };

export interface KeyPair { key: string; pub: string; pem: string }

export async function keyPair(): Promise<KeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'i21-cosign-'));
  await run('cosign', ['generate-key-pair', '--output-key-prefix', join(dir, 'cosign')], { env: ENV });
  const pub = join(dir, 'cosign.pub');
  return { key: join(dir, 'cosign.key'), pub, pem: await readFile(pub, 'utf8') };
}

/** `cosign sign` REPO@DIGEST; `referrers` pushes an OCI 1.1 referrer instead of the `.sig` tag. */
export async function sign(keys: KeyPair, image: string, opts: { referrers?: boolean } = {}): Promise<void> {
  const args = ['sign', '--key', keys.key, '--tlog-upload=false', '--allow-http-registry', '--allow-insecure-registry', '-y'];
  if (opts.referrers) args.push('--registry-referrers-mode=oci-1-1');
  await run('cosign', [...args, image], { env: opts.referrers ? { ...ENV, COSIGN_EXPERIMENTAL: '1' } : ENV });
}

export async function digestOf(registry: string, repository: string, tag: string): Promise<string> {
  return (await new RegistryClient().getDigest({ registry, repository }, tag)).digest;
}

export interface RegistryFront {
  host: string;
  /** Paths requested (method + path, query dropped), in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Forwards everything to `upstream` with the Host header unchanged (so upload Locations name the front), and
 * answers GET /v2/<repo>/referrers/<digest> itself, from the `sha256-<hex>` referrers tag index (OCI distribution
 * spec 1.1, "Listing Referrers": an image index, empty when there are none, filtered by ?artifactType=).
 */
export async function startFront(port: number, upstream: string, opts: { referrersApi: boolean }): Promise<RegistryFront> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://front');
    requests.push(`${req.method} ${url.pathname}`);
    const m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (m && opts.referrersApi && req.method === 'GET') {
      void (async () => {
        const index = await fetch(`http://${upstream}/v2/${m[1]}/manifests/${m[2].replace(':', '-')}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
        const manifests = index.ok ? ((await index.json()) as { manifests?: Array<{ artifactType?: string }> }).manifests ?? [] : [];
        const wanted = url.searchParams.get('artifactType');
        const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: wanted ? manifests.filter((x) => x.artifactType === wanted) : manifests });
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', ...(wanted ? { 'oci-filters-applied': 'artifactType' } : {}) });
        res.end(body);
      })().catch((err: unknown) => { res.writeHead(500); res.end(String(err)); });
      return;
    }
    const [host, p] = upstream.split(':');
    const out = httpRequest({ host, port: Number(p), method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', (err) => { res.writeHead(502); res.end(String(err)); });
    req.pipe(out);
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve); });
  return {
    // Port 0: a free one, so that test files running side by side never meet on one.
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
