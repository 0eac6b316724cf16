/** Stacks in whole-host mode: which `--all` looks after, which it names, and dosync.yaml's `stack:` key. Pure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { projectsFromConfig, stacksFromServices, unconfiguredStackLine } from '../../../src/projects/discover.js';
import { rollbackConfigOf } from '../../../src/engine/swarm-runtime.js';
import { configFileSchema } from '../../../src/config/file.js';

const ns = (stack: string, extra: Record<string, string> = {}) => ({ labels: { 'com.docker.stack.namespace': stack, ...extra } });

test('stacks: a listed one is left to its projects: entry, a labelled one becomes a spec, the others are named (sorted, once each)', () => {
  const listed = [{ name: 'shop', files: ['/srv/shop/stack.yml'], workingDir: '/srv/shop', source: 'dosync.yaml', stack: 'shop' }];
  const found = stacksFromServices([
    ns('zeta'), ns('shop'), ns('blog', { 'dosync.stack.file': '/srv/blog/stack.yml' }), ns('alpha'), ns('alpha'), { labels: {} },
    ns('rel', { 'dosync.stack.file': 'stack.yml' }),
  ], listed);
  assert.deepEqual(found.specs, [{ name: 'blog', files: ['/srv/blog/stack.yml'], workingDir: '/srv/blog', source: 'engine (label dosync.stack.file)', stack: 'blog' }]);
  assert.deepEqual(found.unconfigured, ['alpha', 'rel', 'zeta'], 'a relative dosync.stack.file is no file (no directory to resolve it from)');
});

test('stacks: one service of the stack with the label is enough', () => {
  const found = stacksFromServices([ns('blog'), ns('blog', { 'dosync.stack.file': '/srv/blog/stack.yml' })], []);
  assert.equal(found.specs.length, 1);
  assert.deepEqual(found.unconfigured, []);
});

test('the line for a stack without a file names the stack and what to add', () => {
  assert.match(unconfiguredStackLine('blog'), /^stack blog: add it to projects: with its file to let dosync update it \(projects: \[\{ stack: blog, files: \[stack\.yml\] \}\]\), or label one of its services dosync\.stack\.file=/);
});

test('projects: with stack: is a stack spec named after the stack unless named', () => {
  const opts = { baseDir: '/etc/dosync', file: 'dosync.yaml', exists: () => true, running: [] };
  const { specs } = projectsFromConfig([{ stack: 'Shop.v2', files: ['/srv/shop/stack.yml'] }, { name: 'blog', stack: 'blogstack', files: ['b.yml'] }, { files: ['/srv/c/compose.yaml'] }], opts);
  assert.deepEqual(specs.map((s) => [s.name, s.stack, s.files[0]]), [['Shop.v2', 'Shop.v2', '/srv/shop/stack.yml'], ['blog', 'blogstack', '/etc/dosync/b.yml'], ['c', undefined, '/srv/c/compose.yaml']]);
});

test('dosync.yaml: stack: takes a stack name, anything else is refused naming the field', () => {
  assert.equal(configFileSchema.safeParse({ projects: [{ stack: 'shop', files: ['s.yml'] }] }).success, true);
  const bad = configFileSchema.safeParse({ projects: [{ stack: 'no spaces', files: ['s.yml'] }] });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error!.issues[0].path, ['projects', 0, 'stack']);
});

test('rollback_config: the same fields as update_config, failure_action continue or pause', () => {
  assert.deepEqual(rollbackConfigOf('web', { parallelism: 0, order: 'start-first', monitor: '2s', failure_action: 'pause', max_failure_ratio: 0.5 }), { Parallelism: 0, Order: 'start-first', Monitor: 2e9, FailureAction: 'pause', MaxFailureRatio: 0.5 });
  assert.throws(() => rollbackConfigOf('web', { failure_action: 'rollback' }), { message: 'services.web.deploy.rollback_config.failure_action: "rollback" is not continue or pause' });
  assert.throws(() => rollbackConfigOf('web', { delay: 'later' }), { message: /^services\.web\.deploy\.rollback_config\.delay: "later" is not a duration/ });
});
