import type { Logger } from '../util/logger.js';
import { errorMessage, isUserError } from '../util/errors.js';
import { formatDuration } from '../util/duration.js';

export interface DaemonOptions {
  intervalMs: number;
  logger: Logger;
  /** One cycle; a thrown UserError is logged and the daemon keeps going. */
  cycle: () => Promise<unknown>;
  signal: AbortSignal;
}

/**
 * Runs a cycle, waits the interval, repeats; never two cycles at once. The interval is measured from the
 * end of a cycle so a slow registry cannot make cycles pile up. Resolves when `signal` aborts, after the
 * current cycle has finished its current step.
 */
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  opts.logger.info({ interval: formatDuration(opts.intervalMs) }, 'dosync daemon started');
  while (!opts.signal.aborted) {
    try {
      await opts.cycle();
    } catch (err) {
      if (isUserError(err)) opts.logger.error(errorMessage(err));
      else opts.logger.error({ err }, 'cycle failed unexpectedly');
    }
    if (opts.signal.aborted) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.intervalMs);
      opts.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }
  opts.logger.info('dosync daemon stopped');
}
