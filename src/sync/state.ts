/**
 * The state file: what dosync deployed, checked, updated and saw fail, per service, plus the update in
 * progress (the intent) so a crash or `kill -9` can be finished or rolled back at the next start.
 *
 * Format (`<state-dir>/state.json`, written atomically):
 *   { "version": 1, "updatedAt": ISO, "services": { "<project>/<service>": ServiceState }, "intent"?: Intent }
 * A file that is not valid JSON, does not match the schema, or carries a version this dosync cannot read is
 * renamed to `state.json.corrupt-<timestamp>` and an empty state is used (the caller rebuilds it from the
 * running containers): losing history must never stop the daemon.
 */
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError, errorMessage, localError } from '../util/errors.js';
import { assertPrivateDir } from './dirs.js';

export const STATE_VERSION = 1;
export const STATE_FILE_NAME = 'state.json';

export const INTENT_STEPS = ['pulled', 'file-written', 'recreating', 'health-check', 'rolling-back'] as const;
/**
 * Where an update stood when the intent was recorded; each is flushed to disk before the work that follows it:
 * - `pulled`: the new image is pulled; next the compose file is written (it may already say `to` after a crash).
 * - `file-written`: the compose file says `to` (backup made); no container touched yet.
 * - `recreating`: `compose up` of the service is starting; its containers may be on either image.
 * - `health-check`: the containers run `to`; the health gate is watching them.
 * - `rolling-back`: the gate failed; the file and the containers are being put back to `from`.
 */
export type IntentStep = (typeof INTENT_STEPS)[number];

export const CHECK_OUTCOMES = ['up-to-date', 'update-available', 'held', 'skipped', 'error'] as const;
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];
export const UPDATE_OUTCOMES = ['updated', 'rolled-back', 'failed'] as const;
export type UpdateOutcome = (typeof UPDATE_OUTCOMES)[number];
/** A history entry is an update's outcome, or `retry`: `dosync retry` cleared a failed tag (`to` names it). */
export const HISTORY_OUTCOMES = [...UPDATE_OUTCOMES, 'retry'] as const;

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'not an ISO date' });

