import type { Command } from 'commander';
import { addStackOptions, stackInputs, type StackFlags } from './common.js';
import { createRegistryRuntime } from './registry-runtime.js';
import { createDocker } from '../engine/docker.js';
import { prepare } from '../sync/cycle.js';
import { planService, type ServicePlan } from '../sync/plan.js';
import { StateStore, defaultStatePath, resolveStateDir } from '../sync/state.js';
import { envValue } from './env-defaults.js';

/** Exit codes scripts can rely on. */
export const CHECK_EXIT = { upToDate: 0, updates: 10, error: 2 } as const;

interface CheckFlags extends StackFlags { json?: boolean; explain?: boolean; stateDir?: string }

export interface CheckRow {
  service: string;
  current: string | null;
  newest: string | null;
  policy: string | null;
  source: string | null;
  registry: string | null;
  status: 'up to date' | 'update available' | 'new digest' | 'held' | 'skipped' | 'error';
  reason: string;
}

export function checkRow(plan: ServicePlan): CheckRow {
  const d = plan.decision;
  const current = plan.ref?.tag ?? (plan.ref?.digest ? null : plan.ref ? 'latest' : null);
  const base = { service: plan.service.name, current, policy: plan.policy?.describe ?? null, source: plan.policy?.source ?? null, registry: plan.ref?.registry ?? null, reason: d.reason };
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
  const cells = rows.map((r) => [r.service, r.current ?? '-', r.newest ?? '-', r.policy ?? '-', r.source ?? '-', r.registry ?? '-', r.status === 'error' || r.status === 'skipped' || r.status === 'held' ? `${r.status}: ${r.reason.replace(/^.*; held: /, '')}` : r.status]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  return [line(head), ...cells.map(line)].join('\n');
}

function explain(plan: ServicePlan): string {
  const s = plan.selection;
  const lines = [`${plan.service.name}: ${plan.decision.reason}`];
  if (s) {
    for (const c of s.candidates.slice(0, 10)) lines.push(`  candidate ${c.tag}${c.value !== c.tag ? ` (${c.value})` : ''}`);
    if (s.candidates.length > 10) lines.push(`  ... ${s.candidates.length - 10} more candidates`);
    for (const d of s.dropped.slice(0, 10)) lines.push(`  dropped   ${d.tag}: ${d.why}`);
    if (s.dropped.length > 10) lines.push(`  ... ${s.dropped.length - 10} more dropped`);
  }
  return lines.join('\n');
}

export function registerCheckCommand(program: Command): void {
  addStackOptions(program.command('check'))
    .description('show, per service, the current tag, the newest tag its policy allows, and whether an update is due; changes nothing')
    .option('--state-dir <dir>', 'where the state file is (failed tags are shown as such; env DOSYNC_STATE_DIR)')
    .option('--json', 'machine-readable output')
    .option('--explain', 'list each service\'s candidate and dropped tags and why')
    .addHelpText('after', `
Exit codes: 0 = everything up to date, 10 = updates available, 2 = an error (a registry, the engine, the config).
Examples:
  dosync check -f docker-compose.yml
  dosync check -f docker-compose.yml --json | jq '.services[] | select(.status != "up to date")'
  dosync check -f docker-compose.yml --explain`)
    .action(async (flags: CheckFlags) => {
      process.exitCode = await checkAction(flags);
    });
}

async function checkAction(flags: CheckFlags): Promise<number> {
  // Logs go to stderr so stdout stays the table (or JSON) for scripts.
  const inputs = await stackInputs({ ...flags, logFormat: flags.logFormat ?? 'json' }, process.stderr);
  const stateDir = resolveStateDir({ stateDir: flags.stateDir ?? envValue(process.env, 'DOSYNC_STATE_DIR') ?? inputs.config.state_dir, backupDir: inputs.config.backup_dir, files: inputs.files });
  const state = await StateStore.open(defaultStatePath(stateDir));
  const runtime = await createRegistryRuntime(inputs.config, inputs.configEnv, inputs.logger, inputs.configPath);
  const deps = { docker: createDocker(), logger: inputs.logger, state, ...runtime };
  const tty = process.stderr.isTTY && !flags.json;
  const prepared = await prepare({ ...inputs }, deps);
  if (tty) process.stderr.write(`checking ${prepared.stack.services.length} services...`);
  const plans = await Promise.all(prepared.stack.services.map((s) => planService(s, prepared.planContext)));
  if (tty) process.stderr.write('\r\x1b[K');
  const rows = plans.map(checkRow);
  if (flags.json) {
    const services = rows.map((r, i) => ({ ...r, candidates: plans[i].selection?.candidates.map((c) => c.tag), dropped: plans[i].selection?.dropped }));
    process.stdout.write(`${JSON.stringify({ project: prepared.project.name, services, requests: runtime.registry.stats.requests }, null, 2)}\n`);
  } else {
    process.stdout.write(`${renderTable(rows)}\n`);
    if (flags.explain) process.stdout.write(`\n${plans.map(explain).join('\n\n')}\n`);
  }
  if (rows.some((r) => r.status === 'error')) return CHECK_EXIT.error;
  return rows.some((r) => r.status === 'update available' || r.status === 'new digest') ? CHECK_EXIT.updates : CHECK_EXIT.upToDate;
}
