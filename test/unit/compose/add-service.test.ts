import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { addDosyncService, sidecarDefinition, DosyncServiceExistsError, type SidecarOptions } from '../../../src/compose/add-service.js';
import { readStack } from '../../../src/compose/stack.js';
import { ConfigError } from '../../../src/util/errors.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const toCrlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

const OPTS: SidecarOptions = { image: 'dosync:latest', composeFile: './docker-compose.yml', backupDir: './backups', configFile: './dosync.yaml', interval: '5m' };

/**
 * The original must survive byte for byte around one inserted run of text: the longest common prefix and
 * suffix of the two texts cover the whole original.
 */
function insertedPart(original: string, result: string): string {
  let p = 0;
  while (p < original.length && p < result.length && original[p] === result[p]) p++;
  let q = 0;
  while (q < original.length - p && q < result.length - p && original[original.length - 1 - q] === result[result.length - 1 - q]) q++;
  assert.equal(p + q, original.length, `more than one place changed (common prefix ${p}, suffix ${q}, original ${original.length})`);
  return result.slice(p, result.length - q);
}

/** The services of the result: the original ones unchanged, plus dosync with exactly the sidecar definition. */
function assertServices(original: string, result: string, name = 'dosync', opts: SidecarOptions = OPTS): void {
  const before = parse(original.replace(/^\uFEFF/, ''), { merge: true }) as { services?: Record<string, unknown> };
  const after = parse(result.replace(/^\uFEFF/, ''), { merge: true }) as { services: Record<string, unknown> };
  assert.deepEqual(after.services[name], sidecarDefinition(opts));
  const rest = { ...after.services };
  delete rest[name];
  assert.deepEqual(rest, before.services ?? {});
}

describe('addDosyncService: every fixture, LF / CRLF / BOM', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.yml')).sort();
  test('has fixtures', () => assert.ok(files.length >= 15));
  for (const file of files) {
    for (const [variant, transform] of [['LF', (s: string) => s], ['CRLF', toCrlf], ['BOM', (s: string) => `\uFEFF${s}`]] as const) {
      test(`${file} (${variant}): only an insertion, same services plus dosync`, () => {
        const original = transform(fixture(file));
        const r = addDosyncService(original, OPTS, file);
        const added = insertedPart(original, r.text);
        assert.ok(added.includes('dosync'), 'the inserted text is the dosync service');
        if (variant === 'CRLF') assert.doesNotMatch(r.text.replace(/\r\n/g, ''), /\n/, 'no bare LF in a CRLF file');
        else assert.doesNotMatch(r.text, /\r/);
        assertServices(original, r.text);
        // The stack reader sees the new service with its image and the old ones as before.
        const stack = readStack([{ path: file, text: r.text }], { TAG: '1.0.0', REGISTRY: 'r.example.com' });
        const dosync = stack.services.find((s) => s.name === 'dosync');
        assert.equal(dosync?.image, 'dosync:latest');
      });
    }
  }
});