const failedSchema = z.object({ tag: z.string(), digest: z.string().optional(), at: isoDate, reason: z.string() });
const historySchema = z.object({
  from: z.string(), to: z.string(), at: isoDate, outcome: z.enum(HISTORY_OUTCOMES), backup: z.string().optional(), detail: z.string().optional(),
  /** When the cycle that made this change started: the updates of one cycle share it (`dosync rollback` undoes them together). */
  cycle: isoDate.optional(),
  /** The update unit this service moved in, when it moved with others (`n8n, n8n-runner (N8N_VERSION in .env)`). */
  unit: z.string().optional(),
});
export const STATUS_KINDS = ['up-to-date', 'update-available', 'pending-approval', 'held', 'failed-tag', 'updating', 'rolled-back', 'skipped', 'error'] as const;
export type StatusKind = (typeof STATUS_KINDS)[number];
const serviceStatusSchema = z.object({
  kind: z.enum(STATUS_KINDS),
  at: isoDate,
  /** The tag running now. */
  current: z.string().optional(),
  /** The tag it is about: available, pending, held, failed, being applied, rolled back from. */
  tag: z.string().optional(),
  reason: z.string().optional(),
  /** `held`: what holds it (window, paused, min-age) and until when, when known. */
  hold: z.enum(['window', 'paused', 'min-age']).optional(),
  until: isoDate.optional(),
  /** `updating`: the journal step (pulled, file-written, recreating, health-check, rolling-back). */
  step: z.string().optional(),
  /** Release notes of `tag` (dosync.link.template, or the image's OCI source/url label). */
  link: z.string().optional(),
});
export type ServiceStatusState = z.infer<typeof serviceStatusSchema>;
const pendingSchema = z.object({
  tag: z.string(),
  image: z.string(),
  since: isoDate,
  /** The pending tag this one replaced (a newer tag arrived before approval). */
  replaced: z.string().optional(),
  approvedAt: isoDate.optional(),
});
export type PendingApproval = z.infer<typeof pendingSchema>;
const serviceSchema = z.object({
  deployed: z.object({ reference: z.string(), digest: z.string().optional(), at: isoDate }).optional(),
  lastCheck: z.object({ at: isoDate, outcome: z.enum(CHECK_OUTCOMES), detail: z.string().optional() }).optional(),
  lastUpdate: z.object({ at: isoDate, outcome: z.enum(UPDATE_OUTCOMES), from: z.string(), to: z.string(), detail: z.string().optional() }).optional(),
  failed: z.array(failedSchema).default([]),
  history: z.array(historySchema).default([]),
  // --- issue-18: status, approvals, announcements (src/sync/status.ts, src/sync/approvals.ts) ---
  /** What the service is, exactly as the last cycle or action left it (served by /v1/status and the dashboard). */
  status: serviceStatusSchema.optional(),
  /** An update waiting for approval (`approve: manual`); `approvedAt` once approved, until it is applied. */
  pending: pendingSchema.optional(),
  /** Tags `dosync skip` took out of the offer (newer tags are still offered). */
  skipped: z.array(z.object({ tag: z.string(), at: isoDate })).optional(),
  /** Updates of this service held by a person (dashboard, API) until resumed; checks go on. */
  paused: z.object({ at: isoDate }).optional(),
  /** The (tag) last announced as available, so it is announced once (notify_every: once). */
  announced: z.string().optional(),
});
const intentSchema = z.object({
  service: z.string(),
  step: z.enum(INTENT_STEPS),
  from: z.string(),
  to: z.string(),
  file: z.string().optional(),
  backup: z.string().optional(),
  mode: z.enum(['tag', 'digest']).optional(),
  previousImageId: z.string().optional(),
  /**
   * An update unit (services that one edit moves together): every member with what it ran before. `service`,
   * `from` and `to` are the first member's; recovery finishes or rolls back all members together.
   */
  members: z.array(z.object({ service: z.string(), from: z.string(), to: z.string(), previousImageId: z.string().optional(), running: z.boolean().optional() })).optional(),
  /** `n8n, n8n-runner (N8N_VERSION in .env)` */
  unit: z.string().optional(),
  /** Every file the unit's edit wrote, with its backup. */
  files: z.array(z.object({ file: z.string(), backup: z.string() })).optional(),
  at: isoDate,
  pid: z.number().int(),
});
const documentSchema = z.object({
  version: z.literal(STATE_VERSION),
  updatedAt: isoDate,
  services: z.record(serviceSchema).default({}),
  intent: intentSchema.optional(),
});

export type FailedTag = z.infer<typeof failedSchema>;
export type HistoryEntry = z.infer<typeof historySchema>;
export type ServiceState = z.infer<typeof serviceSchema>;
export type Intent = z.infer<typeof intentSchema>;
export type StateDocument = z.infer<typeof documentSchema>;
/** What the caller gives `beginIntent`; time and pid are added. */
export type IntentInput = Omit<Intent, 'at' | 'pid'>;

/** Turns a document of version n into one of version n + 1. */
export type Migration = (doc: Record<string, unknown>) => Record<string, unknown>;
/** Upgrades from older formats, keyed by the version they read. Empty while version 1 is the only one. */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {};

/** The key services are stored under. */
export function serviceKey(project: string, service: string): string {
  return `${project}/${service}`;
}

export function defaultStatePath(stateDir: string): string {
  return join(stateDir, STATE_FILE_NAME);
}

/** `2024-01-02T03:04:05.678Z` -> `20240102T030405678Z` (sorts by time, safe in file names). */
function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

/**
 * Brings a parsed document to `target` through the migration chain. Pure. Returns why it cannot when the
 * version is missing, newer than `target`, or has no migration path.
 */
export function migrate(
  doc: unknown, target = STATE_VERSION, migrations: Readonly<Record<number, Migration>> = MIGRATIONS,
): { ok: true; doc: Record<string, unknown>; from: number } | { ok: false; reason: string; kind: 'corrupt' | 'unknown-version' } {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { ok: false, kind: 'corrupt', reason: 'not a JSON object' };
  const version = (doc as Record<string, unknown>).version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
    return { ok: false, kind: 'corrupt', reason: 'no "version" number' };
  }
  if (version > target) return { ok: false, kind: 'unknown-version', reason: `version ${version} was written by a newer dosync (this one reads up to ${target})` };
  let current = doc as Record<string, unknown>;
  for (let v = version; v < target; v++) {
    const step = migrations[v];
    if (!step) return { ok: false, kind: 'unknown-version', reason: `version ${version} cannot be upgraded (no migration from ${v})` };
    current = { ...step(current), version: v + 1 };
  }
  return { ok: true, doc: current, from: version };
}

