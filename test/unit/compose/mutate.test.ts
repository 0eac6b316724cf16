import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { locateServiceImage, setEnvVariable, setImageDefault, setScalarAt, setServiceImage } from '../../../src/compose/mutate.js';
import { parseEnvFile } from '../../../src/compose/envfile.js';
import { readStack } from '../../../src/compose/stack.js';
import { ConfigError } from '../../../src/util/errors.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** `text` with the nth occurrence of `find` replaced by `written` — what the output must be, byte for byte. */
function replaceNth(text: string, find: string, nth: number, written: string): string {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(find, at + 1);
    assert.ok(at >= 0, `fixture does not contain occurrence ${nth} of ${find}`);
  }
  return text.slice(0, at) + written + text.slice(at + find.length);
}

const toCrlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
const variants: Array<[string, (s: string) => string]> = [
  ['LF', (s) => s],
  ['CRLF', toCrlf],
  ['BOM+CRLF', (s) => `\uFEFF${toCrlf(s)}`],
];

interface Case {
  file: string;
  service: string;
  find: string;
  nth?: number;
  newImage: string;
  written: string;
}

const cases: Case[] = [
  { file: '01-commented.yml', service: 'web', find: 'ghcr.io/example/shop-web:1.4.2', newImage: 'ghcr.io/example/shop-web:1.5.0', written: 'ghcr.io/example/shop-web:1.5.0' },
  { file: '01-commented.yml', service: 'worker', find: 'ghcr.io/example/shop-worker:1.4.2', newImage: 'ghcr.io/example/shop-worker:1.4.10', written: 'ghcr.io/example/shop-worker:1.4.10' },
  { file: '02-anchors.yml', service: 'app', find: 'registry.example.com/team/app:2.3.1', newImage: 'registry.example.com/team/app:2.4.0', written: 'registry.example.com/team/app:2.4.0' },
  { file: '02-anchors.yml', service: 'db', find: 'postgres:16.2-alpine', newImage: 'postgres:16.3-alpine', written: 'postgres:16.3-alpine' },
  { file: '03-extensions-ports.yml', service: 'api', find: 'docker.io/library/node:20.11.1-bookworm-slim', newImage: 'docker.io/library/node:20.12.2-bookworm-slim', written: 'docker.io/library/node:20.12.2-bookworm-slim' },
  { file: '03-extensions-ports.yml', service: 'proxy', find: 'traefik:v3.0.0', newImage: 'traefik:v3.0.1', written: 'traefik:v3.0.1' },
  { file: '04-flow.yml', service: 'cache', find: 'redis:7.2.4', newImage: 'redis:7.2.5', written: 'redis:7.2.5' },
  { file: '04-flow.yml', service: 'queue', find: '"rabbitmq:3.13-management"', newImage: 'rabbitmq:3.14-management', written: '"rabbitmq:3.14-management"' },
  { file: '04-flow.yml', service: 'web', find: 'nginx:1.25.3', newImage: 'nginx:1.26.0', written: 'nginx:1.26.0' },
  { file: '05-quoted-keys.yml', service: 'web', find: "'nginx:1.25.3'", newImage: 'nginx:1.26.0', written: "'nginx:1.26.0'" },
  { file: '05-quoted-keys.yml', service: 'db', find: '"postgres:15.6"', newImage: 'postgres:15.7', written: '"postgres:15.7"' },
  { file: '06-shared-image.yml', service: 'web-2', find: 'example/app:1.0.0', nth: 1, newImage: 'example/app:1.1.0', written: 'example/app:1.1.0' },
  { file: '06-shared-image.yml', service: 'cron', find: 'example/app:1.0.0', nth: 2, newImage: 'example/app:1.1.0', written: 'example/app:1.1.0' },
  { file: '07-registry-ports-digests.yml', service: 'local', find: 'localhost:5000/team/app:dev', newImage: 'localhost:5000/team/app:dev-2', written: 'localhost:5000/team/app:dev-2' },
  { file: '07-registry-ports-digests.yml', service: 'ipv4', find: '192.168.1.1:5000/repo:5050', newImage: '192.168.1.1:5000/repo:5051', written: '192.168.1.1:5000/repo:5051' },
  { file: '07-registry-ports-digests.yml', service: 'ipv6', find: '"[::1]:5000/repo:tag"', newImage: '[::1]:5000/repo:tag2', written: '"[::1]:5000/repo:tag2"' },
  {
    file: '07-registry-ports-digests.yml',
    service: 'pinned',
    find: 'nginx:1.25.3@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31',
    newImage: `nginx:1.25.4@sha256:${'ab'.repeat(32)}`,
    written: `nginx:1.25.4@sha256:${'ab'.repeat(32)}`,
  },
  { file: '07-registry-ports-digests.yml', service: 'plain', find: 'busybox', newImage: 'busybox:1.36.1', written: 'busybox:1.36.1' },
  { file: '08-next-line.yml', service: 'web', find: 'nginx:1.25.3', newImage: 'nginx:1.26.0', written: 'nginx:1.26.0' },
  { file: '08-next-line.yml', service: 'api', find: '"ghcr.io/acme/api:v0.9.1"', newImage: 'ghcr.io/acme/api:v0.10.0', written: '"ghcr.io/acme/api:v0.10.0"' },
  { file: '09-anchored-image.yml', service: 'backup', find: 'example/db-backup:9.1', newImage: 'example/db-backup:9.2', written: 'example/db-backup:9.2' },
  { file: '10-json.yml', service: 'web', find: '"nginx:1.25.3"', newImage: 'nginx:1.26.0', written: '"nginx:1.26.0"' },
  { file: '10-json.yml', service: 'api', find: '"example/api:3.1.4"', newImage: 'example/api:3.2.0', written: '"example/api:3.2.0"' },
  { file: '11-document-markers.yml', service: 'web', find: 'nginx:1.25.3', newImage: 'nginx:1.26.0', written: 'nginx:1.26.0' },
  { file: '12-profiles-build.yml', service: 'app', find: 'example/app:0.3.0', newImage: 'example/app:0.4.0', written: 'example/app:0.4.0' },
  { file: '12-profiles-build.yml', service: 'debug', find: 'busybox:1.36.1', newImage: 'busybox:1.37.0', written: 'busybox:1.37.0' },
  { file: '13-deep.yml', service: 'traefik', find: 'traefik:v2.11.0', newImage: 'traefik:v2.11.2', written: 'traefik:v2.11.2' },
  { file: '13-deep.yml', service: 'redis', find: '"redis:7.2.4-alpine"', newImage: 'redis:7.2.5-alpine', written: '"redis:7.2.5-alpine"' },
  { file: '13-deep.yml', service: 'app', find: 'ghcr.io/acme/platform-app:2024.03.1', newImage: 'ghcr.io/acme/platform-app:2024.04.0', written: 'ghcr.io/acme/platform-app:2024.04.0' },
  { file: '14-tabs-comments.yml', service: 'web', find: 'nginx:1.25.3', newImage: 'nginx:1.26.0', written: 'nginx:1.26.0' },
  { file: '14-tabs-comments.yml', service: 'api', find: "'example/api:1.0'", newImage: 'example/api:1.1', written: "'example/api:1.1'" },
  { file: '15-long-ports-multi-doc-like.yml', service: 'gateway', find: 'envoyproxy/envoy:v1.29.2', newImage: 'envoyproxy/envoy:v1.30.1', written: 'envoyproxy/envoy:v1.30.1' },
  { file: '15-long-ports-multi-doc-like.yml', service: 'sidecar', find: '"example/sidecar:1.2.3"', newImage: 'example/sidecar:1.2.4', written: '"example/sidecar:1.2.4"' },
  // The new value cannot keep the style: the least quoting that is safe.
  { file: '01-commented.yml', service: 'web', find: 'ghcr.io/example/shop-web:1.4.2', newImage: 'weird #tag', written: "'weird #tag'" },
  { file: '01-commented.yml', service: 'worker', find: 'ghcr.io/example/shop-worker:1.4.2', newImage: '1.5', written: "'1.5'" },
  { file: '01-commented.yml', service: 'worker', find: 'ghcr.io/example/shop-worker:1.4.2', newImage: 'true', written: "'true'" },
  { file: '04-flow.yml', service: 'web', find: 'nginx:1.25.3', newImage: 'a, b', written: "'a, b'" },
  { file: '05-quoted-keys.yml', service: 'web', find: "'nginx:1.25.3'", newImage: "it's:1", written: "'it''s:1'" },
  { file: '05-quoted-keys.yml', service: 'web', find: "'nginx:1.25.3'", newImage: 'line\nbreak', written: '"line\\nbreak"' },
  { file: '15-long-ports-multi-doc-like.yml', service: 'sidecar', find: '"example/sidecar:1.2.3"', newImage: 'a"b\\c', written: '"a\\"b\\\\c"' },
  { file: '14-tabs-comments.yml', service: 'web', find: 'nginx:1.25.3', newImage: ' padded', written: "' padded'" },
];

