/**
 * The cycle (plan -> apply, state, recovery) against a fake runtime (test/helpers/fake-runtime.ts): the
 * update path's decisions without an engine. The real-engine tests (test/integration) cover the same
 * paths end to end; these pin the logic: all-or-none units, the health gate, recovery from each journal
 * step, prune after success.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runCycle, type CycleSettings } from '../../../src/sync/cycle.js';
import { StateStore, defaultStatePath, INTENT_STEPS, type IntentStep } from '../../../src/sync/state.js';
import { createLogger } from '../../../src/util/logger.js';
import { fakeRegistry, fakeRuntime, fakeWorld, publish, run, runningRefs, type FakeWorld } from '../../helpers/fake-runtime.js';

const R = 'reg.test:5000';
let dir: string;
let world: FakeWorld;
let logs: Array<{ msg: string; level: number }>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'i17-cycle-'));
  world = fakeWorld();
  logs = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function logger() {
  const sink = new Writable({ write(chunk, _enc, done) { for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line)); done(); } });
  return createLogger({ json: true, destination: sink });
}

function settings(files: string[], extra: Partial<CycleSettings> = {}): CycleSettings {
  return {
    files, config: {}, dryRun: false, keepBackups: 5, backupDir: join(dir, 'backups'), stateDir: join(dir, 'state'),
    health: { timeoutMs: 1000, stableMs: 0 }, rolling: false, prune: false, ...extra,
  };
}

/** One dosync process: a state store opened from disk and a runtime over the shared world. */
async function cycle(files: string[], opts: { crashAfter?: IntentStep; extra?: Partial<CycleSettings> } = {}) {
  const state = await StateStore.open(defaultStatePath(join(dir, 'state')));
  if (opts.crashAfter) {
    // kill -9 right after the step is on disk: the journal's write completes, nothing after it runs.
    const begin = state.beginIntent.bind(state);
    state.beginIntent = async (intent) => {
      await begin(intent);
      if (intent.step === opts.crashAfter) await new Promise(() => undefined);
    };
  }
  const deps = { runtime: fakeRuntime(world), registry: fakeRegistry(world), logger: logger(), credentials: async () => undefined, registryPolicySource: () => undefined, state };
  const report = runCycle(settings(files, opts.extra), deps);
  return { state, report };
}

/** Runs a cycle that "crashes" at `step`: resolves once that step was recorded on disk (the cycle never ends). */
async function crashedCycle(files: string[], step: IntentStep): Promise<void> {
  const { report } = await cycle(files, { crashAfter: step });
  const path = defaultStatePath(join(dir, 'state'));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text && JSON.parse(text).intent?.step === step) return;
    // A cycle that ended (no crash point reached) is a test bug: say so rather than wait.
    const ended = await Promise.race([report.then(() => true, () => true), new Promise<false>((r) => setTimeout(() => r(false), 10))]);
    if (ended) throw new Error(`the cycle ended without reaching step ${step}`);
    if (Date.now() > deadline) throw new Error(`step ${step} was not recorded`);
  }
}

async function composeFile(text: string, env?: string): Promise<string[]> {
  const file = join(dir, 'docker-compose.yml');
  await writeFile(file, text);
  if (env !== undefined) await writeFile(join(dir, '.env'), env);
  return [file];
}

const oneService = () => composeFile(`services:\n  web:\n    image: ${R}/web:1.0.0 # pinned by dosync\n`);

