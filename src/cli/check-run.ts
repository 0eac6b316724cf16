/** The work of `dosync check`, loaded only when that command runs. */
import { isHostMode, stackInputs } from './common.js';
import { createRegistryRuntime } from './registry-runtime.js';
import { createDocker, createRuntime } from '../engine/index.js';
import { prepare, planStackUnits } from '../sync/cycle.js';
import { planService } from '../sync/plan.js';
import { StateStore, defaultStatePath } from '../sync/state.js';
import { resolveStateDir } from '../sync/dirs.js';
import { terminalWidth } from './check-table.js';
import { CHECK_EXIT, checkFormat, checkRow, explain, explainUnit, renderTable, renderUnits, type CheckFlags } from './check.js';

export async function checkAction(flags: CheckFlags): Promise<number> {
  // Logs go to stderr so stdout stays the table (or JSON) for scripts.
  const inputs = await stackInputs({ ...flags, logFormat: flags.logFormat ?? 'json' }, process.stderr);
  if (isHostMode(flags, inputs)) return (await import('./host-check-run.js')).checkHostAction(flags, inputs);
  const stateDir = inputs.dirs?.stateDir ?? resolveStateDir({ flags, env: process.env, config: inputs.config, files: inputs.files });
  const state = await StateStore.open(defaultStatePath(stateDir));
  const runtime = await createRegistryRuntime(inputs.config, inputs.configEnv, inputs.logger, inputs.configPath);
  const docker = createDocker();
  const deps = { docker, runtime: await createRuntime(docker, { stack: inputs.stack, credentials: runtime.credentials }), logger: inputs.logger, state, ...runtime };
  const format = checkFormat(flags);
  const tty = process.stderr.isTTY && format !== 'json';
  // With the state dir, a `dosync pause` shows as a hold, as the daemon would apply it.
  const prepared = await prepare({ ...inputs, stateDir }, deps);
  if (tty) process.stderr.write(`checking ${prepared.stack.services.length} services...`);
  const own = await Promise.all(prepared.stack.services.map((s) => planService(s, prepared.planContext)));
  const units = await planStackUnits(prepared.stack, own, prepared.planContext, inputs.config);
  const unitOf = (name: string) => units.find((u) => u.unit.services.includes(name));
  const plans = units.flatMap((u) => u.members).sort((a, b) => prepared.stack.services.indexOf(a.service) - prepared.stack.services.indexOf(b.service));
  if (tty) process.stderr.write('\r\x1b[K');
  // Release links: the running image's OCI labels, asked only for services with a newer tag.
  const labelsOf = async (p: (typeof plans)[number]) => (p.decision.kind === 'update' || p.decision.kind === 'held') && p.service.image
    ? (await prepared.planContext.engine?.image(p.service.image).catch(() => undefined))?.labels : undefined;
  const rows = await Promise.all(plans.map(async (p) => checkRow(p, unitOf(p.service.name), await labelsOf(p))));
  if (format === 'json') {
    // Candidate and dropped tags only on request: for 200 services over 200-tag repositories they are
    // 80,000 entries, which scripts reading the status do not want to parse.
    const services = flags.explain
      ? rows.map((r, i) => ({ ...r, candidates: plans[i].selection?.candidates.map((c) => c.tag), dropped: plans[i].selection?.dropped, signatures: plans[i].signatures }))
      : rows;
    const unitList = units.filter((u) => u.unit.services.length > 1).map((u) => ({
      services: u.unit.services, via: u.unit.via, label: u.unit.label, decision: u.decision.kind, reason: u.decision.reason,
      dependents: u.unit.dependents, ...(flags.explain ? { passedOver: u.passedOver } : {}),
    }));
    process.stdout.write(`${JSON.stringify({ project: prepared.project.name, services, units: unitList, requests: runtime.registry.stats.requests }, null, 2)}\n`);
  } else {
    const width = format === 'wide' ? undefined : terminalWidth(process.env, process.stdout);
    process.stdout.write(`${renderTable(rows, width)}${renderUnits(units)}\n`);
    if (flags.explain) process.stdout.write(`\n${[...plans.map(explain), ...units.map(explainUnit).filter(Boolean)].join('\n\n')}\n`);
  }
  if (rows.some((r) => r.status === 'error')) return CHECK_EXIT.error;
  // A held update is still an update: scripts asking "is anything behind?" get 10, the table says until when.
  return rows.some((r) => r.status === 'update available' || r.status === 'new digest' || r.status === 'held') ? CHECK_EXIT.updates : CHECK_EXIT.upToDate;
}