describe('setServiceImage: byte-for-byte', () => {
  test('at least 15 realistic fixtures are covered', () => {
    const used = new Set(cases.map((c) => c.file));
    assert.ok(used.size >= 15, `only ${used.size} fixtures`);
    assert.deepEqual([...used].sort(), readdirSync(FIXTURES).sort());
  });
  for (const c of cases) {
    for (const [variant, transform] of variants) {
      test(`${c.file} ${c.service} -> ${JSON.stringify(c.newImage)} (${variant})`, () => {
        const before = transform(fixture(c.file));
        const after = setServiceImage(before, c.service, c.newImage);
        assert.equal(after, replaceNth(before, c.find, c.nth ?? 0, c.written));
        const stack = readStack([{ path: c.file, text: after }], {});
        assert.equal(stack.services.find((s) => s.name === c.service)?.image, c.newImage);
      });
    }
  }

  test('an anchored image changes for every alias of it, and the location says so', () => {
    const before = fixture('09-anchored-image.yml');
    const loc = locateServiceImage(before, 'primary');
    assert.deepEqual({ anchor: loc.anchor, sharedWith: loc.sharedWith, style: loc.style }, { anchor: 'shared', sharedWith: ['replica'], style: 'PLAIN' });
    const after = setServiceImage(before, 'primary', 'example/db:9.2');
    assert.equal(after, replaceNth(before, 'example/db:9.1', 0, 'example/db:9.2'));
    const images = Object.fromEntries(readStack([{ path: 'f', text: after }], {}).services.map((s) => [s.name, s.image]));
    assert.deepEqual(images, { primary: 'example/db:9.2', replica: 'example/db:9.2', backup: 'example/db-backup:9.1' });
  });

  test('the same value returns the text unchanged', () => {
    const before = fixture('01-commented.yml');
    assert.equal(setServiceImage(before, 'web', 'ghcr.io/example/shop-web:1.4.2'), before);
  });

  test('a tag or anchor before the value stays', () => {
    const before = 'services:\n  web:\n    image: &img !!str nginx:1   # c\n  b:\n    image: *img\n';
    assert.equal(setServiceImage(before, 'web', 'nginx:2'), before.replace('nginx:1', 'nginx:2'));
  });

  test('a plain scalar spread over two lines becomes one line, nothing else moves', () => {
    const before = 'services:\n  web:\n    image: very/long/name\n      :1.0\n    restart: always\n';
    assert.equal(readStack([{ path: 'f', text: before }], {}).services[0].image, 'very/long/name :1.0');
    const after = setServiceImage(before, 'web', 'very/long/name:2.0');
    assert.equal(after, 'services:\n  web:\n    image: very/long/name:2.0\n    restart: always\n');
  });
});

