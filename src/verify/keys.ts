/**
 * Public keys for key-based cosign verification: PEM (SPKI, as `cosign generate-key-pair` writes cosign.pub)
 * from a file or from `env:VAR`. ECDSA P-256/P-384, Ed25519 and RSA; anything else is refused with one line.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError, errorMessage } from '../util/errors.js';

export interface TrustedKey {
  key: KeyObject;
  /** `cosign.pub` or `env:COSIGN_PUBLIC_KEY`: names the source, never the key material. */
  name: string;
  /** sha256 of the SPKI DER: identifies the key in the verified-digest cache. */
  id: string;
}

export async function loadKey(source: string, env: Record<string, string | undefined>, where: string): Promise<TrustedKey> {
  let pem: string;
  if (source.startsWith('env:')) {
    const name = source.slice(4);
    const value = env[name];
    if (!value) throw new ConfigError(`${where}: ${source}: the variable ${name} is not set; export the PEM public key in it`);
    pem = value;
  } else {
    pem = await readFile(source, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(`${where}: cannot read key file ${source} (${err.code ?? errorMessage(err)}); fix the path`);
    });
  }
  return parseKey(pem, source, where);
}

/** Pure: PEM text -> a checked key. */
export function parseKey(pem: string, name: string, where: string): TrustedKey {
  if (/PRIVATE KEY/.test(pem)) throw new ConfigError(`${where}: ${name} is a private key; give the public key (cosign.pub)`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new ConfigError(`${where}: ${name} is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----")`);
  }
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const supported = type === 'ed25519' || type === 'rsa' || (type === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1'));
  if (!supported) throw new ConfigError(`${where}: ${name} is a ${type}${curve ? ` ${curve}` : ''} key; use ECDSA P-256/P-384, Ed25519 or RSA`);
  const der = key.export({ type: 'spki', format: 'der' });
  return { key, name, id: createHash('sha256').update(der).digest('hex') };
}
