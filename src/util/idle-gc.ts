/**
 * Gives memory back while the daemon waits for its next cycle. V8 sizes its heap for the allocation
 * rate of the last cycles and shrinks it on its own only when it notices the process is idle, which
 * after a busy stretch may be never: measured on the 200-service bench stack, a daemon left idle after
 * 100 quick cycles held 154 MB RSS for good; three full collections in the first seconds of the wait
 * bring it to ~78 MB. A collection of the ~20 MB live heap costs ~10 ms of CPU.
 *
 * `gc` is V8's own function, switched on at run time the way the `expose-gc` package does (a V8 flag,
 * then a fresh context that has the function); no library is needed for two lines.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc`: a full collection, or a young-generation one with `{ type: 'minor' }`. */
type Gc = (opts?: { type?: 'major' | 'minor'; execution?: 'sync' }) => void;
let gcFunction: Gc | null | undefined;

/**
 * V8's `gc` for this process's own use (the idle collections here, the GC pacer of blob copies), or null
 * where the runtime does not offer it. bin/load-bundle.js sets the flag before the code cache is checked,
 * so that setting it here changes no flag the cache was made with.
 */
export function v8Gc(): Gc | null {
  if (gcFunction === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gcFunction = runInNewContext('gc') as Gc;
    } catch {
      gcFunction = null; // not offered by this runtime: V8's own heuristics stay in charge
    }
  }
  return gcFunction;
}

/** Only waits this long or longer are worth collecting for (a cycle every few seconds keeps its heap). */
export const IDLE_GC_MIN_WAIT_MS = 20_000;
/** When, after the wait begins, the collections run: V8 frees pages and shrinks the young generation over a few of them. */
const COLLECT_AT_MS = [1_000, 4_000, 8_000];

/** Schedules the collections for a wait of `waitMs`; returns the function that cancels those still pending. */
export function collectWhileIdle(waitMs: number): () => void {
  if (waitMs < IDLE_GC_MIN_WAIT_MS) return () => {};
  const collect = v8Gc();
  if (!collect) return () => {};
  const timers = COLLECT_AT_MS.map((ms) => {
    const t = setTimeout(collect, ms);
    t.unref();
    return t;
  });
  return () => { for (const t of timers) clearTimeout(t); };
}

/**
 * One full collection now, where the runtime offers it: after work that left a lot of garbage at once
 * (the body, text and parsed pages of a very large tag list), so that it does not add up with what the
 * next step allocates before V8 gets round to it. Costs tens of milliseconds; used only for such work.
 */
export function collectNow(): void {
  v8Gc()?.();
}
