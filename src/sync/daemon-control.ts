/**
 * The running daemon's side of src/sync/control.ts: takes actions (API, dashboard, MQTT, the inbox),
 * answers each at once, and hands the daemon loop what to do next (which cycle to run, a rollback).
 */
import type { Logger } from '../util/logger.js';
import { errorMessage, isUserError } from '../util/errors.js';
import { applyToState, drainInbox, type Action, type ActionResult } from './control.js';
import { serviceKey, type StateStore } from './state.js';
import { clearFailed } from './retry.js';
import { pause, resume } from './schedule.js';
import type { ForcedTag } from './unit-plan.js';

/** What the next cycle was asked for: check only, only some services, one service to a chosen tag. */
export interface CycleRequest {
  checkOnly?: boolean;
  services?: string[];
  forced?: ForcedTag;
}

export interface ControlOptions {
  state: StateStore;
  project: string;
  stateDir: string;
  logger: Logger;
  /** --check-only: nothing is ever applied, so actions that would apply say so instead of pretending. */
  checkOnly: boolean;
  /** The services of the stack (the last cycle's), to refuse unknown names. */
  services: () => string[] | undefined;
  /** Runs a rollback of one service now (between cycles); resolves with what to tell the caller. */
  rollback: (service: string) => Promise<string>;
  wake: () => void;
  now?: () => Date;
}

export interface DaemonControl {
  handle(action: Action): Promise<ActionResult>;
  /** Asks for a cycle (API triggers, registry webhooks) and wakes the daemon. */
  request(next: CycleRequest): void;
  /** The daemon's next step: inbox requests, queued rollbacks; returns the request for the coming cycle. */
  beforeCycle(): Promise<CycleRequest | undefined>;
  /** Cycles and rollbacks asked for and not yet run. */
  busy(): boolean;
}

const CHECK_ONLY = 'dosync runs with --check-only: it reports updates and never applies them; start it without --check-only to apply';

export function createDaemonControl(opts: ControlOptions): DaemonControl {
  const now = opts.now ?? (() => new Date());
  let request: CycleRequest | undefined;
  const rollbacks: Array<{ service: string; done: (message: string) => void }> = [];
  const key = (service: string) => serviceKey(opts.project, service);
  const ask = (next: CycleRequest) => {
    // Requests are merged: a check never narrows an update asked before it.
    if (!request) request = next;
    else request = {
      checkOnly: request.checkOnly && next.checkOnly,
      services: request.services && next.services ? [...new Set([...request.services, ...next.services])] : undefined,
      forced: next.forced ?? request.forced,
    };
    opts.wake();
  };

  async function handle(action: Action): Promise<ActionResult> {
    if (action.project && action.project !== opts.project) return { ok: false, status: 404, message: `this dosync manages project ${opts.project}, not ${action.project}` };
    const known = opts.services();
    if ('service' in action && action.service && known && !known.includes(action.service)) return { ok: false, status: 404, message: `no service "${action.service}" in the compose file` };
    const applies = action.kind === 'approve' || action.kind === 'update' || action.kind === 'rollback' || action.kind === 'retry';
    if (opts.checkOnly && applies) return { ok: false, status: 409, message: CHECK_ONLY };
    switch (action.kind) {
      case 'check':
        ask({ checkOnly: true, services: action.service ? [action.service] : undefined });
        return { ok: true, message: 'a check runs now', queued: true };
      case 'approve': {
        const r = applyToState(opts.state, key(action.service), action, now());
        if (!r.ok) return r;
        await opts.state.save();
        ask({ services: [action.service] });
        return r;
      }
      case 'skip': {
        const r = applyToState(opts.state, key(action.service), action, now());
        await opts.state.save();
        return r;
      }
      case 'update':
        ask({ services: [action.service], forced: { service: action.service, tag: action.tag } });
        return { ok: true, message: `${action.service}: update to ${action.tag} queued`, queued: true };
      case 'retry':
        try {
          clearFailed(opts.state, { services: [{ name: action.service, key: key(action.service) }], tag: action.tag, all: false, at: now() });
        } catch (err) {
          if (isUserError(err)) return { ok: false, status: 409, message: errorMessage(err) };
          throw err;
        }
        await opts.state.save();
        ask({ services: [action.service] });
        return { ok: true, message: `${action.service}: failed tags cleared; checking it again now`, queued: true };
      case 'rollback': {
        const message = new Promise<string>((done) => rollbacks.push({ service: action.service, done }));
        opts.wake();
        void message;
        return { ok: true, message: `${action.service}: rollback queued`, queued: true };
      }
      case 'pause':
        if (action.service) {
          opts.state.setPaused(key(action.service), true);
          await opts.state.save();
          return { ok: true, message: `${action.service}: updates paused (checks go on)` };
        }
        await pause(opts.stateDir, { now: now(), reason: 'paused from the dashboard/API' });
        return { ok: true, message: 'updates paused (checks go on)' };
      case 'resume':
        if (action.service) {
          opts.state.setPaused(key(action.service), false);
          await opts.state.save();
          ask({ services: [action.service] });
          return { ok: true, message: `${action.service}: updates resumed` };
        }
        await resume(opts.stateDir);
        ask({});
        return { ok: true, message: 'updates resumed' };
    }
  }

  return {
    handle,
    request: ask,
    busy: () => request !== undefined || rollbacks.length > 0,
    async beforeCycle() {
      for (const r of await drainInbox(opts.stateDir)) {
        if (!r.action) { opts.logger.warn(`inbox request ${r.file} ignored: ${r.error}`); continue; }
        const result = await handle(r.action).catch((err: unknown) => ({ ok: false as const, status: 409 as const, message: errorMessage(err) }));
        if (result.ok) opts.logger.info(`${r.action.kind}: ${result.message}`);
        else opts.logger.error(`${r.action.kind}: ${result.message}`);
      }
      while (rollbacks.length > 0) {
        const next = rollbacks.shift()!;
        const message = await opts.rollback(next.service).catch((err: unknown) => `rollback of ${next.service} failed: ${errorMessage(err)}`);
        opts.logger.info(message);
        next.done(message);
      }
      const r = request;
      request = undefined;
      return r;
    },
  };
}