export interface StateStoreOptions {
  now?: () => Date;
  /** Updates kept per service in `history` (oldest dropped), default 50. */
  historyLimit?: number;
  /** Failed tags kept per service (oldest dropped), default 100. */
  failedLimit?: number;
  /** For tests of the migration hook. */
  migrations?: Readonly<Record<number, Migration>>;
}

/** How the store came to be: read as is, upgraded, no file yet, or rebuilt after moving a bad file aside. */
export type StateOrigin = 'file' | 'migrated' | 'new' | 'rebuilt';

const emptyService = (): ServiceState => ({ failed: [], history: [] });
/** The state holds JSON data only: this drops `undefined` fields so memory equals what a reload gives. */
const asJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export class StateStore {
  /** Warnings from loading (a file moved aside); the caller logs them. */
  readonly warnings: readonly string[];
  private doc: StateDocument;
  private readonly now: () => Date;
  private readonly historyLimit: number;
  private readonly failedLimit: number;
  private saving: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  private constructor(readonly path: string, readonly origin: StateOrigin, doc: StateDocument, warnings: string[], opts: StateStoreOptions) {
    this.doc = doc;
    this.warnings = warnings;
    this.now = opts.now ?? (() => new Date());
    this.historyLimit = Math.max(1, opts.historyLimit ?? 50);
    this.failedLimit = Math.max(1, opts.failedLimit ?? 100);
  }

  /** Reads the state file; a missing one gives an empty state, a bad one is moved aside with a warning. */
  static async open(path: string, opts: StateStoreOptions = {}): Promise<StateStore> {
    const now = opts.now ?? (() => new Date());
    const empty = (): StateDocument => ({ version: STATE_VERSION, updatedAt: now().toISOString(), services: {} });
    await assertPrivateDir(dirname(path));
    let text: string;
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new StateStore(path, 'new', empty(), [], opts);
      throw new UserError(`cannot read state file ${path}: ${errorMessage(err)}; check --state-dir and its permissions`, { cause: err });
    }
    let problem: string;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      parsed = undefined;
      problem = `not valid JSON (${errorMessage(err)})`;
    }
    if (parsed !== undefined) {
      const migrated = migrate(parsed, STATE_VERSION, opts.migrations ?? MIGRATIONS);
      if (migrated.ok) {
        const result = documentSchema.safeParse(migrated.doc);
        if (result.success) {
          return new StateStore(path, migrated.from === STATE_VERSION ? 'file' : 'migrated', result.data, [], opts);
        }
        const issue = result.error.issues[0];
        problem = `does not match the version ${STATE_VERSION} format (${issue.path.join('.') || '(root)'}: ${issue.message})`;
      } else {
        problem = migrated.reason;
      }
    }
    const aside = await moveAside(path, now());
    const warning = `state file ${path} ${problem!}; moved it to ${aside} and starting from an empty state (rebuilt from the running containers)`;
    return new StateStore(path, 'rebuilt', empty(), [warning], opts);
  }

  /** Service keys with recorded state. */
  services(): string[] {
    return Object.keys(this.doc.services).sort();
  }

  /** A copy of one service's state; change it through `update` or the `record*` helpers. */
  get(service: string): ServiceState | undefined {
    const s = this.doc.services[service];
    return s ? structuredClone(s) : undefined;
  }

  /** Changes one service's state in memory (created when missing); `save()` writes it. */
  update(service: string, change: (state: ServiceState) => void): ServiceState {
    const state = this.doc.services[service] ?? emptyService();
    change(state);
    state.history = state.history.slice(-this.historyLimit);
    state.failed = state.failed.slice(-this.failedLimit);
    this.doc.services[service] = asJson(state);
    return asJson(state);
  }

  /** Drops a service that left the stack. */
  forget(service: string): void {
    delete this.doc.services[service];
  }

  recordDeployed(service: string, reference: string, digest?: string): void {
    const at = this.now().toISOString();
    this.update(service, (s) => { s.deployed = { reference, digest, at }; });
  }

  recordCheck(service: string, outcome: CheckOutcome, detail?: string): void {
    const at = this.now().toISOString();
    this.update(service, (s) => { s.lastCheck = { at, outcome, detail }; });
  }

  /** Appends to the history and sets the last update; a successful one also becomes the deployed reference. */
  recordUpdate(service: string, u: { from: string; to: string; outcome: UpdateOutcome; backup?: string; detail?: string; digest?: string; cycle?: string; unit?: string }): void {
    const at = this.now().toISOString();
    this.update(service, (s) => {
      s.history.push({ from: u.from, to: u.to, at, outcome: u.outcome, backup: u.backup, detail: u.detail, cycle: u.cycle, ...(u.unit ? { unit: u.unit } : {}) });
      s.lastUpdate = { at, outcome: u.outcome, from: u.from, to: u.to, detail: u.detail };
      if (u.outcome === 'updated') s.deployed = { reference: u.to, digest: u.digest, at };
    });
  }

  /** Remembers a tag (or one digest of it) that failed its health gate; recording it again refreshes it. */
  recordFailed(service: string, f: { tag: string; digest?: string; reason: string }): void {
    const at = this.now().toISOString();
    this.update(service, (s) => {
      s.failed = s.failed.filter((e) => !(e.tag === f.tag && e.digest === f.digest));
      s.failed.push({ tag: f.tag, digest: f.digest, at, reason: f.reason });
    });
  }

  /**
   * Whether a tag is known to fail for this service. An entry without a digest condemns the tag whatever it
   * points to; an entry with one condemns that digest only, so a re-pushed tag (`latest` with a fix) is tried
   * again. Asked without a digest (it is not known yet), any entry for the tag counts.
   */
  isFailed(service: string, tag: string, digest?: string): boolean {
    const entries = this.doc.services[service]?.failed ?? [];
    return entries.some((e) => e.tag === tag && (e.digest === undefined || digest === undefined || e.digest === digest));
  }

  /** The tags with any failed entry, for filtering tag lists before digests are known. */
  failedTags(service: string): Set<string> {
    return new Set((this.doc.services[service]?.failed ?? []).map((e) => e.tag));
  }

  // --- issue-18: status, approvals, skipped tags, announcements ---
  setStatus(service: string, status: Omit<ServiceStatusState, 'at'>): void {
    const at = this.now().toISOString();
    this.update(service, (s) => { s.status = { ...status, at }; });
    this.emitChange();
  }

  setPending(service: string, pending: PendingApproval | undefined): void {
    this.update(service, (s) => { if (pending) s.pending = pending; else delete s.pending; });
  }

  skipTag(service: string, tag: string): void {
    const at = this.now().toISOString();
    this.update(service, (s) => { s.skipped = [...(s.skipped ?? []).filter((e) => e.tag !== tag), { tag, at }].slice(-this.failedLimit); });
  }

  skippedTags(service: string): Set<string> {
    return new Set((this.doc.services[service]?.skipped ?? []).map((e) => e.tag));
  }

  setPaused(service: string, paused: boolean): void {
    const at = this.now().toISOString();
    this.update(service, (s) => { if (paused) s.paused = { at }; else delete s.paused; });
  }

  setAnnounced(service: string, tag: string | undefined): void {
    this.update(service, (s) => { if (tag) s.announced = tag; else delete s.announced; });
  }

  /** Called after each status change and each save (the dashboard's live view listens). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emitChange(): void {
    for (const l of this.listeners) {
      try { l(); } catch { /* a listener never breaks the state */ }
    }
  }

  /** The update that was in progress when the state was last written (after a crash: what to recover). */
  pendingIntent(): Intent | undefined {
    return this.doc.intent ? { ...this.doc.intent } : undefined;
  }

  /**
   * Records the step an update is about to take and writes the state to disk before returning, so a crash
   * during the step is seen at the next start. Replaces the pending intent of the same service; an intent of
   * another service still pending is a programming error (recover or end it first).
   */
  async beginIntent(intent: IntentInput): Promise<void> {
    const pending = this.doc.intent;
    if (pending && pending.service !== intent.service) {
      throw new Error(`state: intent for ${pending.service} (${pending.step}) is still pending; end it before starting ${intent.service}`);
    }
    this.doc.intent = asJson({ ...intent, at: this.now().toISOString(), pid: process.pid });
    await this.save();
  }

  /** Moves the pending intent to its next step, keeping its other fields (`patch` adds e.g. the backup path). */
  async advanceIntent(step: IntentStep, patch: Partial<Omit<IntentInput, 'service' | 'step'>> = {}): Promise<void> {
    const pending = this.doc.intent;
    if (!pending) throw new Error(`state: advanceIntent(${step}) without a pending intent`);
    const { at: _at, pid: _pid, ...rest } = pending;
    await this.beginIntent({ ...rest, ...patch, step });
  }

  /** The update finished (either way): clears the intent and writes the state. */
  async endIntent(): Promise<void> {
    delete this.doc.intent;
    await this.save();
  }

  /** A deep copy of the whole document, as it would be written. */
  snapshot(): StateDocument {
    return structuredClone(this.doc);
  }

  /** Writes the state atomically; saves are serialised so the last call's content is what stays on disk. */
  save(): Promise<void> {
    const run = async () => {
      this.doc.updatedAt = this.now().toISOString();
      await writeFileAtomic(this.path, `${JSON.stringify(this.doc, null, 2)}\n`).catch((err: unknown) => {
        throw localError(err, 'writing the state file', this.path, 'the state of this cycle is saved by the next one');
      });
    };
    const next = this.saving.then(run, run);
    this.saving = next.catch(() => undefined);
    this.emitChange();
    return next;
  }
}

