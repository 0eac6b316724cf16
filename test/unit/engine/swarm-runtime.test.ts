/**
 * The swarm runtime's decisions (when an update counts as done or failed, when dosync rolls back itself,
 * which spec a rollback and a rollback_config update send) against a fake of the engine calls it makes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSwarmRuntime } from '../../../src/engine/swarm-runtime.js';
import type { HealthResult } from '../../../src/engine/index.js';
import { FakeSwarm } from '../../helpers/swarm-fake.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const OLD = `reg/app:1.0.0@${D1}`;
const NEW = `reg/app:1.1.0@${D2}`;
const project = { name: 'st', workingDir: '/tmp', files: ['/tmp/stack.yml'], envFiles: [] };
const reasonOf = (h: HealthResult) => (h.healthy ? '' : h.reason);
const health = { timeoutMs: 2_000, stableMs: 0, intervalMs: 10 };
const target = (extra: Record<string, unknown> = {}) => ({ service: 'web', image: 'reg/app:1.1.0', imageId: NEW, ...extra });

function setup(opts: ConstructorParameters<typeof FakeSwarm>[3] = {}) {
  const fake = new FakeSwarm('st', 'web', OLD, opts);
  const runtime = createSwarmRuntime(fake.docker, 'st', { pollMs: 5 });
  const gate = (h = health) => runtime.waitHealthy('st', 'web', () => true, 2, h as never);
  return { fake, runtime, gate };
}

test('completed with every task on the pinned image: healthy; one update sent with the new image and the version index', async () => {
  const { fake, runtime, gate } = setup();
  await runtime.replace(project, [target({ updateConfig: { order: 'start-first', parallelism: 1 } })]);
  const h = await gate();
  assert.equal(h.healthy, true, reasonOf(h));
  assert.equal(fake.updates.length, 1);
  assert.equal(fake.updates[0].query.version, 10);
  assert.equal(fake.updates[0].body.TaskTemplate.ContainerSpec.Image, NEW);
  assert.deepEqual(fake.updates[0].body.UpdateConfig, { Order: 'start-first', Parallelism: 1 });
});

test('rollback_completed (the swarm rolled back itself): failed; restore sends nothing more', async () => {
  const { fake, runtime, gate } = setup();
  fake.plan = ['updating', 'rollback_started', 'rollback_completed'];
  await runtime.replace(project, [target()]);
  const h = await gate();
  assert.equal(h.healthy, false);
  assert.match(reasonOf(h), /the swarm rolled the update back/);
  await runtime.restore(project, [target()]);
  assert.equal(fake.updates.length, 1, 'no rollback request of dosync\'s own');
  assert.equal(fake.service.Spec.TaskTemplate.ContainerSpec.Image, OLD);
});

test('paused (failure_action: pause): failed; restore is the engine\'s rollback to the previous spec, and waits for it', async () => {
  const { fake, runtime, gate } = setup();
  fake.plan = ['updating', 'paused'];
  await runtime.replace(project, [target()]);
  const h = await gate();
  assert.equal(h.healthy, false);
  assert.match(reasonOf(h), /the service update is paused/);
  await runtime.restore(project, [target()]);
  assert.equal(fake.updates.length, 2);
  assert.equal(fake.updates[1].query.rollback, 'previous');
  assert.equal(fake.updates[1].query.version, 11, 'the version after dosync\'s update');
  const back = await gate();
  assert.equal(back.healthy, true, reasonOf(back));
  assert.equal(fake.service.Spec.TaskTemplate.ContainerSpec.Image, OLD);
});

test('still updating when the health timeout ends: failed, naming the state and how many tasks run the new image', async () => {
  const { fake, runtime, gate } = setup();
  fake.plan = ['updating'];
  await runtime.replace(project, [target()]);
  const h = await gate({ ...health, timeoutMs: 200 });
  assert.equal(h.healthy, false);
  assert.match(reasonOf(h), /^not updated after 0s \(update updating; 0 of 2 tasks on reg\/app:1\.1\.0@sha256:2+\)$/);
});

test('a rollback_completed from an older update (started before dosync asked) is not this update\'s verdict', async () => {
  const { fake, runtime, gate } = setup({ status: { State: 'rollback_completed', StartedAt: new Date(Date.now() - 3_600_000).toISOString() } });
  // The swarm has not picked the update up yet: the old status stays for a few looks.
  fake.plan = [];
  await runtime.replace(project, [target()]);
  fake.service.UpdateStatus = { State: 'rollback_completed', StartedAt: new Date(Date.now() - 3_600_000).toISOString() };
  const pending = gate();
  await new Promise((r) => setTimeout(r, 50));
  fake.service.UpdateStatus = { State: 'completed', StartedAt: new Date().toISOString() };
  fake.taskImage = NEW;
  const h = await pending;
  assert.equal(h.healthy, true, reasonOf(h));
});

test('dosync rollback to the image of the previous spec: the engine\'s rollback (rollback=previous), not a new spec', async () => {
  const { fake, runtime, gate } = setup({ previous: `reg/app:0.9.0@${D2}`, status: { State: 'completed', StartedAt: new Date().toISOString() } });
  await runtime.replace(project, [{ service: 'web', image: 'reg/app:0.9.0', imageId: '' }]);
  assert.equal(fake.updates.length, 1);
  assert.equal(fake.updates[0].query.rollback, 'previous');
  const h = await gate();
  assert.equal(h.healthy, true, reasonOf(h));
  assert.equal(fake.service.Spec.TaskTemplate.ContainerSpec.Image, `reg/app:0.9.0@${D2}`);
});

test('rollback_config not yet on the service: first an update of RollbackConfig alone (same image), then the image update, so the previous spec carries it', async () => {
  const { fake, runtime, gate } = setup();
  await runtime.replace(project, [target({ rollbackConfig: { parallelism: 2, monitor: '2s', failure_action: 'continue' } })]);
  assert.equal(fake.updates.length, 2);
  const want = { Parallelism: 2, Monitor: 2e9, FailureAction: 'continue' };
  assert.equal(fake.updates[0].body.TaskTemplate.ContainerSpec.Image, OLD);
  assert.deepEqual(fake.updates[0].body.RollbackConfig, want);
  assert.equal(fake.updates[1].body.TaskTemplate.ContainerSpec.Image, NEW);
  assert.deepEqual(fake.service.PreviousSpec?.RollbackConfig, want);
  assert.equal((await gate()).healthy, true);
  // Once the service has it, no extra update.
  const again = setup();
  again.fake.service.Spec.RollbackConfig = want;
  await again.runtime.replace(project, [target({ rollbackConfig: { parallelism: 2, monitor: '2s', failure_action: 'continue' } })]);
  assert.equal(again.fake.updates.length, 1);
});

test('recovery finishing an update the swarm already has (same image in the spec): no update is sent, the status in flight is waited for', async () => {
  const { fake, runtime, gate } = setup({ status: { State: 'updating', StartedAt: new Date(Date.now() - 60_000).toISOString() } });
  fake.service.Spec.TaskTemplate.ContainerSpec.Image = NEW;
  fake.plan = [];
  await runtime.replace(project, [target()]);
  assert.equal(fake.updates.length, 0);
  const pending = gate();
  await new Promise((r) => setTimeout(r, 50));
  fake.service.UpdateStatus = { ...fake.service.UpdateStatus, State: 'completed' };
  fake.taskImage = NEW;
  assert.equal((await pending).healthy, true);
});

test('a rollback_config failure_action the engine refuses for rollbacks: one ConfigError naming the field', () => {
  const { runtime } = setup();
  assert.throws(() => runtime.validate([target({ rollbackConfig: { failure_action: 'rollback' } })]), { message: /^services\.web\.deploy\.rollback_config\.failure_action: "rollback" is not continue or pause$/ });
});
