/**
 * The simple-signing payload cosign signs (containers/image "atomic container signature" format, as cosign
 * writes it: https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md#payload). Pure.
 */
import { parseImageReference } from '../reference/index.js';

export interface SigningClaims {
  digest: string;
  reference: string;
}

/** The claims, or why the bytes are not a cosign payload. */
export function parsePayload(bytes: Buffer): SigningClaims | { invalid: string } {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { invalid: 'the signed payload is not JSON' };
  }
  const critical = (json as { critical?: { identity?: { 'docker-reference'?: unknown }; image?: { 'docker-manifest-digest'?: unknown }; type?: unknown } })?.critical;
  const digest = critical?.image?.['docker-manifest-digest'];
  const reference = critical?.identity?.['docker-reference'];
  if (typeof digest !== 'string' || typeof reference !== 'string') return { invalid: 'the signed payload has no critical.image.docker-manifest-digest or critical.identity.docker-reference' };
  // cosign writes "cosign container image signature"; containers/image writes "atomic container signature".
  if (critical?.type !== 'cosign container image signature' && critical?.type !== 'atomic container signature') return { invalid: `the signed payload's type is ${JSON.stringify(critical?.type)}` };
  return { digest, reference };
}

/** `docker.io/library/nginx`, `ghcr.io/org/app`: the repository a reference names, normalised (tag/digest dropped). */
export function repositoryOf(reference: string): string | undefined {
  try {
    const ref = parseImageReference(reference);
    return `${ref.registry}/${ref.repository}`;
  } catch {
    return undefined;
  }
}

/**
 * Why the claims do not fit the image to deploy, or undefined when they do. `repository` is where the image is
 * pulled from; `aliases` are other repositories a signature may name (where a mirrored image was signed).
 */
export function claimsMismatch(claims: SigningClaims, digest: string, repository: string, aliases: string[]): string | undefined {
  if (claims.digest !== digest) return `its payload signs ${claims.digest.slice(0, 19)}…, not this digest`;
  const named = repositoryOf(claims.reference);
  const allowed = new Set([repository, ...aliases.map((a) => repositoryOf(a) ?? a)]);
  if (named !== undefined && allowed.has(named)) return undefined;
  return `its payload names ${claims.reference}, not ${repository}${aliases.length ? ` or an alias` : ''} (add it to reference_aliases if it is a mirror's origin)`;
}