/** Renames a bad state file to `<path>.corrupt-<timestamp>[-n]` without overwriting an earlier one. */
async function moveAside(path: string, now: Date): Promise<string> {
  const stem = `${path}.corrupt-${fileTimestamp(now)}`;
  for (let n = 0; ; n++) {
    const target = n === 0 ? stem : `${stem}-${n}`;
    const exists = await fsp.access(target).then(() => true, () => false);
    if (exists) continue;
    await fsp.rename(path, target);
    return target;
  }
}

/** What to do at start-up with an intent left by a crash; the daemon carries it out. */
export interface Recovery {
  action: 'finish' | 'roll-back';
  /** Put `from` back into the compose file (it may say `to`); a no-op when it already says `from`. */
  restoreFile: boolean;
  /** Digest update: point the tag back at `previousImageId` (the pull moved it to the new image). */
  retagPrevious: boolean;
  /** Run `compose up` for the service: on `to` when finishing, on `from` when rolling back. */
  recreate: boolean;
  /** Run the health gate after recreating; a failed gate when finishing leads to the usual rollback. */
  healthCheck: boolean;
  /** Record `to` as failed (its health gate had already failed). */
  markFailed: boolean;
  reason: string;
}

/**
 * The crash-recovery decision table (pure). Before any container was touched the update is undone (the next
 * cycle plans it again, through windows and min-age); once `compose up` had started, the stack is in an
 * unknown mix and finishing (recreate on `to`, health gate, usual rollback) is the shortest way to a known
 * state: a dosync crash says nothing about the new image. A crash while rolling back resumes the rollback.
 */
