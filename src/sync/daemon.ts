import type { Logger } from '../util/logger.js';
import { asLocalError, errorMessage, isUserError } from '../util/errors.js';
import { collectWhileIdle } from '../util/idle-gc.js';

export interface DaemonOptions {
  logger: Logger;
  /** When the next cycle runs, given when the last one ended (interval or cron, with jitter). */
  next: (after: Date) => Date | undefined;
  /** One cycle; a thrown UserError is logged and the daemon keeps going. */
  cycle: () => Promise<unknown>;
  signal: AbortSignal;
}

export interface Daemon {
  /** Runs a cycle as soon as the current one (if any) ends: API triggers and registry webhooks. */
  wake(): void;
  done: Promise<void>;
}

/**
 * Runs a cycle, waits until the schedule says, repeats; never two cycles at once. Measured from the end of
 * a cycle so a slow registry cannot make cycles pile up. Ends when `signal` aborts, after the current cycle
 * has finished its current step.
 */
export function startDaemon(opts: DaemonOptions): Daemon {
  let wakeUp: (() => void) | undefined;
  let woken = false;
  const wake = () => { woken = true; wakeUp?.(); };
  const done = (async () => {
    opts.logger.info('dosync daemon started');
    while (!opts.signal.aborted) {
      woken = false;
      try {
        await opts.cycle();
      } catch (caught) {
        const err = asLocalError(caught);
        if (isUserError(err)) opts.logger.error(errorMessage(err));
        else opts.logger.error({ err }, 'cycle failed unexpectedly');
      }
      if (opts.signal.aborted) break;
      if (woken) continue;
      const at = opts.next(new Date());
      if (!at) { opts.logger.warn('the schedule has no next run; waiting for a trigger'); }
      else opts.logger.debug({ next: at.toISOString() }, 'next cycle');
      const stop = () => wakeUp?.();
      const cancelCollections = collectWhileIdle(at ? at.getTime() - Date.now() : Infinity);
      await new Promise<void>((resolve) => {
        const timer = at ? setTimeout(resolve, Math.max(0, at.getTime() - Date.now())) : undefined;
        wakeUp = () => { if (timer) clearTimeout(timer); resolve(); };
        opts.signal.addEventListener('abort', stop, { once: true });
      });
      // A wait that ended on its timer leaves its abort listener behind: one per cycle, for the life of the daemon.
      opts.signal.removeEventListener('abort', stop);
      cancelCollections();
      wakeUp = undefined;
    }
    opts.logger.info('dosync daemon stopped');
  })();
  return { wake, done };
}