describe('block scalars keep their header and indentation', () => {
  const rows: Array<[string, string, string, string]> = [
    ['folded, strip', 'services:\n  web:\n    image: >-\n      nginx:1.25\n    restart: always\n', 'nginx:1.26', 'services:\n  web:\n    image: >-\n      nginx:1.26\n    restart: always\n'],
    ['literal, strip', 'services:\n  web:\n    image: |-\n      nginx:1.25\n', 'nginx:1.26', 'services:\n  web:\n    image: |-\n      nginx:1.26\n'],
  ];
  for (const [name, before, image, after] of rows) {
    test(name, () => {
      const edited = setServiceImage(before, 'web', image);
      assert.equal(edited, after);
      assert.equal(readStack([{ path: 'f', text: edited }], {}).services[0].image, image);
    });
  }
  test('an anchored block scalar shared by two services is edited once, at its offset', () => {
    const before = 'x-img: &img >-\n  app:1.0\nservices:\n  a: {image: *img}\n  b: {image: *img}\n';
    const stack = readStack([{ path: 'f', text: before }], {});
    const edited = setScalarAt(before, stack.services[0].imageOffset!, 'app:1.1');
    assert.equal(edited, 'x-img: &img >-\n  app:1.1\nservices:\n  a: {image: *img}\n  b: {image: *img}\n');
  });
});

