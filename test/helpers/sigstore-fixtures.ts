/**
 * Keyless signatures without Fulcio or Rekor (neither is reachable here): a local test CA standing in for Fulcio
 * (openssl issues the leaf certificates, with Fulcio's SAN and OIDC-issuer extension 1.3.6.1.4.1.57264.1.1), a
 * local key standing in for Rekor's (it signs the signed entry timestamp over the documented canonical JSON of
 * body, integratedTime, logID, logIndex), and a trusted_root.json naming both, in the Sigstore format. The
 * signature manifest carries cosign's annotations (SIGNATURE_SPEC.md: signature, certificate, chain, bundle).
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RegistryClient } from '../../src/registry/client.js';
import type { RepositoryRef } from '../../src/registry/types.js';

const openssl = (args: string[]) => promisify(execFile)('openssl', args);

export interface TestCa { dir: string; cert: string; keyFile: string; certFile: string }
export interface TestLog { key: KeyObject; publicDer: Buffer; logId: string }
export interface Identity { subject: string; issuer: string }

export async function makeCa(name: string): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), `i21-ca-${name}-`));
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.pem');
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
  await openssl(['req', '-x509', '-new', '-key', keyFile, '-subj', `/O=i21-test/CN=${name}`, '-days', '2', '-out', certFile,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { dir, cert: await readFile(certFile, 'utf8'), keyFile, certFile };
}

export function makeLog(): TestLog {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicDer = publicKey.export({ type: 'spki', format: 'der' });
  return { key: privateKey, publicDer, logId: createHash('sha256').update(publicDer).digest('hex') };
}

/** A leaf certificate as Fulcio issues them: code signing, the identity as SAN URI, the OIDC issuer as extension. */
export async function issueLeaf(ca: TestCa, who: Identity): Promise<{ cert: string; key: KeyObject }> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyFile = join(ca.dir, `leaf-${Date.now()}-${Math.random()}.key`);
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const ext = join(ca.dir, 'leaf.cnf');
  await writeFile(ext, [
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=codeSigning',
    `subjectAltName=critical,URI:${who.subject}`,
    `1.3.6.1.4.1.57264.1.1=DER:${Buffer.from(who.issuer).toString('hex')}`,
  ].join('\n') + '\n');
  const csr = `${keyFile}.csr`;
  await openssl(['req', '-new', '-key', keyFile, '-subj', '/O=sigstore.dev', '-out', csr]);
  const out = `${keyFile}.pem`;
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', out]);
  return { cert: await readFile(out, 'utf8'), key: privateKey };
}

/** Sigstore trusted_root.json with these CAs (Fulcio's role) and this log (Rekor's). */
export function trustedRoot(cas: TestCa[], log: TestLog): string {
  const der = (pem: string) => createPublicKey(pem) && Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: 'https://rekor.i21.test', hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: log.publicDer.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2020-01-01T00:00:00Z' } }, logId: { keyId: Buffer.from(log.logId, 'hex').toString('base64') } }],
    certificateAuthorities: cas.map((ca) => ({ subject: { organization: 'i21-test', commonName: 'i21' }, uri: 'https://fulcio.i21.test', certChain: { certificates: [{ rawBytes: der(ca.cert) }] }, validFor: { start: '2020-01-01T00:00:00Z' } })),
    ctlogs: [],
    timestampAuthorities: [],
  });
}

/**
 * Signs `digest` of `repo` keylessly and pushes the `.sig` manifest. `setKey` signs the entry timestamp (the
 * log's key unless a test wants a forged one).
 */
export async function signKeyless(repo: RepositoryRef, digest: string, leaf: { cert: string; key: KeyObject }, ca: TestCa, log: TestLog, setKey: KeyObject = log.key): Promise<void> {
  const payload = Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': `${repo.registry}/${repo.repository}` }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null }));
  const signature = sign('sha256', payload, leaf.key).toString('base64');
  const body = Buffer.from(JSON.stringify({
    apiVersion: '0.0.1', kind: 'hashedrekord',
    spec: { data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } }, signature: { content: signature, publicKey: { content: Buffer.from(leaf.cert).toString('base64') } } },
  })).toString('base64');
  const integratedTime = Math.floor(Date.now() / 1000) + 1;
  const logIndex = 42;
  // Rekor's SET: the log key's signature over the canonical JSON (keys sorted) of these four fields.
  const set = sign('sha256', Buffer.from(JSON.stringify({ body, integratedTime, logID: log.logId, logIndex })), setKey).toString('base64');
  const bundle = JSON.stringify({ SignedEntryTimestamp: set, Payload: { body, integratedTime, logIndex, logID: log.logId } });
  const client = new RegistryClient();
  const blob = async (bytes: Buffer) => {
    const d = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await client.pushBlob(repo, d, bytes.length, Readable.from([bytes]));
    return { digest: d, size: bytes.length };
  };
  const config = await blob(Buffer.from('{}'));
  const layer = await blob(payload);
  const manifest = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...layer, annotations: {
      'dev.cosignproject.cosign/signature': signature,
      'dev.sigstore.cosign/certificate': leaf.cert,
      'dev.sigstore.cosign/chain': ca.cert,
      'dev.sigstore.cosign/bundle': bundle,
    } }],
  };
  await client.putManifest(repo, `${digest.replace(':', '-')}.sig`, Buffer.from(JSON.stringify(manifest)), 'application/vnd.oci.image.manifest.v1+json');
}
