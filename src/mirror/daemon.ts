/**
 * The mirror daemon: each task on its own clock, an interval (first cycle at start, the next one
 * `interval` after a cycle ends) or a cron schedule (croner; a run still going when the next is due
 * is not doubled). A cycle that reaches maxErrors ends the daemon with exit code 1, as docker-sync
 * does, so a supervisor notices; a stop signal lets running cycles finish.
 */
import { Cron } from 'croner';
import type { Logger } from '../util/logger.js';
import type { MirrorTask } from './config.js';
import type { TaskSummary } from './run.js';

export interface DaemonOptions {
  tasks: MirrorTask[];
  cycle: (task: MirrorTask) => Promise<TaskSummary>;
  logger: Logger;
  signal: AbortSignal;
}

/** Resolves with the exit code once stopped (0) or once a cycle reached maxErrors (1). */
export function runMirrorDaemon(opts: DaemonOptions): Promise<number> {
  return new Promise((resolve) => {
    const running = new Set<Promise<unknown>>();
    const crons: Cron[] = [];
    const wakers = new Set<() => void>();
    let exitCode: number | undefined;

    const finish = (code: number) => {
      if (exitCode !== undefined) return;
      exitCode = code;
      for (const c of crons) c.stop();
      for (const wake of wakers) wake();
      void Promise.allSettled([...running]).then(() => resolve(code));
    };
    opts.signal.addEventListener('abort', () => finish(0), { once: true });

    const once = async (task: MirrorTask) => {
      const summary = await opts.cycle(task).catch((err: unknown) => {
        opts.logger.error({ task: task.name, err }, 'mirror cycle crashed');
        return undefined;
      });
      if (summary?.aborted) finish(1);
    };
    const track = (p: Promise<void>) => {
      running.add(p);
      void p.finally(() => running.delete(p));
    };
    const sleep = (ms: number) => new Promise<void>((wake) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakers.delete(done);
        wake();
      }
      wakers.add(done);
    });

    for (const task of opts.tasks) {
      if (task.cron !== undefined) {
        const job = new Cron(task.cron, { protect: true }, async () => {
          if (exitCode !== undefined) return;
          const run = once(task);
          track(run);
          await run;
        });
        crons.push(job);
        opts.logger.info({ task: task.name, schedule: task.cron, next: job.nextRun()?.toISOString() }, 'mirror task scheduled');
      } else {
        const interval = task.intervalMs!;
        track((async () => {
          while (exitCode === undefined) {
            await once(task);
            if (exitCode !== undefined) break;
            await sleep(interval);
          }
        })());
      }
    }
    if (opts.signal.aborted) finish(0);
  });
}
