import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { collectWhileIdle, IDLE_GC_MIN_WAIT_MS } from '../../../src/util/idle-gc.js';

/** Forced (not heuristic) major collections observed while `during` runs. */
async function forcedMajorGcs(during: () => Promise<void>): Promise<number> {
  let count = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const d = (e as unknown as { detail: { kind: number; flags: number } }).detail;
      if (d.kind === constants.NODE_PERFORMANCE_GC_MAJOR && d.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) count++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  try {
    await during();
    await new Promise((r) => setTimeout(r, 50)); // entries are delivered asynchronously
  } finally {
    obs.disconnect();
  }
  return count;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a long idle wait gets a full collection within its first seconds', async () => {
  const n = await forcedMajorGcs(async () => {
    const cancel = collectWhileIdle(5 * 60_000);
    await sleep(1_400);
    cancel();
  });
  assert.ok(n >= 1, `expected a forced major GC, saw ${n}`);
});

test('a short wait (a busy schedule) and a cancelled wait get none', async () => {
  const n = await forcedMajorGcs(async () => {
    const short = collectWhileIdle(IDLE_GC_MIN_WAIT_MS - 1);
    const cancelled = collectWhileIdle(5 * 60_000);
    cancelled();
    await sleep(1_400);
    short();
  });
  assert.equal(n, 0);
});
