import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import {
  assessHeartbeat, heartbeatFile, parseHeartbeat, readHeartbeat, startHeartbeat, writeHeartbeat,
  DEFAULT_HEARTBEAT_FILE, HEARTBEAT_GRACE_MS, type Heartbeat,
} from '../../../src/sync/heartbeat.js';
import { registerHealthCommand } from '../../../src/cli/health.js';
import { UserError } from '../../../src/util/errors.js';

const T0 = Date.parse('2024-05-01T12:00:00Z');
const beat = (over: Partial<Heartbeat> = {}): Heartbeat => ({
  pid: 4242, hostname: 'box', startedAt: new Date(T0 - 3_600_000).toISOString(), at: new Date(T0).toISOString(), intervalMs: 300_000, cycles: 3, lastCycleOk: true, ...over,
});

describe('assessHeartbeat (pure)', () => {
  const interval = 300_000;
  const cases: Array<[string, Parameters<typeof assessHeartbeat>[0], Parameters<typeof assessHeartbeat>[1], boolean, RegExp]> = [
    ['fresh beat', { kind: 'ok', beat: beat() }, { now: T0 + 1000 }, true, /^healthy: heartbeat 1s ago \(3 cycles, last ok\)$/],
    ['first cycle still running', { kind: 'ok', beat: beat({ cycles: 0, lastCycleOk: undefined }) }, { now: T0 }, true, /started, first cycle running/],
    ['last cycle had a failure: still alive, so healthy', { kind: 'ok', beat: beat({ lastCycleOk: false }) }, { now: T0 }, true, /had a failed service/],
    ['exactly at the default limit', { kind: 'ok', beat: beat() }, { now: T0 + 2 * interval + HEARTBEAT_GRACE_MS }, true, /healthy/],
    ['just past the default limit', { kind: 'ok', beat: beat() }, { now: T0 + 2 * interval + HEARTBEAT_GRACE_MS + 1000 }, false, /more than the allowed 15m: the daemon looks stuck/],
    ['explicit --max-age', { kind: 'ok', beat: beat() }, { now: T0 + 61_000, maxAgeMs: 60_000 }, false, /61s ago, more than the allowed 60s/],
    ['writer gone (same host)', { kind: 'ok', beat: beat() }, { now: T0, hostname: 'box', isAlive: () => false }, false, /pid 4242\) is not running/],
    ['pid not checked from another host/namespace', { kind: 'ok', beat: beat() }, { now: T0, hostname: 'other', isAlive: () => false }, true, /healthy/],
    ['no file', { kind: 'missing' }, { now: T0 }, false, /no heartbeat yet/],
    ['garbage', { kind: 'invalid', reason: 'heartbeat file is not JSON' }, { now: T0 }, false, /not JSON/],
  ];
  for (const [name, read, opts, ok, message] of cases) {
    test(name, () => {
      const r = assessHeartbeat(read, opts);
      assert.equal(r.ok, ok);
      assert.match(r.message, message);
    });
  }
});

describe('parseHeartbeat', () => {
  test('accepts what writeHeartbeat writes', () => assert.deepEqual(parseHeartbeat(JSON.stringify(beat())), { kind: 'ok', beat: beat() }));
  for (const [name, text] of [
    ['not JSON', '{'],
    ['null', 'null'],
    ['missing pid', JSON.stringify({ ...beat(), pid: undefined })],
    ['bad date', JSON.stringify({ ...beat(), at: 'yesterday' })],
    ['lastCycleOk not boolean', JSON.stringify({ ...beat(), lastCycleOk: 'yes' })],
  ]) {
    test(`rejects ${name}`, () => assert.equal(parseHeartbeat(text).kind, 'invalid'));
  }
});

describe('heartbeat file', () => {
  test('DOSYNC_HEARTBEAT_FILE moves it; empty means default', () => {
    assert.equal(heartbeatFile({ DOSYNC_HEARTBEAT_FILE: '/var/lib/dosync/heartbeat.json' }), '/var/lib/dosync/heartbeat.json');
    assert.equal(heartbeatFile({ DOSYNC_HEARTBEAT_FILE: '' }), DEFAULT_HEARTBEAT_FILE);
  });

  test('startHeartbeat writes cycle 0, cycleDone counts cycles and records the outcome', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dosync-hb-'));
    try {
      const file = join(dir, 'sub', 'hb.json');
      let t = T0;
      const hb = await startHeartbeat({ intervalMs: 60_000, file, now: () => new Date(t) });
      let read = await readHeartbeat(file);
      assert.equal(read.kind, 'ok');
      assert.equal(read.kind === 'ok' && read.beat.cycles, 0);
      assert.equal(read.kind === 'ok' && read.beat.pid, process.pid);
      t += 90_000;
      await hb.cycleDone(false);
      read = await readHeartbeat(file);
      assert.deepEqual(read.kind === 'ok' && [read.beat.cycles, read.beat.lastCycleOk, read.beat.at, read.beat.startedAt], [1, false, new Date(T0 + 90_000).toISOString(), new Date(T0).toISOString()]);
      assert.equal(readFileSync(file, 'utf8').endsWith('\n'), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dosync health', () => {
  async function run(args: string[], now: number): Promise<{ out: string; err?: unknown }> {
    let out = '';
    const program = new Command('dosync').exitOverride();
    registerHealthCommand(program, { write: (t) => (out += t), now: () => now });
    try {
      await program.parseAsync(['health', ...args], { from: 'user' });
      return { out };
    } catch (err) {
      return { out, err };
    }
  }

  test('healthy with a fresh beat of this (live) process, unhealthy when stale or missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dosync-hb-'));
    try {
      const file = join(dir, 'hb.json');
      await writeHeartbeat(file, beat({ pid: process.pid, hostname: (await import('node:os')).hostname() }));
      const ok = await run(['--heartbeat-file', file], T0 + 5_000);
      assert.equal(ok.err, undefined);
      assert.match(ok.out, /^healthy: heartbeat 5s ago/);

      const stale = await run(['--heartbeat-file', file, '--max-age', '1m'], T0 + 90_000);
      assert.ok(stale.err instanceof UserError);
      assert.equal((stale.err as UserError).exitCode, 1);
      assert.match((stale.err as Error).message, /^unhealthy: last heartbeat 90s ago, more than the allowed 60s/);

      const missing = await run(['--heartbeat-file', join(dir, 'none.json')], T0);
      assert.match((missing.err as Error).message, /^unhealthy: no heartbeat yet/);

      writeFileSync(file, 'not json');
      assert.match(((await run(['--heartbeat-file', file], T0)).err as Error).message, /not JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a dead writer on this host is unhealthy even with a fresh beat', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dosync-hb-'));
    try {
      const file = join(dir, 'hb.json');
      // pid 2^22+1 is above Linux's pid_max limit, so no process has it.
      await writeHeartbeat(file, beat({ pid: 4_194_305, hostname: (await import('node:os')).hostname() }));
      assert.match(((await run(['--heartbeat-file', file], T0)).err as Error).message, /is not running/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