export function recoverIntent(intent: Pick<Intent, 'step' | 'file' | 'mode' | 'previousImageId'>): Recovery {
  const hasFile = intent.file !== undefined && intent.mode !== 'digest';
  const retag = intent.mode === 'digest' && intent.previousImageId !== undefined;
  const undo = (reason: string): Recovery => ({
    action: 'roll-back', restoreFile: hasFile, retagPrevious: retag, recreate: false, healthCheck: false, markFailed: false, reason,
  });
  switch (intent.step) {
    case 'pulled':
      return undo('stopped after the pull: the compose file may already name the new image, no container was touched');
    case 'file-written':
      return undo('stopped after writing the compose file, before any container was recreated');
    case 'recreating':
      return { action: 'finish', restoreFile: false, retagPrevious: false, recreate: true, healthCheck: true, markFailed: false,
        reason: 'stopped while recreating the service: its containers may be on either image' };
    case 'health-check':
      return { action: 'finish', restoreFile: false, retagPrevious: false, recreate: true, healthCheck: true, markFailed: false,
        reason: 'stopped during the health gate: the gate is run again' };
    case 'rolling-back':
      return { action: 'roll-back', restoreFile: hasFile, retagPrevious: retag, recreate: true, healthCheck: true, markFailed: true,
        reason: 'stopped while rolling back a failed update: the rollback is resumed' };
  }
}
