/**
 * The hook the planner calls: given the policy's ranked candidates, take the first whose signature verifies
 * (enforce) or report the first's (warn), say why the others were passed over, and check what runs now.
 *
 * Cost: one signature lookup per candidate digest actually considered, best first, stopping at the first
 * verified one (or at the running tag); verified digests are cached across cycles (verifier.ts).
 */
import type { StackService } from '../compose/stack.js';
import type { ConfigFile } from '../config/file.js';
import type { Selection } from '../policy/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { Decision } from '../sync/plan.js';
import type { LocalImage } from '../engine/docker.js';
import { formatReference, type ImageReference } from '../reference/index.js';
import { resolveVerify, type VerifySettings } from './settings.js';
import { repositoryOf } from './payload.js';
import { sharedVerifier, type DigestVerifier, type Verdict } from './verifier.js';

export { resolveVerify, parseVerifySetting, verifySchema } from './settings.js';
export type { VerifySettings } from './settings.js';
export { DigestVerifier, sharedVerifier } from './verifier.js';

/** Candidates looked at before giving up for this cycle (each costs a digest HEAD and a signature lookup). */
const MAX_TRIED = 10;

export interface VerifyContext {
  registry: RegistryClient;
  /** The local image a reference names (the engine's), for the digest it was pulled by. */
  inspectImage: (ref: string) => Promise<LocalImage | undefined>;
  config: ConfigFile;
  configPath?: string;
  /** The `registry.<family>` entry for the image's registry. */
  registryEntry?: { verify?: unknown };
  verifier?: DigestVerifier;
}

export interface SignatureReport {
  mode: 'enforce' | 'warn';
  /** Where to go: a verified candidate (enforce), the policy's choice (warn), or null to stay; digest mode: `latest@sha256:…`. */
  selected: string | null;
  /** The digest of `selected`, looked up for the check. */
  digest?: string;
  /** Candidates not taken and why (`1.4.0: no signature`). */
  passedOver: Array<{ tag: string; why: string }>;
  /** The image that runs now, when it was checked (the service stays on it) and did not verify. */
  running?: { digest: string; why: string };
  /** For the decision's reason: what verification changed or found, or ''. */
  note: string;
}

/** The verify settings of a service, or undefined when it has none. A bad setting throws a one-line ConfigError. */
export function verifySettingsFor(service: StackService, ctx: Pick<VerifyContext, 'config' | 'configPath' | 'registryEntry'>): VerifySettings | undefined {
  const file = ctx.configPath ?? 'dosync.yaml';
  return resolveVerify(
    { labels: service.labels, top: ctx.config.verify, registry: ctx.registryEntry?.verify, service: ctx.config.services?.[service.name]?.verify },
    { labels: `${service.imageFile ?? 'compose file'}: services.${service.name}.labels`, top: file, registry: `${file}: registry`, service: `${file}: services.${service.name}` },
  );
}

/**
 * Tag mode. `selection.selected` is the policy's choice, `selection.candidates` its ranking (read only when the
 * choice does not verify). Undefined when verification is off for the service.
 */
export async function chooseSigned(service: StackService, ref: ImageReference, current: string, selection: Selection, ctx: VerifyContext): Promise<SignatureReport | undefined> {
  const settings = verifySettingsFor(service, ctx);
  if (!settings) return undefined;
  const verifier = ctx.verifier ?? sharedVerifier();
  const check = async (digest: string) => verifier.verify(ctx.registry, ref, digest, settings);
  const top = selection.selected;
  const report: SignatureReport = { mode: settings.mode, selected: null, passedOver: [], note: '' };
  if (top && top !== current) {
    const tried = new Set<string>();
    for (const tag of rankedFrom(top, selection)) {
      if (tag === current) break;
      const digest = await digestOf(ctx.registry, ref, tag);
      if (tried.has(digest)) continue;
      if (tried.size >= MAX_TRIED) { report.passedOver.push({ tag, why: `not checked (${MAX_TRIED} candidates tried this cycle)` }); break; }
      tried.add(digest);
      const verdict = await check(digest);
      if (verdict.ok) { report.selected = tag; report.digest = digest; break; }
      report.passedOver.push({ tag, why: verdict.why });
      if (settings.mode === 'warn') { report.selected = tag; report.digest = digest; break; }
    }
  }
  if (!report.selected) {
    const running = await runningDigest(service, ref, current, ctx);
    const verdict: Verdict = running ? await check(running) : { ok: false, why: 'its digest is unknown' };
    if (!verdict.ok && running) report.running = { digest: running, why: verdict.why };
  }
  report.note = describe(report, current);
  return report;
}

