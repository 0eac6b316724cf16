/**
 * `dosync check --all`: every project's plan, as `check` makes it for one, with the registry work shared
 * (one listing and one digest per repository for all projects). Changes nothing, takes no lock.
 */
import { prepare, planStackUnits, type CycleDeps } from '../sync/cycle.js';
import { planService, type ServicePlan } from '../sync/plan.js';
import type { UnitPlan } from '../sync/unit-plan.js';
import { StateStore, defaultStatePath } from '../sync/state.js';
import { errorMessage } from '../util/errors.js';
import { projectStateDir, type Host } from './host.js';
import { shareListings } from '../registry/shared-listings.js';
import { notWatched } from './discover.js';
import { createSwarmRuntime } from '../engine/index.js';

export interface ProjectCheck {
  project: string;
  files: string[];
  plans: ServicePlan[];
  units: UnitPlan[];
  error?: string;
}

export async function checkProjects(host: Host, opts: { stateDir: string; watchByDefault: boolean }, deps: Omit<CycleDeps, 'state' | 'digests'>): Promise<ProjectCheck[]> {
  const { specs, problems } = await host.find();
  const registry = shareListings(deps.registry);
  const digests = new Map();
  const checks = await Promise.all(specs.map(async (spec): Promise<ProjectCheck> => {
    const logger = deps.logger.child({ project: spec.name });
    try {
      const stateDir = projectStateDir(opts.stateDir, spec.name);
      const state = await StateStore.open(defaultStatePath(stateDir));
      const config = await host.projectConfig(spec, logger);
      // A swarm stack is seen through the swarm runtime, as its cycle sees it (services, not containers).
      const runtime = spec.stack && deps.docker ? createSwarmRuntime(deps.docker, spec.stack, { credentials: deps.credentials }) : undefined;
      const prepared = await prepare({ files: spec.files, envFile: spec.envFile, config, projectName: spec.name, stateDir }, { ...deps, logger, registry, digests, state, ...(runtime ? { runtime } : {}) });
      const watch = config.watch_by_default ?? opts.watchByDefault;
      const own = await Promise.all(prepared.stack.services.map((s) => {
        const why = notWatched(s.labels, watch);
        return why ? { service: s, decision: { kind: 'skipped' as const, reason: why } } : planService(s, prepared.planContext);
      }));
      const units = await planStackUnits(prepared.stack, own, prepared.planContext, config);
      const plans = units.flatMap((u) => u.members).sort((a, b) => prepared.stack.services.indexOf(a.service) - prepared.stack.services.indexOf(b.service));
      return { project: spec.name, files: spec.files, plans, units };
    } catch (err) {
      return { project: spec.name, files: spec.files, plans: [], units: [], error: errorMessage(err) };
    }
  }));
  return [...checks, ...problems.map((p) => ({ project: p.project, files: p.files, plans: [], units: [], error: p.error }))].sort((a, b) => a.project.localeCompare(b.project));
}
