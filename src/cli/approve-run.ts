/** The work of `dosync approve` and `dosync skip`, loaded only when they run. */
import { ConfigError, UserError } from '../util/errors.js';
import { stackInputs } from './common.js';
import { envFlag } from './env-defaults.js';
import { createDocker } from '../engine/docker.js';
import { resolveProject } from '../engine/project.js';
import { loadStack, stackEnvFiles } from '../sync/cycle.js';
import { StateStore, defaultStatePath, serviceKey } from '../sync/state.js';
import { resolveStateDir } from '../sync/dirs.js';
import { acquireLock } from '../sync/lock.js';
import { applyToState, parseAction, postToInbox, type Action } from '../sync/control.js';
import type { ApproveFlags } from './approve.js';

export async function approveAction(input: { kind: 'approve' | 'skip'; service: string; tag?: string }, flags: ApproveFlags, write: (text: string) => void): Promise<number> {
  const parsed = parseAction(input);
  if (!parsed.ok) throw new ConfigError(`dosync ${input.kind}: ${parsed.reason}`);
  const action = parsed.action as Extract<Action, { kind: 'approve' | 'skip' }>;
  const env = process.env;
  const inputs = await stackInputs({ ...flags, logFormat: flags.logFormat ?? 'json' }, process.stderr);
  if (!(flags.verbose ?? envFlag(env, 'DOSYNC_VERBOSE', 'VERBOSE'))) inputs.logger.level = 'warn';
  const stateDir = resolveStateDir({ flags, env, config: inputs.config, files: inputs.files });
  const envFiles = await stackEnvFiles(inputs.files, inputs.envFile);
  const { stack } = await loadStack(inputs.files, envFiles);
  if (!stack.services.some((s) => s.name === action.service)) {
    throw new UserError(`no service ${action.service} in ${inputs.files.join(', ')}; check the name and -f`);
  }
  const project = await resolveProject(createDocker(), {
    files: inputs.files, envFiles, explicitName: inputs.projectName ?? stack.projectName, serviceNames: stack.services.map((s) => s.name),
  });
  // A daemon holds the lock and owns the state: it takes the request from its inbox and answers in its log.
  const lock = await acquireLock(stateDir, project.name).catch(() => undefined);
  if (!lock) {
    await postToInbox(stateDir, { ...action, project: project.name });
    write(`${action.kind === 'approve' ? 'approval' : 'skip'} of ${action.service}${action.tag ? ` ${action.tag}` : ''} handed to the running dosync (its log says what it did)\n`);
    return 0;
  }
  try {
    const state = await StateStore.open(defaultStatePath(stateDir));
    const r = applyToState(state, serviceKey(project.name, action.service), action, new Date());
    if (!r.ok) throw new UserError(r.message);
    await state.save();
    write(`${action.kind === 'approve' ? `${r.message.replace('it is applied now', 'the next `dosync sync` applies it')}` : r.message}\n`);
    return 0;
  } finally {
    lock.release();
  }
}
