/** The README's example files are what users copy: each must load with the real parsers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfigText } from '../../../src/config/file.js';
import { parseRegistryConfig } from '../../../src/registry/config.js';
import { parseMirrorConfig } from '../../../src/mirror/config.js';
import { readStack } from '../../../src/compose/stack.js';
import { resolvePolicy } from '../../../src/policy/index.js';
import { section, docsText } from './markdown.js';

// README.md and docs/*.md (the reference moved to docs/).
const readme = docsText();

/** The ```yaml blocks of a README section, in order. */
function yamlBlocks(title: string): string[] {
  const text = section(readme, title);
  assert.ok(text, `README has a "${title}" heading`);
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
}

test('the README Configuration example is a valid dosync.yaml', () => {
  const [yaml] = yamlBlocks('Configuration');
  const env = { DOCKERHUB_PASSWORD: 'p', GITHUB_PAT: 't', WEBHOOK_SECRET: 's', DOSYNC_API_TOKEN: 'a' };
  const config = parseConfigText(yaml, 'README dosync.yaml', env);
  assert.equal(config.interval, 300_000);
  assert.equal(config.min_age, 86_400_000);
  assert.equal(config.services?.db?.skip, true);
  const registry = parseRegistryConfig(config.registry, { env, file: 'README dosync.yaml' });
  assert.deepEqual(registry.warnings, []);
});

test('the README compose labels example is a valid compose file whose labels resolve', () => {
  const compose = yamlBlocks('Configuration').find((y) => y.startsWith('services:') && y.includes('labels:'));
  assert.ok(compose, 'the section has a compose example with labels');
  const stack = readStack([{ path: '/README/docker-compose.yml', text: compose }], {});
  assert.ok(stack.services.length >= 2);
  const described = stack.services.map((s) => resolvePolicy({ labels: s.labels }, { labels: s.name, service: s.name, registry: s.name }));
  assert.deepEqual(described.map((p) => p.enabled), stack.services.map((s) => s.labels['dosync.enable'] !== 'false'));
});

test('the README mirror.yaml example is a valid mirror.yaml', () => {
  const mirror = yamlBlocks('Configuration').find((y) => y.includes('tasks:'));
  assert.ok(mirror, 'the section has a mirror.yaml example');
  const config = parseMirrorConfig(mirror, 'README mirror.yaml', { MIRROR_PASSWORD: 'p' });
  assert.equal(config.tasks.length, 1);
  assert.equal(config.tasks[0].images.length, 2);
  assert.equal(parseRegistryConfig(config.registry, { env: { MIRROR_PASSWORD: 'p' } }).warnings.length, 0);
});

test('the README Registries example is a valid registry section without warnings', () => {
  const [yaml] = yamlBlocks('Registries');
  const env = Object.fromEntries([...yaml.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => [m[1], 'value']));
  const config = parseConfigText(yaml, 'README registries', env);
  const registry = parseRegistryConfig(config.registry, { env, file: 'README registries' });
  assert.deepEqual(registry.warnings, []);
  assert.equal(Object.keys(registry.config).length, 10);
});