/**
 * Digest mode (`latest`, `main`): the planner's decision for the tag, checked. A new digest that does not verify
 * is not deployed (enforce: the decision becomes up to date); an unchanged one is the running image, reported
 * when it does not verify.
 */
export async function verifyDigestDecision(service: StackService, ref: ImageReference, tag: string, decision: Decision, ctx: VerifyContext): Promise<{ decision: Decision; signatures?: SignatureReport }> {
  if (decision.kind !== 'update' && decision.kind !== 'up-to-date') return { decision };
  const settings = verifySettingsFor(service, ctx);
  if (!settings) return { decision };
  const changed = decision.kind === 'update';
  const digest = changed && decision.remoteDigest ? decision.remoteDigest : await digestOf(ctx.registry, ref, tag);
  const verdict = await (ctx.verifier ?? sharedVerifier()).verify(ctx.registry, ref, digest, settings);
  const report: SignatureReport = { mode: settings.mode, selected: null, passedOver: [], note: '' };
  if (!changed) {
    if (!verdict.ok) report.running = { digest, why: verdict.why };
  } else {
    const label = `${tag}@${digest.slice(0, 19)}…`;
    if (verdict.ok || settings.mode === 'warn') { report.selected = label; report.digest = digest; }
    if (!verdict.ok) report.passedOver.push({ tag: label, why: verdict.why });
  }
  report.note = describe(report, tag);
  const reason = decision.reason + report.note;
  return { signatures: report, decision: changed && !report.selected ? { kind: 'up-to-date', reason } : { ...decision, reason } };
}

/** The policy's choice, then the rest of its ranking. */
function* rankedFrom(top: string, selection: Selection): Generator<string> {
  yield top;
  for (const c of selection.candidates) if (c.tag !== top) yield c.tag;
}

/**
 * What runs now: the digest the engine pulled the service's image by (for a multi-platform image, the index
 * digest, which is what cosign signs), else the pinned digest, else what the registry has under the tag.
 */
async function runningDigest(service: StackService, ref: ImageReference, tag: string, ctx: VerifyContext): Promise<string | undefined> {
  if (ref.digest) return ref.digest;
  const repo = formatReference({ registry: ref.registry, repository: ref.repository });
  const local = service.image ? await ctx.inspectImage(service.image).catch(() => undefined) : undefined;
  const pulled = local?.repoDigests.find((d) => repositoryOf(d) === repo)?.split('@')[1];
  return pulled ?? digestOf(ctx.registry, ref, tag);
}

/**
 * A tag's digest; services on the same repository and tag planned at the same time share one HEAD (nothing is
 * kept once it answers: a tag may move by the next cycle).
 */
const inFlight = new WeakMap<RegistryClient, Map<string, Promise<string>>>();

function digestOf(client: RegistryClient, ref: ImageReference, tag: string): Promise<string> {
  let pending = inFlight.get(client);
  if (!pending) inFlight.set(client, (pending = new Map()));
  const key = `${ref.registry}/${ref.repository}:${tag}`;
  let digest = pending.get(key);
  if (!digest) {
    const map = pending;
    digest = client.getDigest(ref, tag).then((d) => d.digest).finally(() => map.delete(key));
    pending.set(key, digest);
  }
  return digest;
}

function describe(report: SignatureReport, current: string): string {
  const parts: string[] = [];
  const passed = report.passedOver.filter((p) => p.tag !== report.selected);
  if (report.mode === 'warn' && report.selected && report.passedOver.some((p) => p.tag === report.selected)) {
    parts.push(`warning: ${report.selected} is not verified (${report.passedOver.find((p) => p.tag === report.selected)!.why}); deployed anyway (verify mode warn)`);
  }
  if (passed.length > 0) parts.push(`passed over ${passed.map((p) => `${p.tag}: ${p.why}`).join(', ')}`);
  if (report.running) parts.push(`running ${current} (${report.running.digest.slice(0, 19)}…) does not verify: ${report.running.why}`);
  return parts.length ? `; ${parts.join('; ')}` : '';
}
