/** `dosync check --all` (or with a `projects:` list): one table with a PROJECT column, or JSON grouped by project. */
import type { StackInputs } from './common.js';
import { createRegistryRuntime } from './registry-runtime.js';
import { createDocker } from '../engine/docker.js';
import { resolveHostStateDir } from '../sync/dirs.js';
import { resolveSettings } from '../settings/index.js';
import { Host } from '../projects/host.js';
import { checkProjects } from '../projects/check.js';
import { unconfiguredStackLine } from '../projects/discover.js';
import { CHECK_EXIT, checkRow, renderTable, type CheckFlags, type CheckRow } from './check.js';

export async function checkHostAction(flags: CheckFlags, inputs: StackInputs): Promise<number> {
  const { config, configPath, configEnv, logger } = inputs;
  const s = resolveSettings(flags, process.env, config, configPath ?? 'dosync.yaml');
  const stateDir = resolveHostStateDir({ flags, env: process.env, config });
  const runtime = await createRegistryRuntime(config, configEnv, logger, configPath);
  const docker = createDocker();
  const host = new Host({
    docker, logger, hostConfig: config, configPath, configEnv, stateDir, discover: flags.all === true,
    root: s.projectsRoot?.value, exclude: s.excludeProjects?.value ?? [], watchByDefault: s.watchByDefault.value, lock: false,
  });
  const checks = await checkProjects(host, { stateDir, watchByDefault: s.watchByDefault.value }, { docker, logger, ...runtime });
  const rowsOf = (c: (typeof checks)[number]): CheckRow[] => c.plans.map((p) => ({ ...checkRow(p, c.units.find((u) => u.unit.services.includes(p.service.name))), project: c.project }));
  const all = checks.flatMap(rowsOf);
  if (flags.json) {
    const projects = checks.map((c) => ({ project: c.project, files: c.files, ...(c.error ? { error: c.error } : {}), services: rowsOf(c).map(({ project: _p, ...r }) => r) }));
    const stats = runtime.registry.stats;
    const unconfiguredStacks = host.unconfigured.map((stack) => ({ stack, hint: unconfiguredStackLine(stack) }));
    process.stdout.write(`${JSON.stringify({ projects, ...(unconfiguredStacks.length > 0 ? { unconfiguredStacks } : {}), requests: stats.requests, requestsByKind: stats.byKind }, null, 2)}\n`);
  } else {
    const errors = checks.filter((c) => c.error).map((c) => `${c.project}: ${c.error}`);
    // A stack that runs but cannot be updated is not an error of the check: it is said, and the exit code stays.
    const stacks = host.unconfigured.map(unconfiguredStackLine);
    process.stdout.write(`${all.length > 0 ? renderTable(all) : 'no services in the projects found'}\n${errors.length > 0 ? `\nProjects not checked:\n${errors.map((e) => `  ${e}`).join('\n')}\n` : ''}${stacks.length > 0 ? `\nStacks not looked after:\n${stacks.map((l) => `  ${l}`).join('\n')}\n` : ''}`);
  }
  if (checks.some((c) => c.error) || all.some((r) => r.status === 'error')) return CHECK_EXIT.error;
  return all.some((r) => r.status === 'update available' || r.status === 'new digest') ? CHECK_EXIT.updates : CHECK_EXIT.upToDate;
}
