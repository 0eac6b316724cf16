/** The README's dosync.yaml example is what users copy: it must load with the real config and registry parsers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfigText } from '../../../src/config/file.js';
import { parseRegistryConfig } from '../../../src/registry/config.js';

test('the README Configuration example is a valid dosync.yaml', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'));
  const yaml = section.match(/```yaml\n([\s\S]*?)```/)?.[1];
  assert.ok(yaml, 'the section has a yaml block');
  const env = { DOCKERHUB_PASSWORD: 'p', GITHUB_PAT: 't', WEBHOOK_SECRET: 's', DOSYNC_API_TOKEN: 'a' };
  const config = parseConfigText(yaml, 'README dosync.yaml', env);
  assert.equal(config.interval, 300_000);
  assert.equal(config.min_age, 86_400_000);
  assert.equal(config.services?.db?.skip, true);
  const registry = parseRegistryConfig(config.registry, { env, file: 'README dosync.yaml' });
  assert.deepEqual(registry.warnings, []);
});