describe('setServiceImage: refusals name the reason', () => {
  const refusals: Array<{ name: string; text: string; service: string; message: RegExp }> = [
    { name: 'image inherited through a merge key', text: fixture('02-anchors.yml'), service: 'jobs', message: /inherits its image from the anchor &app through a merge key/ },
    { name: 'image is an alias', text: fixture('09-anchored-image.yml'), service: 'replica', message: /alias \*shared; change the anchored value &shared/ },
    { name: 'service is an alias', text: 'x-s: &svc {image: a:1}\nservices:\n  web: *svc\n', service: 'web', message: /services\.web is the alias \*svc/ },
    { name: 'build-only service', text: fixture('12-profiles-build.yml'), service: 'tools', message: /services\.tools has no image: in this file/ },
    { name: 'unknown service', text: fixture('01-commented.yml'), service: 'nope', message: /services\.nope is not defined in this file/ },
    { name: 'empty image', text: 'services:\n  web:\n    image:\n', service: 'web', message: /empty or not a string/ },
    { name: 'image is a mapping', text: 'services:\n  web:\n    image: {name: a}\n', service: 'web', message: /not a single value/ },
    { name: 'no services', text: 'volumes: {}\n', service: 'web', message: /no services: section/ },
    { name: 'invalid YAML', text: 'services:\n  web:\n    image: "unterminated\n', service: 'web', message: /^compose file:\d+:\d+: invalid YAML/ },
    { name: 'duplicate image key', text: 'services:\n  web:\n    image: a:1\n    image: a:2\n', service: 'web', message: /^compose file:4:5: invalid YAML: Map keys must be unique/ },
  ];
  for (const r of refusals) {
    test(r.name, () => {
      assert.throws(() => setServiceImage(r.text, r.service, 'x:1'), (err: unknown) => err instanceof ConfigError && r.message.test(err.message));
    });
  }
});

describe('setServiceImage: properties', () => {
  const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}$/);
  const targets = cases
    .filter((c) => c.newImage === c.written || c.written === `"${c.newImage}"` || c.written === `'${c.newImage}'`)
    .map((c) => ({ file: c.file, service: c.service, repo: c.newImage.replace(/[:@][^/]*$/, '') }));

  test('random tags: mutate then read back yields the new image, every other line unchanged', () => {
    fc.assert(
      fc.property(fc.constantFrom(...targets), tag, fc.constantFrom(...variants), (t, newTag, [, transform]) => {
        const before = transform(fixture(t.file));
        const newImage = `${t.repo}:${newTag}`;
        const after = setServiceImage(before, t.service, newImage);
        const stack = readStack([{ path: t.file, text: after }], {});
        assert.equal(stack.services.find((s) => s.name === t.service)?.image, newImage);
        const a = before.split('\n');
        const b = after.split('\n');
        assert.equal(b.length, a.length);
        const changed = a.map((line, i) => (line === b[i] ? -1 : i)).filter((i) => i >= 0);
        assert.ok(changed.length <= 1, `lines changed: ${changed.join(',')}`);
      }),
      { numRuns: 300 },
    );
  });

  test('any string value is written so that it reads back exactly, the rest of the document unchanged', () => {
    fc.assert(
      fc.property(fc.constantFrom(...targets), fc.string({ minLength: 1, maxLength: 30, unit: 'binary' }), (t, value) => {
        const before = fixture(t.file);
        const loc = locateServiceImage(before, t.service);
        const after = setServiceImage(before, t.service, value);
        assert.equal(after.slice(0, loc.start), before.slice(0, loc.start));
        const tailLength = before.length - loc.end;
        assert.equal(after.slice(after.length - tailLength), before.slice(loc.end));
        assert.equal(locateServiceImage(after, t.service).value, value);
      }),
      { numRuns: 300 },
    );
  });
});

