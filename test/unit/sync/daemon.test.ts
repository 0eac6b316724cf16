import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { PassThrough } from 'node:stream';
import { startDaemon } from '../../../src/sync/daemon.js';
import { createLogger } from '../../../src/util/logger.js';

test('the daemon leaves no abort listener behind per idle wait (a long-running daemon must not grow)', async () => {
  const stop = new AbortController();
  let cycles = 0;
  let listenersSeen = 0;
  const daemon = startDaemon({
    logger: createLogger({ json: true, destination: new PassThrough() }),
    next: (after) => new Date(after.getTime() + 1),
    signal: stop.signal,
    cycle: async () => {
      cycles++;
      listenersSeen = Math.max(listenersSeen, getEventListeners(stop.signal, 'abort').length);
      if (cycles === 30) stop.abort();
    },
  });
  await daemon.done;
  assert.equal(cycles, 30);
  // During a cycle no wait is pending, so no listener of the daemon's may be registered.
  assert.equal(listenersSeen, 0, `${listenersSeen} abort listeners piled up over ${cycles} cycles`);
});

test('aborting during the idle wait ends the daemon at once, not at the next scheduled cycle', { timeout: 10_000 }, async () => {
  const stop = new AbortController();
  let cycles = 0;
  const daemon = startDaemon({
    logger: createLogger({ json: true, destination: new PassThrough() }),
    next: (after) => new Date(after.getTime() + 3_600_000),
    signal: stop.signal,
    cycle: async () => { cycles++; },
  });
  setTimeout(() => stop.abort(), 20);
  await daemon.done;
  assert.equal(cycles, 1);
});
