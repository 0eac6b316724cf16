import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { credentialVariables, hostVariablePrefix, registriesUsed, renderDosyncYaml, type StackImage } from '../../../src/cli/init-config.js';
import { parseConfigText } from '../../../src/config/file.js';
import { parseRegistryConfig } from '../../../src/registry/config.js';
import { providerFor } from '../../../src/registry/providers/index.js';
import { parseImageReference } from '../../../src/reference/index.js';

/** What `dosync init` does per service: reference -> host -> provider family (no config, so no URL entries). */
function images(entries: Array<[string, string]>): StackImage[] {
  const ctx = { env: {}, config: {} };
  return entries.map(([service, image]) => {
    const host = parseImageReference(image).registry;
    return { service, host, family: providerFor(host, ctx).name };
  });
}

const STACK = images([
  ['web', 'nginx:1.25.3'],
  ['cache', 'redis:7'],
  ['api', 'ghcr.io/acme/api:1.2.0'],
  ['ml', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml:3.0'],
  ['auth', 'myreg.azurecr.io/auth:2.0.1'],
  ['search', 'quay.io/acme/search:8'],
  ['worker', 'registry.digitalocean.com/acme/worker:1.0'],
  ['report', 'europe-docker.pkg.dev/proj/repo/report:1'],
  ['ci', 'registry.gitlab.com/acme/ci:1'],
  ['local', '127.0.0.1:5000/x/app:1.0.0'],
  ['other', 'registry.example.com/team/other:4'],
  ['other2', 'registry.example.com/team/other2:4'],
]);

describe('registriesUsed', () => {
  test('one entry per family in DOSync order, hosts and services collected; unknown hosts become custom', () => {
    assert.deepEqual(registriesUsed(STACK).map((r) => [r.family, r.hosts, r.services]), [
      ['dockerhub', ['docker.io'], ['web', 'cache']],
      ['gcr', ['europe-docker.pkg.dev'], ['report']],
      ['ghcr', ['ghcr.io'], ['api']],
      ['acr', ['myreg.azurecr.io'], ['auth']],
      ['quay', ['quay.io'], ['search']],
      ['docr', ['registry.digitalocean.com'], ['worker']],
      ['ecr', ['123456789012.dkr.ecr.eu-west-1.amazonaws.com'], ['ml']],
      ['gitlab', ['registry.gitlab.com'], ['ci']],
      ['custom', ['127.0.0.1:5000', 'registry.example.com'], ['local', 'other', 'other2']],
    ]);
  });
  test('only what the stack uses', () => {
    assert.deepEqual(registriesUsed(images([['a', 'ghcr.io/x/a:1']])).map((r) => r.family), ['ghcr']);
    assert.deepEqual(registriesUsed([]), []);
  });
});

describe('credential variables', () => {
  test('per family, per host for custom registries', () => {
    const vars = registriesUsed(STACK).flatMap(credentialVariables);
    for (const v of ['DOCKERHUB_PASSWORD', 'GITHUB_PAT', 'AWS_SECRET_ACCESS_KEY', 'AZURE_CLIENT_SECRET', 'QUAY_TOKEN', 'DOCR_TOKEN', 'REGISTRY_EXAMPLE_COM_PASSWORD', 'REGISTRY_127_0_0_1_5000_PASSWORD']) {
      assert.ok(vars.includes(v), v);
    }
  });
  test('hostVariablePrefix', () => {
    assert.equal(hostVariablePrefix('registry.example.com:5000'), 'REGISTRY_EXAMPLE_COM_5000');
    assert.equal(hostVariablePrefix('127.0.0.1:5000'), 'REGISTRY_127_0_0_1_5000');
    assert.equal(hostVariablePrefix('[::1]:5000'), 'REGISTRY_1_5000');
  });
});

describe('renderDosyncYaml', () => {
  const text = renderDosyncYaml({ composeFile: 'docker-compose.yml', interval: '1m', registries: registriesUsed(STACK), services: ['web', 'db'] });

  test('is a valid dosync.yaml as written (settings active, registries commented out)', () => {
    const config = parseConfigText(text, 'dosync.yaml', {});
    assert.deepEqual(config, { interval: 60_000, keep_backups: 10, prune: true, health: { timeout: 120_000, stable: 10_000 } });
  });

  test('uncommenting the registry blocks gives a registry section the registry module accepts', () => {
    const lines = text.split('\n');
    const start = lines.indexOf('# registry:');
    const end = lines.indexOf('', start);
    const uncommented = lines.slice(start, end).map((l) => l.slice(2)).join('\n');
    const raw = parse(uncommented) as { registry: Record<string, unknown> };
    assert.deepEqual(Object.keys(raw.registry), ['dockerhub', 'gcr', 'ghcr', 'acr', 'quay', 'docr', 'ecr', 'gitlab', 'custom']);
    const env = { DOCKERHUB_USERNAME: 'u', DOCKERHUB_PASSWORD: 'p', GITHUB_PAT: 't', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's', AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: 's', QUAY_TOKEN: 'q', DOCR_TOKEN: 'd', CI_REGISTRY_USER: 'u', CI_REGISTRY_PASSWORD: 'p', REGISTRY_127_0_0_1_5000_USERNAME: 'u', REGISTRY_127_0_0_1_5000_PASSWORD: 'p', REGISTRY_EXAMPLE_COM_USERNAME: 'u', REGISTRY_EXAMPLE_COM_PASSWORD: 'p' };
    const parsed = parseRegistryConfig(raw.registry, { env });
    assert.deepEqual(parsed.warnings, []);
    assert.equal(parsed.config.ecr?.region, 'eu-west-1');
    assert.equal(parsed.config.ecr?.registry, '123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    assert.equal(parsed.config.acr?.registry, 'myreg.azurecr.io');
    assert.deepEqual(parsed.config.custom?.map((c) => [c.url, c.insecure ?? false]), [['http://127.0.0.1:5000', true], ['https://registry.example.com', false]]);
    assert.deepEqual(parsed.insecureRegistries, ['127.0.0.1:5000']);
  });

  test('names the services of each registry and the stack file', () => {
    assert.match(text, /^# dosync\.yaml for docker-compose\.yml/);
    assert.match(text, /# {3}# Docker Hub \(docker\.io\): web, cache\n/);
    assert.match(text, /# {3}web:\n# {5}update: minor/);
  });

  test('a stack without registry images says so and stays valid', () => {
    const empty = renderDosyncYaml({ composeFile: 'c.yml', interval: '5m', registries: [], services: [] });
    assert.doesNotMatch(empty, /^(# )?registry:/m);
    assert.doesNotThrow(() => parseConfigText(empty, 'dosync.yaml', {}));
  });
});