describe('setImageDefault', () => {
  const rows: Array<{ name: string; text: string; variable: string; value: string; expected: string }> = [
    { name: 'double-quoted soft default', text: 'services:\n  web:\n    image: "reg/app:${TAG:-1.0}" # c\n', variable: 'TAG', value: '1.1', expected: 'services:\n  web:\n    image: "reg/app:${TAG:-1.1}" # c\n' },
    { name: 'plain hard default', text: 'services:\n  web:\n    image: reg/app:${TAG-1.0}\n', variable: 'TAG', value: '2.0', expected: 'services:\n  web:\n    image: reg/app:${TAG-2.0}\n' },
    { name: 'single-quoted, CRLF', text: "services:\r\n  web:\r\n    image: '${REG:-docker.io}/app:${TAG:-1.0}'\r\n", variable: 'TAG', value: '1.0.1', expected: "services:\r\n  web:\r\n    image: '${REG:-docker.io}/app:${TAG:-1.0.1}'\r\n" },
    { name: 'inside another default', text: 'services:\n  web:\n    image: ${IMAGE:-app:${TAG:-1.0}}\n', variable: 'TAG', value: '1.2', expected: 'services:\n  web:\n    image: ${IMAGE:-app:${TAG:-1.2}}\n' },
    { name: 'default in a flow mapping', text: 'services: {web: {image: "app:${TAG:-1}", x: 1}}\n', variable: 'TAG', value: '2', expected: 'services: {web: {image: "app:${TAG:-2}", x: 1}}\n' },
  ];
  for (const r of rows) {
    test(r.name, () => assert.equal(setImageDefault(r.text, 'web', r.variable, r.value), r.expected));
  }
  const refusals: Array<{ name: string; text: string; variable: string; value: string; message: RegExp }> = [
    { name: 'no default', text: 'services:\n  web:\n    image: app:${TAG}\n', variable: 'TAG', value: '1', message: /has no \$\{TAG:-default\}/ },
    { name: 'other variable', text: 'services:\n  web:\n    image: app:${TAG:-1}\n', variable: 'OTHER', value: '1', message: /has no \$\{OTHER:-default\}/ },
    { name: 'nested default', text: 'services:\n  web:\n    image: ${IMAGE:-app:${TAG:-1}}\n', variable: 'IMAGE', value: 'x', message: /contains other variables/ },
    { name: 'value with a brace', text: 'services:\n  web:\n    image: app:${TAG:-1}\n', variable: 'TAG', value: 'a}b', message: /cannot be written as the default/ },
    { name: 'literal image', text: 'services:\n  web:\n    image: app:1\n', variable: 'TAG', value: '2', message: /has no \$\{TAG:-default\}/ },
  ];
  for (const r of refusals) {
    test(`refuses: ${r.name}`, () => {
      assert.throws(() => setImageDefault(r.text, 'web', r.variable, r.value), (err: unknown) => err instanceof ConfigError && r.message.test(err.message));
    });
  }
});

