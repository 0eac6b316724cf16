/**
 * Key-based check of one cosign signature: the base64 signature over the exact payload bytes, by node's crypto.
 * cosign signs with SHA-256 for every key type it loads (sigstore signature.LoadVerifier(key, crypto.SHA256));
 * a P-384 key imported into other tools may use SHA-384, so that is accepted for P-384 as well.
 */
import { constants, verify, type KeyObject } from 'node:crypto';
import type { TrustedKey } from './keys.js';

/** The key that made `signature` over `payload`, or undefined. */
export function signingKey(payload: Buffer, signatureB64: string, keys: TrustedKey[]): TrustedKey | undefined {
  const signature = Buffer.from(signatureB64, 'base64');
  if (signature.length === 0) return undefined;
  return keys.find((k) => verifiesWith(k.key, payload, signature));
}

function verifiesWith(key: KeyObject, payload: Buffer, signature: Buffer): boolean {
  try {
    switch (key.asymmetricKeyType) {
      case 'ed25519': return verify(null, payload, key, signature);
      case 'ec': {
        if (verify('sha256', payload, key, signature)) return true;
        return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' && verify('sha384', payload, key, signature);
      }
      case 'rsa': return verify('sha256', payload, key, signature) || verify('sha256', payload, { key, padding: constants.RSA_PKCS1_PSS_PADDING }, signature);
      default: return false;
    }
  } catch {
    // A malformed signature (bad DER) is simply not a match.
    return false;
  }
}
