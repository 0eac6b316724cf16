import { Option, type Command } from 'commander';
import { isUserError, UserError } from '../util/errors.js';
import { addHostOptions, addStackOptions, type StackFlags } from './common.js';
import type { ServicePlan } from '../sync/plan.js';
import type { UnitPlan } from '../sync/unit-plan.js';
import { releaseLink } from '../sync/status.js';
import { layoutTable, longPolicy, printable, printableLines, shortPolicy, statusText, type FitStep, type RowStatus } from './check-table.js';

/** Exit codes scripts can rely on. */
export const CHECK_EXIT = { upToDate: 0, updates: 10, error: 2 } as const;

export type CheckFormat = 'table' | 'wide' | 'json';
export interface CheckFlags extends StackFlags { json?: boolean; wide?: boolean; format?: CheckFormat; explain?: boolean; stateDir?: string; backupDir?: string }

/** --json and --wide are shorthands for --format json|wide; --format wins when both are given. */
export function checkFormat(flags: Pick<CheckFlags, 'json' | 'wide' | 'format'>): CheckFormat {
  return flags.format ?? (flags.json ? 'json' : flags.wide ? 'wide' : 'table');
}

export interface CheckRow {
  service: string;
  current: string | null;
  newest: string | null;
  /** The policy in full (`default: newest version of the same tag shape within the current major`). */
  policy: string | null;
  /** The policy in a few words (`same-major`, `semver >=1 <2`, `digest`), what the table shows at terminal width. */
  policyShort: string | null;
  source: string | null;
  registry: string | null;
  status: RowStatus;
  reason: string;
  /** For a held update: when it may go ahead (ISO time), when that is known. */
  heldUntil?: string | null;
  /** The update unit the service moves in (`n8n, n8n-runner (N8N_VERSION in .env)`), null when it moves alone. */
  unit: string | null;
  /** Set when the image that runs now does not verify under `verify:` (reported, never redeployed). */
  unverified?: string;
  /** `check --all`: the compose project the service belongs to. */
  project?: string;
  /** Release notes of the newest tag (label dosync.link.template, or the running image's OCI source/url label). */
  link?: string;
}

/** The units with more than one member, one line each, for below the table. */
export function renderUnits(units: UnitPlan[]): string {
  const shared = units.filter((u) => u.unit.services.length > 1);
  if (shared.length === 0) return '';
  const lines = shared.map((u) => {
    const uses = u.unit.dependents.length > 0 ? `; also changes ${u.unit.dependents.map((d) => d.path).join(', ')}` : '';
    return `  ${u.unit.label}${uses}`;
  });
  return printableLines(`\nUnits (services that move together):\n${lines.join('\n')}`);
}

/** Why a unit did not take tags its lead's policy offered (`check --explain`). */
export function explainUnit(u: UnitPlan): string | undefined {
  if (u.unit.services.length < 2 && u.passedOver.length === 0) return undefined;
  const lines = [`unit ${u.unit.label}: ${u.decision.reason}`];
  for (const p of u.passedOver.slice(0, 10)) lines.push(`  passed over ${p.tag}: ${p.why}`);
  for (const d of u.unit.dependents) lines.push(`  also changes ${d.path} (${d.file})`);
  return printableLines(lines.join('\n'));
}

export function checkRow(plan: ServicePlan, unit?: UnitPlan, imageLabels?: Record<string, string>): CheckRow {
  const d = plan.decision;
  const link = releaseLink(d.kind === 'update' || d.kind === 'held' ? d.toTag : undefined, plan.service.labels, imageLabels);
  const current = plan.ref?.tag ?? (plan.ref?.digest ? null : plan.ref ? 'latest' : null);
  const running = plan.signatures?.running;
  const base = {
    service: plan.service.name, current,
    policy: plan.policy ? longPolicy(plan.policy, plan.selection) : null, policyShort: plan.policy ? shortPolicy(plan.policy, plan.selection) : null,
    source: plan.policy?.source ?? null, registry: plan.ref?.registry ?? null, reason: d.reason,
    unit: unit && unit.unit.services.length > 1 ? unit.unit.label : null,
    ...(running ? { unverified: running.why } : {}),
    ...(link ? { link } : {}),
  };
  switch (d.kind) {
    case 'update': return { ...base, newest: d.toTag, status: d.mode === 'digest' ? 'new digest' : 'update available' };
    case 'up-to-date': return { ...base, newest: current, status: 'up to date' };
    case 'held': return { ...base, newest: d.toTag, status: 'held', heldUntil: d.until?.toISOString() ?? null };
    case 'skipped': return { ...base, newest: null, status: 'skipped' };
    case 'error': return { ...base, newest: null, status: 'error' };
  }
}

const HEAD = ['SERVICE', 'CURRENT', 'NEWEST', 'POLICY', 'SOURCE', 'REGISTRY', 'STATUS'];
const STATUS = 6;
/**
 * How the table narrows to the terminal: the status and policy give up width first (a shortened status is
 * printed whole below the table), then the registry and source columns go, and only then the service
 * name and tags are shortened.
 */