describe('setEnvVariable', () => {
  const rows: Array<{ name: string; text: string; key: string; value: string; expected: string }> = [
    { name: 'unquoted with comment', text: '# tags\nAPP_TAG=1.0.0 # pinned\nOTHER=x\n', key: 'APP_TAG', value: '1.1.0', expected: '# tags\nAPP_TAG=1.1.0 # pinned\nOTHER=x\n' },
    { name: 'export prefix, CRLF', text: 'export APP_TAG=1.0\r\nB=2\r\n', key: 'APP_TAG', value: '1.1', expected: 'export APP_TAG=1.1\r\nB=2\r\n' },
    { name: 'double quoted', text: 'APP_TAG="1.0"   # c\n', key: 'APP_TAG', value: '1.1', expected: 'APP_TAG="1.1"   # c\n' },
    { name: 'single quoted', text: "APP_TAG='1.0'\n", key: 'APP_TAG', value: '1.1', expected: "APP_TAG='1.1'\n" },
    { name: 'yaml-ish colon', text: 'APP_TAG: 1.0\n', key: 'APP_TAG', value: '2.0', expected: 'APP_TAG: 2.0\n' },
    { name: 'spaces around =', text: 'APP_TAG = 1.0\nX=1\n', key: 'APP_TAG', value: '2.0', expected: 'APP_TAG = 2.0\nX=1\n' },
    { name: 'last definition wins', text: 'APP_TAG=1.0\nAPP_TAG=1.5\n', key: 'APP_TAG', value: '2.0', expected: 'APP_TAG=1.0\nAPP_TAG=2.0\n' },
    { name: 'no trailing newline', text: 'A=1\nAPP_TAG=1.0', key: 'APP_TAG', value: '1.0.1', expected: 'A=1\nAPP_TAG=1.0.1' },
    { name: 'after a multi-line value', text: 'CERT="line1\nline2"\nAPP_TAG=1\n', key: 'APP_TAG', value: '2', expected: 'CERT="line1\nline2"\nAPP_TAG=2\n' },
    { name: 'BOM', text: '\uFEFFAPP_TAG=1\n', key: 'APP_TAG', value: '2', expected: '\uFEFFAPP_TAG=2\n' },
    { name: 'empty value', text: 'APP_TAG=\nB=1\n', key: 'APP_TAG', value: '3', expected: 'APP_TAG=3\nB=1\n' },
    { name: 'unquoted value needing quotes', text: 'APP_TAG=1\n', key: 'APP_TAG', value: 'a b', expected: "APP_TAG='a b'\n" },
    { name: 'dollar in a value', text: 'APP_TAG="1"\n', key: 'APP_TAG', value: 'a$b', expected: 'APP_TAG="a$$b"\n' },
    { name: 'quote in a single-quoted value', text: "APP_TAG='1'\n", key: 'APP_TAG', value: "it's", expected: 'APP_TAG="it\'s"\n' },
  ];
  for (const r of rows) {
    test(r.name, () => {
      const out = setEnvVariable(r.text, r.key, r.value);
      assert.equal(out, r.expected);
      assert.equal(parseEnvFile(out)[r.key], r.value);
    });
  }
  test('refuses a variable the file does not set', () => {
    assert.throws(() => setEnvVariable('A=1\n', 'APP_TAG', '2', '.env'), (e: unknown) => e instanceof ConfigError && /^\.env: APP_TAG is not set in this file$/.test(e.message));
    assert.throws(() => setEnvVariable('APP_TAG\n', 'APP_TAG', '2'), ConfigError);
  });
  test('a later reference to the variable follows it', () => {
    const out = setEnvVariable('TAG=1\nIMAGE=app:${TAG}\n', 'TAG', '2');
    assert.equal(out, 'TAG=2\nIMAGE=app:${TAG}\n');
    assert.deepEqual(parseEnvFile(out), { TAG: '2', IMAGE: 'app:2' });
  });
  test('random values round-trip through any quoting', () => {
    fc.assert(
      fc.property(fc.constantFrom('A=1 # c\n', "A='1'\n", 'A="1"\n', 'export A: 1\r\n'), fc.string({ maxLength: 20 }), (text, value) => {
        const body = `# head\n${text}Z=9\n`;
        const out = setEnvVariable(body, 'A', value);
        assert.deepEqual(parseEnvFile(out), { A: value, Z: '9' });
        assert.ok(out.startsWith('# head\n') && out.endsWith('Z=9\n'));
      }),
      { numRuns: 300 },
    );
  });
});
