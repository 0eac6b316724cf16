/**
 * Keyless (Fulcio certificate + Rekor bundle) checks, by @sigstore/verify: the certificate chain to a CA of the
 * offline trusted_root.json, valid at the Rekor entry's integrated time; the entry's signed timestamp (SET) by a
 * Rekor key of the trusted root; the entry's body matching this signature and certificate; the signature over the
 * payload by the certificate's key. cosign stores these as layer annotations of the `.sig` manifest
 * (SIGNATURE_SPEC.md: dev.sigstore.cosign/certificate, /chain, /bundle); they are re-shaped here into the
 * Sigstore bundle that @sigstore/verify reads (the re-shaping is hand-written: no library converts cosign's
 * legacy annotations).
 *
 * Not checked: certificate transparency SCTs (ctlogThreshold 0), because cosign's legacy signatures verified
 * offline against a private CA carry none; the Rekor inclusion promise is required instead.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type TrustMaterial } from '@sigstore/verify';
import { ConfigError, errorMessage } from '../util/errors.js';
import { matchesGo } from '../policy/goregex.js';
import type { KeylessIdentity } from './settings.js';
import { ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, type SignatureLayer } from './discover.js';

export async function loadTrustedRoot(path: string, where: string): Promise<TrustMaterial> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(`${where}: cannot read trusted_root ${path} (${err.code ?? errorMessage(err)}); fix the path`);
  });
  try {
    return toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(text)));
  } catch (err) {
    throw new ConfigError(`${where}: ${path} is not a Sigstore trusted_root.json (${errorMessage(err)})`);
  }
}

/** Why the layer does not verify keylessly, or undefined when it does for one of the identities. */
export function keylessMismatch(layer: SignatureLayer, trust: TrustMaterial, identities: KeylessIdentity[]): string | undefined {
  const certPem = layer.annotations[ANNOTATION_CERTIFICATE];
  if (!certPem) return 'no certificate (not a keyless signature)';
  const rekor = layer.annotations[ANNOTATION_BUNDLE];
  if (!rekor) return 'keyless signature without a Rekor bundle (signed with --tlog-upload=false?)';
  let bundle;
  try {
    bundle = bundleFromJSON(toSigstoreBundle(layer, certPem, rekor));
  } catch (err) {
    return `unreadable keyless signature (${errorMessage(err)})`;
  }
  let signer;
  try {
    signer = new Verifier(trust, { ctlogThreshold: 0, tlogThreshold: 1 }).verify(toSignedEntity(bundle, layer.payload));
  } catch (err) {
    return `keyless signature refused: ${errorMessage(err)}`;
  }
  const issuer = signer.identity?.extensions?.issuer;
  const subject = signer.identity?.subjectAlternativeName;
  const ok = identities.some((id) => id.issuer === issuer && subject !== undefined
    && (id.subject === undefined || id.subject === subject) && (id.subjectRegexp === undefined || matchesGo(id.subjectRegexp, subject)));
  return ok ? undefined : `signed by ${subject ?? 'no subject'} (issuer ${issuer ?? 'none'}), not an allowed identity`;
}

interface RekorBundle { SignedEntryTimestamp: string; Payload: { body: string; integratedTime: number; logIndex: number; logID: string } }

/** cosign's annotations as a Sigstore bundle v0.1 (the shape cosign's own `--bundle` output maps to). */
function toSigstoreBundle(layer: SignatureLayer, certPem: string, rekorJson: string): unknown {
  const rekor = JSON.parse(rekorJson) as RekorBundle;
  const chain = [certPem, ...splitPem(layer.annotations[ANNOTATION_CHAIN] ?? '')].map((pem) => ({ rawBytes: new X509Certificate(pem).raw.toString('base64') }));
  const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString('utf8')) as { kind?: string; apiVersion?: string };
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      x509CertificateChain: { certificates: chain },
      tlogEntries: [{
        logIndex: String(rekor.Payload.logIndex),
        logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64') },
        kindVersion: { kind: body.kind ?? 'hashedrekord', version: body.apiVersion ?? '0.0.1' },
        integratedTime: String(rekor.Payload.integratedTime),
        inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
        canonicalizedBody: rekor.Payload.body,
      }],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(layer.payload).digest('base64') },
      signature: layer.signature,
    },
  };
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
