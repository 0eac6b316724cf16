/**
 * Verifies the cosign signatures of one digest against the settings that apply, with a cache of verified digests
 * that outlives cycles (a digest's content never changes, so a verified one stays verified for the same trust).
 * A refusal is remembered briefly only (a signature may be pushed after the image), and concurrent checks of one
 * digest share one lookup.
 */
import { createHash } from 'node:crypto';
import type { TrustMaterial } from '@sigstore/verify';
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryRef } from '../registry/types.js';
import { findSignatures } from './discover.js';
import { loadKey, type TrustedKey } from './keys.js';
import { loadTrustedRoot, keylessMismatch } from './keyless.js';
import { claimsMismatch, parsePayload } from './payload.js';
import { signingKey } from './signature.js';
import type { VerifySettings } from './settings.js';
import { ANNOTATION_CERTIFICATE } from './discover.js';

export type Verdict = { ok: true; by: string } | { ok: false; why: string };

export interface VerifierOptions {
  env?: Record<string, string | undefined>;
  now?: () => number;
}

/** Entries kept; the oldest go first. 10,000 digests is ~1 MB. */
const MAX_ENTRIES = 10_000;
/** How long a refusal is reused (the rest of a cycle; the next cycle looks again). */
const REFUSAL_TTL_MS = 60_000;
/** Key files and trusted roots are re-read this often, so a rotated key is used without a restart. */
const TRUST_TTL_MS = 60_000;

export class DigestVerifier {
  private readonly results = new Map<string, { verdict: Promise<Verdict>; at: number }>();
  private readonly keys = new Map<string, { key: Promise<TrustedKey>; at: number }>();
  private readonly roots = new Map<string, { root: Promise<TrustMaterial>; at: number }>();
  /** Signature lookups made (one per digest actually looked up): for tests and the bench. */
  lookups = 0;

  constructor(private readonly opts: VerifierOptions = {}) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  async verify(client: RegistryClient, repo: RepositoryRef, digest: string, settings: VerifySettings): Promise<Verdict> {
    const keys = await Promise.all(settings.keys.map((k) => this.key(k, settings.source)));
    const root = settings.keyless ? await this.root(settings.keyless.trustedRoot, `${settings.source}.cosign.keyless.trusted_root`) : undefined;
    const cacheKey = `${repo.registry}/${repo.repository}@${digest}#${trustFingerprint(settings, keys)}`;
    const cached = this.results.get(cacheKey);
    if (cached) {
      // A lookup still running is shared, its failure too.
      const verdict = await cached.verdict;
      if (verdict.ok || this.now() - cached.at < REFUSAL_TTL_MS) return verdict;
    }
    const verdict = this.lookup(client, repo, digest, settings, keys, root);
    this.remember(cacheKey, verdict);
    return verdict;
  }

  private remember(key: string, verdict: Promise<Verdict>): void {
    this.results.delete(key);
    this.results.set(key, { verdict, at: this.now() });
    // A failed lookup (registry down) is not remembered: the next call asks again.
    verdict.catch(() => this.results.delete(key));
    while (this.results.size > MAX_ENTRIES) this.results.delete(this.results.keys().next().value!);
  }

  private async lookup(client: RegistryClient, repo: RepositoryRef, digest: string, settings: VerifySettings, keys: TrustedKey[], root: TrustMaterial | undefined): Promise<Verdict> {
    this.lookups++;
    const layers = await findSignatures(client, repo, digest);
    if (layers.length === 0) return { ok: false, why: 'no signature' };
    const reasons: string[] = [];
    const repository = `${repo.registry}/${repo.repository}`;
    for (const layer of layers) {
      let by: string | undefined;
      const key = signingKey(layer.payload, layer.signature, keys);
      if (key) by = `key ${key.name}`;
      else if (root && settings.keyless && layer.annotations[ANNOTATION_CERTIFICATE]) {
        const refused = keylessMismatch(layer, root, settings.keyless.identities);
        if (refused) { reasons.push(refused); continue; }
        by = 'a keyless certificate';
      }
      if (!by) { reasons.push(layer.annotations[ANNOTATION_CERTIFICATE] && !settings.keyless ? 'signed keylessly, but no keyless identities are configured' : 'signed by an unknown key'); continue; }
      // The signature is genuine: now the payload must be about this very image.
      const claims = parsePayload(layer.payload);
      if ('invalid' in claims) { reasons.push(claims.invalid); continue; }
      const mismatch = claimsMismatch(claims, digest, repository, settings.aliases);
      if (mismatch) { reasons.push(`signed by ${by}, but ${mismatch}`); continue; }
      return { ok: true, by };
    }
    return { ok: false, why: [...new Set(reasons)].join('; ') };
  }

  private key(source: string, where: string): Promise<TrustedKey> {
    const hit = this.keys.get(source);
    if (hit && this.now() - hit.at < TRUST_TTL_MS) return hit.key;
    const key = loadKey(source, this.opts.env ?? process.env, `${where}.cosign.keys`);
    this.keys.set(source, { key, at: this.now() });
    key.catch(() => this.keys.delete(source));
    return key;
  }

  private root(path: string, where: string): Promise<TrustMaterial> {
    const hit = this.roots.get(path);
    if (hit && this.now() - hit.at < TRUST_TTL_MS) return hit.root;
    const root = loadTrustedRoot(path, where);
    this.roots.set(path, { root, at: this.now() });
    root.catch(() => this.roots.delete(path));
    return root;
  }
}

/** What the trust consists of: another key, identity, root or alias set is another cache entry. */
function trustFingerprint(settings: VerifySettings, keys: TrustedKey[]): string {
  const identities = settings.keyless?.identities.map((i) => i.describe) ?? [];
  return createHash('sha256').update(JSON.stringify([keys.map((k) => k.id).sort(), settings.keyless?.trustedRoot, identities, [...settings.aliases].sort()])).digest('hex').slice(0, 16);
}

let shared: DigestVerifier | undefined;

/** The process's verifier: its cache serves every cycle of a daemon. */
export function sharedVerifier(): DigestVerifier {
  return (shared ??= new DigestVerifier());
}