const FIT: FitStep[] = [
  { shorten: STATUS, to: 24 }, { drop: 5 }, { drop: 4 }, { shorten: STATUS, to: 16 }, { shorten: 3, to: 12 },
  { shorten: 3, to: 8 }, { shorten: 0, to: 10 }, { shorten: 1, to: 8 }, { shorten: 2, to: 8 }, { shorten: STATUS, to: 8 },
];

/**
 * The table: `width` set, short policy names and cells shortened to fit it (`check`), each shortened status
 * then printed in full below; undefined, the full policy text and nothing shortened (`check --wide`).
 */
export function renderTable(rows: CheckRow[], width?: number): string {
  const statuses = rows.map(statusText);
  // `check --all`: a PROJECT column first; the fitting steps keep their columns, one further right.
  const off = rows.some((r) => r.project !== undefined) ? 1 : 0;
  const head = [...(off ? ['PROJECT'] : []), ...HEAD];
  const fit = FIT.map((f): FitStep => ('drop' in f ? { drop: f.drop + off } : { ...f, shorten: f.shorten + off }));
  const cells = rows.map((r, i) => [...(off ? [r.project ?? '-'] : []), r.service, r.current ?? '-', r.newest ?? '-', (width === undefined ? r.policy : r.policyShort) ?? '-', r.source ?? '-', r.registry ?? '-', statuses[i]]);
  const layout = layoutTable(head, cells, width, fit);
  const cut = [...(layout.shortened.get(STATUS + off) ?? [])].sort((a, b) => a - b);
  const notes = cut.map((i) => printable(`  ${rows[i].service}: ${statuses[i]}`));
  const hidden = layout.dropped.map((c) => head[c]).reverse();
  const hint = layout.shortened.size > 0 || hidden.length > 0
    ? [`(fitted to ${width} columns${hidden.length > 0 ? `; ${hidden.join(' and ')} not shown` : ''}; --wide shows everything)`]
    : [];
  return [layout.text, ...(notes.length > 0 ? ['', ...notes] : []), ...(hint.length > 0 ? ['', ...hint] : [])].join('\n');
}

export function explain(plan: ServicePlan): string {
  const s = plan.selection;
  const lines = [`${plan.service.name}: ${plan.decision.reason}`];
  if (s) {
    for (const c of s.candidates.slice(0, 10)) lines.push(`  candidate ${c.tag}${c.value !== c.tag ? ` (${c.value})` : ''}`);
    // The counts cover every tag; a cycle's selection lists only the first of a long list (policy/select.ts).
    const candidates = s.candidateCount ?? s.candidates.length;
    const dropped = s.droppedCount ?? s.dropped.length;
    if (candidates > 10) lines.push(`  ... ${candidates - 10} more candidates`);
    for (const d of s.dropped.slice(0, 10)) lines.push(`  dropped   ${d.tag}: ${d.why}`);
    if (dropped > 10) lines.push(`  ... ${dropped - 10} more dropped`);
  }
  const v = plan.signatures;
  for (const p of v?.passedOver ?? []) lines.push(`  ${v!.mode === 'warn' && p.tag === v!.selected ? 'unsigned ' : 'passed over'} ${p.tag}: ${p.why}`);
  if (v?.running) lines.push(`  running   ${v.running.digest}: does not verify: ${v.running.why}`);
  return printableLines(lines.join('\n'));
}

export function registerCheckCommand(program: Command): void {
  addHostOptions(addStackOptions(program.command('check')))
    .description('show, per service, the current tag, the newest tag its policy allows, and whether an update is due; changes nothing')
    .option('--state-dir <dir>', 'where the state file is (failed tags are shown as such; env DOSYNC_STATE_DIR)')
    .addOption(new Option('--format <format>', 'table (fits the terminal: COLUMNS, the tty, else 80), wide (full policy text), json').choices(['table', 'wide', 'json']))
    .option('--wide', 'the table with the full policy text and nothing shortened (= --format wide)')
    .option('--json', 'machine-readable output (= --format json)')
    .option('--explain', 'list each service\'s candidate and dropped tags and why (with --json: as "candidates" and "dropped")')
    .addHelpText('after', `
Exit codes: 0 = everything up to date, 10 = updates available (also when held by a pause, window or min_age),
2 = an error (a registry, the engine, the config).
Examples:
  dosync check -f docker-compose.yml
  dosync check -f docker-compose.yml --json | jq '.services[] | select(.status != "up to date")'
  dosync check -f docker-compose.yml --explain
  dosync check --all                                    every project on the host, with a PROJECT column
  dosync check --all --json | jq '.projects[] | {project, services: [.services[].status]}'`)
    .action(async (flags: CheckFlags) => {
      try {
        process.exitCode = await (await import('./check-run.js')).checkAction(flags);
      } catch (err) {
        // Whatever stops check (the engine unreachable, a registry, a file) is exit 2 as its help says:
        // 1 is "a service failed", which check, changing nothing, never reports.
        if (isUserError(err) && err.exitCode !== CHECK_EXIT.error) throw new UserError(err.message, { cause: err, exitCode: CHECK_EXIT.error });
        throw err;
      }
    });
}