describe('addDosyncService: layout of the inserted block', () => {
  test('two-space file, services separated by blank lines: blank line, then the block at the service column', () => {
    const text = 'services:\n  web:\n    image: nginx:1.25.3\n\n  api:\n    image: example/api:1.0.0\n    ports:\n      - "80:80"\n\nvolumes:\n  data: {}\n';
    const r = addDosyncService(text, OPTS);
    const added = insertedPart(text, r.text);
    assert.match(r.text, /"80:80"\n\n  # dosync keeps/, 'a blank line before the block, as between the other services');
    assert.match(added, /\n  dosync:\n    image: dosync:latest\n    restart: unless-stopped\n    volumes:\n      # the Docker socket/);
    assert.match(added, /\n      - \/var\/run\/docker.sock:\/var\/run\/docker.sock\n/);
    assert.match(r.text, /start_period: 2m\n\nvolumes:\n  data: \{\}\n$/, 'the block ends before the blank line that precedes volumes:');
  });

  test('four-space file with flush sequences and no blank lines between services', () => {
    const text = 'services:\n    web:\n        image: nginx:1.25.3\n        ports:\n        - "80:80"\n    api:\n        image: example/api:1.0.0\n';
    const r = addDosyncService(text, OPTS);
    const added = insertedPart(text, r.text);
    assert.match(added, /^    # dosync keeps/, 'no blank line: the file has none between services');
    assert.match(added, /\n    dosync:\n        image: dosync:latest\n/);
    assert.match(added, /\n        volumes:\n        # the Docker socket[^\n]*\n        - \/var\/run\/docker.sock/);
    assert.match(added, /\n        environment:\n            CHECK_INTERVAL: 5m\n/);
    assertServices(text, r.text);
  });

  test('services indented by one space, properties by three', () => {
    const text = 'services:\n web:\n    image: nginx:1.25.3\n';
    const r = addDosyncService(text, OPTS);
    assert.match(insertedPart(text, r.text), /^ dosync:\n    image: dosync:latest\n    restart/m);
    assertServices(text, r.text);
  });

  test('comment lines indented under the last service stay with it; comments at the top level stay after the block', () => {
    const text = 'services:\n  web:\n    image: nginx:1.25.3\n    # ports:\n    #   - "80:80"\n# trailing remark\n';
    const r = addDosyncService(text, OPTS);
    insertedPart(text, r.text);
    const lines = r.text.split('\n');
    assert.equal(lines.indexOf('    #   - "80:80"') + 1, lines.indexOf('  # dosync keeps the services of this file on the newest image their policy allows (added by `dosync init`).'));
    assert.ok(r.text.endsWith('start_period: 2m\n# trailing remark\n'));
  });

  test('a file without a final newline gets the block after a line break, still without a final newline', () => {
    const text = 'services:\n  web:\n    image: nginx:1.25.3';
    const r = addDosyncService(text, OPTS);
    assert.equal(insertedPart(text, r.text).startsWith('\n  # dosync'), true);
    assert.ok(r.text.endsWith('start_period: 2m'));
    assertServices(text, r.text);
  });

  test('credential variables are listed commented-out under environment:', () => {
    const text = 'services:\n  web:\n    image: ghcr.io/acme/web:1.0.0\n';
    const r = addDosyncService(text, { ...OPTS, credentialVariables: ['GITHUB_PAT'] });
    assert.match(r.text, /\n      DOSYNC_CONFIG: \/app\/dosync.yaml\n      # credentials[^\n]*\n      # GITHUB_PAT: \$\{GITHUB_PAT\}\n    healthcheck:/);
    assertServices(text, r.text);
  });

  test('without a config file no dosync.yaml is named; another compose file name gets a command naming it in /app', () => {
    const opts: SidecarOptions = { ...OPTS, configFile: undefined, image: 'registry.example.com:5000/ops/dosync:0.1.0', composeFile: './my stack.yml' };
    const text = 'services:\n  web:\n    image: nginx:1.25.3\n';
    const r = addDosyncService(text, opts);
    assert.doesNotMatch(r.text, /DOSYNC_CONFIG/);
    assert.match(r.text, /\n    image: registry\.example\.com:5000\/ops\/dosync:0\.1\.0\n    restart: unless-stopped\n    command: \["sync", "-f", "\/app\/my stack\.yml"\]\n/);
    assert.deepEqual(sidecarDefinition(opts).volumes, ['/var/run/docker.sock:/var/run/docker.sock', '.:/app']);
    assertServices(text, r.text, 'dosync', opts);
  });

  test('the project directory is mounted at /app (compose file, .env, env_file:, dosync.yaml, backups/), and dosync may update itself', () => {
    const text = 'services:\n  web:\n    image: nginx:1.25.3\n';
    const r = addDosyncService(text, OPTS);
    const added = insertedPart(text, r.text);
    assert.match(added, /\n      - \/var\/run\/docker.sock:\/var\/run\/docker.sock\n      # the project directory[^\n]*\n      - \.:\/app\n    environment:\n/);
    assert.doesNotMatch(added, /\n *(command|labels):/, 'default command, no dosync.enable label');
    assert.match(added, /# It updates itself too/);
    assert.deepEqual(sidecarDefinition(OPTS).environment, { CHECK_INTERVAL: '5m', DOSYNC_CONFIG: '/app/dosync.yaml' });
    assertServices(text, r.text);
  });

  const mounts: Array<[string, Partial<SidecarOptions>, string[], Record<string, string>]> = [
    ['backups in another project folder', { backupDir: './state/bk' }, ['./state/bk:/app/backups'], { DOSYNC_CONFIG: '/app/dosync.yaml' }],
    ['backups outside the project', { backupDir: '/var/backups/shop' }, ['/var/backups/shop:/app/backups'], { DOSYNC_CONFIG: '/app/dosync.yaml' }],
    ['backups given as ./backups/', { backupDir: './backups/' }, [], { DOSYNC_CONFIG: '/app/dosync.yaml' }],
    ['dosync.yaml in a project folder', { configFile: './conf/dosync.yaml' }, [], { DOSYNC_CONFIG: '/app/conf/dosync.yaml' }],
    ['dosync.yaml outside the project', { configFile: '/etc/dosync/dosync.yaml' }, ['/etc/dosync/dosync.yaml:/app/dosync.yaml:ro'], { DOSYNC_CONFIG: '/app/dosync.yaml' }],
    ['a compose file outside the project', { composeFile: '/srv/other/docker-compose.yml' }, ['/srv/other/docker-compose.yml:/app/docker-compose.yml'], { DOSYNC_CONFIG: '/app/dosync.yaml' }],
  ];
  for (const [name, change, extra, env] of mounts) {
    test(`mounts: ${name}`, () => {
      const opts = { ...OPTS, ...change };
      const def = sidecarDefinition(opts);
      assert.deepEqual(def.volumes, ['/var/run/docker.sock:/var/run/docker.sock', '.:/app', ...extra]);
      assert.deepEqual(def.environment, { CHECK_INTERVAL: '5m', ...env });
      assert.equal(def.command, undefined);
      const text = 'services:\n  web:\n    image: nginx:1.25.3\n';
      assertServices(text, addDosyncService(text, opts).text, 'dosync', opts);
    });
  }

  test('another service name', () => {
    const text = 'services:\n  web:\n    image: nginx:1.25.3\n';
    const r = addDosyncService(text, { ...OPTS, serviceName: 'updater' });
    assert.match(r.text, /\n  updater:\n/);
    assertServices(text, r.text, 'updater');
  });
});

describe('addDosyncService: empty and flow-style services', () => {
  const cases: Array<{ name: string; text: string; withoutNull?: string; expect: RegExp }> = [
    { name: 'services: with nothing, last line', text: 'name: x\nservices:\n', expect: /^services:\n  # dosync keeps(?:[^\n]*\n)+  dosync:\n    image/m },
    { name: 'services: with nothing, no final newline', text: 'services:', expect: /^services:\n  # dosync/ },
    { name: 'services: with nothing, another key follows', text: 'services:\nvolumes:\n    data: {}\n', expect: /^services:\n    # dosync(?:[^\n]*\n)+    dosync:\n        image[\s\S]*start_period: 2m\nvolumes:\n    data: \{\}\n$/ },
    { name: 'services: ~ with a comment', text: 'services: ~  # none yet\nvolumes: {}\n', withoutNull: 'services:   # none yet\nvolumes: {}\n', expect: /^services:   # none yet\n  # dosync[\s\S]*start_period: 2m\nvolumes: \{\}\n$/ },
    { name: 'services: null', text: 'services: null\n', withoutNull: 'services: \n', expect: /^services: \n  # dosync/ },
    { name: 'services: {}', text: 'services: {}\n', expect: /^services: \{dosync: \{"image":"dosync:latest",/ },
    { name: 'one-line flow mapping', text: 'services: {web: {image: nginx:1.25.3}}\n', expect: /^services: \{web: \{image: nginx:1\.25\.3\}, dosync: \{"image"/ },
    { name: 'multi-line flow mapping with a trailing comma', text: 'services: {\n  web: {image: nginx:1.25.3},\n}\n', expect: /^services: \{\n  web: \{image: nginx:1\.25\.3\},\n  dosync: \{"image"[^\n]*\},\n\}\n$/ },
    { name: 'JSON file', text: '{\n  "services": {\n    "web": {"image": "nginx:1.25.3"}\n  }\n}\n', expect: /\n    "web": \{"image": "nginx:1\.25\.3"\},\n    "dosync": \{"image"/ },
    { name: 'no services key at all', text: 'version: "3.8"\n# only a version so far\n', expect: /^version: "3\.8"\nservices:\n  # dosync[\s\S]*start_period: 2m\n# only a version so far\n$/ },
    { name: 'JSON without services', text: '{"version": "3"}', expect: /^\{"version": "3", "services": \{"dosync": \{"image"/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = addDosyncService(c.text, OPTS);
      // An explicit null token is the one thing dropped; apart from it the change is one insertion.
      insertedPart(c.withoutNull ?? c.text, r.text);
      assert.match(r.text, c.expect);
      assertServices(c.text, r.text);
      assert.equal(JSON.stringify(parse(r.text).services.dosync), JSON.stringify(sidecarDefinition(OPTS)));
    });
  }

  test('a JSON file stays JSON', () => {
    const text = '{\n  "services": {\n    "web": {"image": "nginx:1.25.3"}\n  }\n}\n';
    assert.doesNotThrow(() => JSON.parse(addDosyncService(text, OPTS).text));
  });
});

describe('addDosyncService: refusals', () => {
  const refused: Array<[string, string, RegExp]> = [
    ['a service named dosync', 'services:\n  dosync:\n    image: example/other:1\n', /service "dosync" already runs dosync/],
    ['a service running a dosync image', 'services:\n  updater:\n    image: localrivet/dosync:latest\n', /service "updater" already runs dosync/],
    ['a dosync image by digest behind a variable registry', 'services:\n  u:\n    image: ${REG}/ops/dosync@sha256:' + 'a'.repeat(64) + '\n', /service "u" already runs dosync/],
  ];
  for (const [name, text, message] of refused) {
    test(`refuses when there is ${name}`, () => {
      assert.throws(() => addDosyncService(text, OPTS, 'c.yml'), (err: unknown) => err instanceof DosyncServiceExistsError && message.test((err as Error).message) && (err as Error).message.startsWith('c.yml: '));
    });
  }

  test('an image merely containing "dosync" in a longer name is not dosync', () => {
    const text = 'services:\n  x:\n    image: example/dosync-demo:1\n';
    assert.doesNotThrow(() => addDosyncService(text, OPTS));
  });

  const invalid: Array<[string, string, RegExp]> = [
    ['a list at the top', '- a\n- b\n', /not a compose file/],
    ['services as a list', 'services:\n  - web\n', /services: must be a mapping/],
    ['broken YAML', 'services:\n  web: [\n', /c\.yml:\d+:\d+: invalid YAML/],
  ];
  for (const [name, text, message] of invalid) {
    test(`ConfigError for ${name}`, () => {
      assert.throws(() => addDosyncService(text, OPTS, 'c.yml'), (err: unknown) => err instanceof ConfigError && message.test((err as Error).message));
    });
  }

  test('refuses a layout whose meaning the insertion would change (trailing keep-chomped block scalar)', () => {
    // The blank line ends the `|+` scalar's value; text inserted before it would cut it off.
    const text = 'services:\n  web:\n    image: nginx:1.25.3\n    command: |+\n      echo hi\n\n';
    assert.throws(() => addDosyncService(text, OPTS, 'c.yml'), (err: unknown) => err instanceof ConfigError && /c\.yml: cannot add the dosync service without changing the rest/.test(err.message));
  });
});