describe('runCycle against a fake runtime', () => {
  test('an update: pulled, the file rewritten (comment kept), replaced, health-gated, recorded; prune removes the replaced image', async () => {
    const oldId = publish(world, `${R}/web:1.0.0`);
    publish(world, `${R}/web:1.1.0`);
    run(world, 'web', `${R}/web:1.0.0`, 2);
    const files = await oneService();
    const { report, state } = await cycle(files, { extra: { prune: true } });
    const r = await report;
    assert.equal(r.failures, 0);
    assert.deepEqual(r.outcomes.map((o) => [o.service, o.outcome.status]), [['web', 'updated']]);
    assert.equal(await readFile(files[0], 'utf8'), `services:\n  web:\n    image: ${R}/web:1.1.0 # pinned by dosync\n`);
    assert.deepEqual(runningRefs(world), { web: `${R}/web:1.1.0` });
    assert.equal(world.services.get('web')!.ids.length, 2, 'both replicas replaced');
    assert.deepEqual(world.calls.filter((c) => !c.startsWith('instances') && c !== 'ping'), [`pull ${R}/web:1.1.0`, 'replace web', 'health web', `prune ${oldId}`]);
    assert.equal(world.images.has(oldId), false, 'the replaced image is pruned');
    const o = r.outcomes[0].outcome;
    assert.ok(o.status === 'updated' && o.pruned.includes(oldId));
    assert.equal(state.pendingIntent(), undefined, 'no intent left behind');
    const reopened = await StateStore.open(defaultStatePath(join(dir, 'state')));
    assert.equal(reopened.get('fake/web')?.lastUpdate?.outcome, 'updated');
  });

  test('without --prune nothing is removed', async () => {
    const oldId = publish(world, `${R}/web:1.0.0`);
    publish(world, `${R}/web:1.1.0`);
    run(world, 'web', `${R}/web:1.0.0`);
    const { report } = await cycle(await oneService());
    assert.equal((await report).failures, 0);
    assert.equal(world.calls.some((c) => c.startsWith('prune')), false);
    assert.equal(world.images.has(oldId), true);
  });

  test('a failing health gate: the file is restored, the service runs the old image again, the tag is recorded and not retried', async () => {
    publish(world, `${R}/web:1.0.0`);
    publish(world, `${R}/web:1.1.0`, { bad: true });
    run(world, 'web', `${R}/web:1.0.0`);
    const files = await oneService();
    const original = await readFile(files[0], 'utf8');
    const first = await (await cycle(files, { extra: { prune: true } })).report;
    assert.equal(first.failures, 1);
    const o = first.outcomes[0].outcome;
    assert.equal(o.status, 'rolled-back');
    assert.match(o.status === 'rolled-back' ? o.reason : '', /reports unhealthy/);
    assert.equal(await readFile(files[0], 'utf8'), original);
    assert.deepEqual(runningRefs(world), { web: `${R}/web:1.0.0` });
    assert.equal(world.calls.some((c) => c.startsWith('prune')), false, 'a failed update prunes nothing');
    const { state, report } = await cycle(files);
    assert.equal((await report).failures, 0);
    assert.equal(state.isFailed('fake/web', '1.1.0'), true);
    assert.equal(world.calls.filter((c) => c === `pull ${R}/web:1.1.0`).length, 1, 'the failed tag is not pulled again');
  });

  test('a failed pull touches nothing and does not mark the tag failed', async () => {
    publish(world, `${R}/web:1.0.0`);
    publish(world, `${R}/web:1.1.0`);
    run(world, 'web', `${R}/web:1.0.0`);
    world.failingPulls.add(`${R}/web:1.1.0`);
    const files = await oneService();
    const original = await readFile(files[0], 'utf8');
    const { report, state } = await cycle(files);
    const r = await report;
    assert.equal(r.outcomes[0].outcome.status, 'failed');
    assert.equal(world.calls.some((c) => c.startsWith('replace')), false);
    assert.equal(await readFile(files[0], 'utf8'), original);
    assert.equal(state.isFailed('fake/web', '1.1.0'), false);
  });

  describe('a unit (two services on one .env tag) is all or none', () => {
    const unitFiles = () => composeFile(`services:\n  api:\n    image: ${R}/api:\${TAG}\n  worker:\n    image: ${R}/worker:\${TAG}\n`, 'TAG=1.0.0\n');

    test('both healthy: one .env edit, both replaced together', async () => {
      for (const s of ['api', 'worker']) { publish(world, `${R}/${s}:1.0.0`); publish(world, `${R}/${s}:1.1.0`); run(world, s, `${R}/${s}:1.0.0`); }
      const files = await unitFiles();
      const r = await (await cycle(files)).report;
      assert.equal(r.failures, 0);
      assert.equal(await readFile(join(dir, '.env'), 'utf8'), 'TAG=1.1.0\n');
      assert.deepEqual(runningRefs(world), { api: `${R}/api:1.1.0`, worker: `${R}/worker:1.1.0` });
      assert.ok(world.calls.includes('replace api,worker'), world.calls.join('\n'));
    });

    test('one member unhealthy: the .env is restored and both members run their old images; the tag is failed for both', async () => {
      for (const s of ['api', 'worker']) { publish(world, `${R}/${s}:1.0.0`); publish(world, `${R}/${s}:1.1.0`, { bad: s === 'worker' }); run(world, s, `${R}/${s}:1.0.0`); }
      const files = await unitFiles();
      const { report, state } = await cycle(files);
      const r = await report;
      assert.deepEqual(r.outcomes.map((o) => [o.service, o.outcome.status]), [['api', 'rolled-back'], ['worker', 'rolled-back']]);
      for (const o of r.outcomes) assert.match(o.outcome.status === 'rolled-back' ? o.outcome.reason : '', /^unit .*failed: worker: .*reports unhealthy/);
      assert.equal(await readFile(join(dir, '.env'), 'utf8'), 'TAG=1.0.0\n');
      assert.deepEqual(runningRefs(world), { api: `${R}/api:1.0.0`, worker: `${R}/worker:1.0.0` });
      assert.ok(world.calls.includes('restore api,worker'), world.calls.join('\n'));
      assert.equal(state.isFailed('fake/api', '1.1.0'), true);
      assert.equal(state.isFailed('fake/worker', '1.1.0'), true);
    });

    test('a member whose pull fails: nothing is written or replaced', async () => {
      for (const s of ['api', 'worker']) { publish(world, `${R}/${s}:1.0.0`); publish(world, `${R}/${s}:1.1.0`); run(world, s, `${R}/${s}:1.0.0`); }
      world.failingPulls.add(`${R}/worker:1.1.0`);
      const r = await (await cycle(await unitFiles())).report;
      assert.deepEqual(r.outcomes.map((o) => o.outcome.status), ['failed', 'failed']);
      assert.equal(await readFile(join(dir, '.env'), 'utf8'), 'TAG=1.0.0\n');
      assert.equal(world.calls.some((c) => c.startsWith('replace')), false);
    });

    test('killed while recreating the unit: the next start finishes both members', async () => {
      for (const s of ['api', 'worker']) { publish(world, `${R}/${s}:1.0.0`); publish(world, `${R}/${s}:1.1.0`); run(world, s, `${R}/${s}:1.0.0`); }
      const files = await unitFiles();
      await crashedCycle(files, 'recreating');
      world.calls.length = 0;
      const { report, state } = await cycle(files);
      assert.equal((await report).failures, 0);
      assert.equal(world.calls.filter((c) => !c.startsWith('instances') && c !== 'ping')[0], 'replace api,worker', 'recovery recreates the whole unit first');
      assert.deepEqual(runningRefs(world), { api: `${R}/api:1.1.0`, worker: `${R}/worker:1.1.0` });
      assert.equal(state.pendingIntent(), undefined);
    });
  });

  describe('recovery after a crash at each journal step', () => {
    // What the next start does first, per step (state.ts recoverIntent), and where it ends for a good image.
    const expected: Record<Exclude<IntentStep, 'rolling-back'>, { firstCall: string; log: RegExp }> = {
      pulled: { firstCall: `pull ${R}/web:1.1.0`, log: /rolling back it/ },
      'file-written': { firstCall: `pull ${R}/web:1.1.0`, log: /rolling back it/ },
      recreating: { firstCall: 'replace web', log: /finishing it/ },
      'health-check': { firstCall: 'replace web', log: /finishing it/ },
    };
    for (const [step, want] of Object.entries(expected) as Array<[Exclude<IntentStep, 'rolling-back'>, (typeof expected)['pulled']]>) {
      test(`killed after "${step}": the next start ${want.firstCall.startsWith('pull') ? 'undoes it and updates again' : 'finishes it'}; the stack ends consistent on 1.1.0`, async () => {
        publish(world, `${R}/web:1.0.0`);
        publish(world, `${R}/web:1.1.0`);
        run(world, 'web', `${R}/web:1.0.0`);
        const files = await oneService();
        await crashedCycle(files, step);
        world.calls.length = 0;
        const { report, state } = await cycle(files);
        const r = await report;
        assert.equal(r.failures, 0);
        assert.ok(logs.some((l) => /an interrupted update was found/.test(l.msg) && want.log.test(l.msg)), JSON.stringify(logs.map((l) => l.msg)));
        assert.equal(world.calls.filter((c) => !c.startsWith('instances') && c !== 'ping')[0], want.firstCall, world.calls.join('\n'));
        assert.equal(await readFile(files[0], 'utf8'), `services:\n  web:\n    image: ${R}/web:1.1.0 # pinned by dosync\n`);
        assert.deepEqual(runningRefs(world), { web: `${R}/web:1.1.0` });
        assert.equal(state.pendingIntent(), undefined);
        assert.equal(state.isFailed('fake/web', '1.1.0'), false);
      });
    }

    test('killed during the health gate of a bad image: the next start runs the gate again, rolls back and records the tag', async () => {
      publish(world, `${R}/web:1.0.0`);
      publish(world, `${R}/web:1.1.0`, { bad: true });
      run(world, 'web', `${R}/web:1.0.0`);
      const files = await oneService();
      const original = await readFile(files[0], 'utf8');
      await crashedCycle(files, 'health-check');
      assert.deepEqual(runningRefs(world), { web: `${R}/web:1.1.0` }, 'the crash left the new image running');
      const { report, state } = await cycle(files);
      await report;
      assert.equal(await readFile(files[0], 'utf8'), original);
      assert.deepEqual(runningRefs(world), { web: `${R}/web:1.0.0` });
      assert.equal(state.isFailed('fake/web', '1.1.0'), true);
      assert.equal(state.pendingIntent(), undefined);
    });

    test('killed while rolling back: the next start resumes the rollback and records the tag as failed', async () => {
      publish(world, `${R}/web:1.0.0`);
      publish(world, `${R}/web:1.1.0`, { bad: true });
      run(world, 'web', `${R}/web:1.0.0`);
      const files = await oneService();
      const original = await readFile(files[0], 'utf8');
      await crashedCycle(files, 'rolling-back');
      world.calls.length = 0;
      const { report, state } = await cycle(files);
      await report;
      assert.ok(logs.some((l) => /interrupted update was found.*rolling back it/.test(l.msg)));
      assert.equal(world.calls.filter((c) => !c.startsWith('instances') && c !== 'ping')[0], 'restore web');
      assert.equal(await readFile(files[0], 'utf8'), original);
      assert.deepEqual(runningRefs(world), { web: `${R}/web:1.0.0` });
      assert.equal(state.isFailed('fake/web', '1.1.0'), true);
      assert.equal(world.calls.includes(`pull ${R}/web:1.1.0`), false, 'the failed tag is not tried again');
    });

    test('every journal step is covered above', () => {
      assert.deepEqual([...INTENT_STEPS].sort(), [...Object.keys(expected), 'rolling-back'].sort());
    });
  });

  test('a digest update of the same tag: a failed gate points the tag back at the old image', async () => {
    const oldId = publish(world, `${R}/web:latest`, { build: 'one' });
    run(world, 'web', `${R}/web:latest`);
    publish(world, `${R}/web:latest`, { build: 'two', bad: true });
    const files = await composeFile(`services:\n  web:\n    image: ${R}/web:latest\n`);
    const r = await (await cycle(files)).report;
    assert.equal(r.outcomes[0].outcome.status, 'rolled-back');
    assert.equal(world.images.get(`${R}/web:latest`)?.id, oldId, 'the tag names the old image again');
    assert.ok(world.calls.includes(`repoint ${R}/web:latest`));
    assert.equal(world.services.get('web')!.imageId, oldId);
  });
});
