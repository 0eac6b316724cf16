import type { Command } from 'commander';
import { addStackOptions, type StackFlags } from './common.js';
import type { ServicePlan } from '../sync/plan.js';
import type { UnitPlan } from '../sync/unit-plan.js';
import { releaseLink } from '../sync/status.js';

/** Exit codes scripts can rely on. */
export const CHECK_EXIT = { upToDate: 0, updates: 10, error: 2 } as const;

export interface CheckFlags extends StackFlags { json?: boolean; explain?: boolean; stateDir?: string }

export interface CheckRow {
  service: string;
  current: string | null;
  newest: string | null;
  policy: string | null;
  source: string | null;
  registry: string | null;
  status: 'up to date' | 'update available' | 'new digest' | 'held' | 'skipped' | 'error';
  reason: string;
  /** The update unit the service moves in (`n8n, n8n-runner (N8N_VERSION in .env)`), null when it moves alone. */
  unit: string | null;
  /** Set when the image that runs now does not verify under `verify:` (reported, never redeployed). */
  unverified?: string;
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
  return `\nUnits (services that move together):\n${lines.join('\n')}`;
}

/** Why a unit did not take tags its lead's policy offered (`check --explain`). */
export function explainUnit(u: UnitPlan): string | undefined {
  if (u.unit.services.length < 2 && u.passedOver.length === 0) return undefined;
  const lines = [`unit ${u.unit.label}: ${u.decision.reason}`];
  for (const p of u.passedOver.slice(0, 10)) lines.push(`  passed over ${p.tag}: ${p.why}`);
  for (const d of u.unit.dependents) lines.push(`  also changes ${d.path} (${d.file})`);
  return lines.join('\n');
}

export function checkRow(plan: ServicePlan, unit?: UnitPlan, imageLabels?: Record<string, string>): CheckRow {
  const d = plan.decision;
  const link = releaseLink(d.kind === 'update' || d.kind === 'held' ? d.toTag : undefined, plan.service.labels, imageLabels);
  const current = plan.ref?.tag ?? (plan.ref?.digest ? null : plan.ref ? 'latest' : null);
  const running = plan.signatures?.running;
  const base = {
    service: plan.service.name, current, policy: plan.policy?.describe ?? null, source: plan.policy?.source ?? null, registry: plan.ref?.registry ?? null, reason: d.reason,
    unit: unit && unit.unit.services.length > 1 ? unit.unit.label : null,
    ...(running ? { unverified: running.why } : {}),
    ...(link ? { link } : {}),
  };
  switch (d.kind) {
    case 'update': return { ...base, newest: d.toTag, status: d.mode === 'digest' ? 'new digest' : 'update available' };
    case 'up-to-date': return { ...base, newest: current, status: 'up to date' };
    case 'held': return { ...base, newest: d.toTag, status: 'held' };
    case 'skipped': return { ...base, newest: null, status: 'skipped' };
    case 'error': return { ...base, newest: null, status: 'error' };
  }
}

export function renderTable(rows: CheckRow[]): string {
  const head = ['SERVICE', 'CURRENT', 'NEWEST', 'POLICY', 'SOURCE', 'REGISTRY', 'STATUS'];
  const cells = rows.map((r) => [r.service, r.current ?? '-', r.newest ?? '-', r.policy ?? '-', r.source ?? '-', r.registry ?? '-', (r.status === 'error' || r.status === 'skipped' || r.status === 'held' ? `${r.status}: ${r.reason.replace(/^.*; held: /, '')}` : r.status) + (r.unverified ? `; running image does not verify: ${r.unverified}` : '')]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  return [line(head), ...cells.map(line)].join('\n');
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
  return lines.join('\n');
}

export function registerCheckCommand(program: Command): void {
  addStackOptions(program.command('check'))
    .description('show, per service, the current tag, the newest tag its policy allows, and whether an update is due; changes nothing')
    .option('--state-dir <dir>', 'where the state file is (failed tags are shown as such; env DOSYNC_STATE_DIR)')
    .option('--json', 'machine-readable output')
    .option('--explain', 'list each service\'s candidate and dropped tags and why (with --json: as "candidates" and "dropped")')
    .addHelpText('after', `
Exit codes: 0 = everything up to date, 10 = updates available, 2 = an error (a registry, the engine, the config).
Examples:
  dosync check -f docker-compose.yml
  dosync check -f docker-compose.yml --json | jq '.services[] | select(.status != "up to date")'
  dosync check -f docker-compose.yml --explain`)
    .action(async (flags: CheckFlags) => {
      process.exitCode = await (await import('./check-run.js')).checkAction(flags);
    });
}
