/**
 * `--all` on a swarm manager: the stacks it runs. Those a service label gives a file for are looked after;
 * each other one gets one line, once per process (a daemon would repeat it every cycle), and is left alone.
 */
import type Docker from 'dockerode';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/errors.js';
import { stackServiceLabels } from '../engine/swarm-stacks.js';
import { stacksFromServices, unconfiguredStackLine, type ProjectSpec } from './discover.js';

const told = new Set<string>();

/**
 * The stacks to look after (specs) and those that cannot be (unconfigured: no file known), minus the
 * excluded names. Each unconfigured one is logged once per process; the status names them every time.
 */
export async function foundStacks(docker: Docker, listed: readonly ProjectSpec[], logger: Logger, exclude: readonly string[] = []): Promise<{ specs: ProjectSpec[]; unconfigured: string[] }> {
  let labels: Awaited<ReturnType<typeof stackServiceLabels>>;
  try {
    labels = await stackServiceLabels(docker);
  } catch (err) {
    // The Compose projects go on; the engine's own failure shows in their cycles too.
    logger.warn(`swarm stacks: cannot list the engine's services: ${errorMessage(err)}`);
    return { specs: [], unconfigured: [] };
  }
  const found = stacksFromServices(labels, listed);
  const unconfigured = found.unconfigured.filter((name) => !exclude.includes(name));
  for (const name of unconfigured) {
    if (told.has(name)) continue;
    told.add(name);
    logger.warn(unconfiguredStackLine(name));
  }
  return { specs: found.specs, unconfigured };
}
