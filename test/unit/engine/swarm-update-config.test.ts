import { test } from 'node:test';
import assert from 'node:assert/strict';
import { updateConfigOf } from '../../../src/engine/swarm-runtime.js';

const cases: Array<[string, Record<string, unknown> | undefined, Record<string, unknown>]> = [
  ['none', undefined, {}],
  ['every field', { parallelism: 2, delay: '10s', order: 'start-first', failure_action: 'rollback', monitor: '1m30s', max_failure_ratio: 0.25 },
    { Parallelism: 2, Delay: 10_000_000_000, Order: 'start-first', FailureAction: 'rollback', Monitor: 90_000_000_000, MaxFailureRatio: 0.25 }],
  ['stop-first, pause', { order: 'stop-first', failure_action: 'pause' }, { Order: 'stop-first', FailureAction: 'pause' }],
  ['parallelism 0 (all at once)', { parallelism: 0 }, { Parallelism: 0 }],
  ['unknown keys are left out', { parallelism: 1, surprise: true }, { Parallelism: 1 }],
];
for (const [name, raw, want] of cases) test(`update_config: ${name}`, () => assert.deepEqual(updateConfigOf('web', raw), want));

const errors: Array<[string, Record<string, unknown>, RegExp]> = [
  ['bad order', { order: 'sideways' }, /^services\.web\.deploy\.update_config\.order: "sideways" is not start-first or stop-first$/],
  ['bad failure_action', { failure_action: 'explode' }, /^services\.web\.deploy\.update_config\.failure_action: "explode" is not continue, pause or rollback$/],
  ['bad delay', { delay: 'soon' }, /^services\.web\.deploy\.update_config\.delay: "soon" is not a duration/],
  ['bad parallelism', { parallelism: 'many' }, /^services\.web\.deploy\.update_config\.parallelism: not a number$/],
];
for (const [name, raw, want] of errors) {
  test(`update_config error: ${name}`, () => assert.throws(() => updateConfigOf('web', raw), (err: Error) => err.name === 'ConfigError' && want.test(err.message)));
}
