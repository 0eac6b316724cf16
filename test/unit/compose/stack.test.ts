import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { publishesHostPort, readStack, type ComposeFileText, type StackService } from '../../../src/compose/stack.js';
import { ConfigError } from '../../../src/util/errors.js';

const one = (text: string, env: Record<string, string | undefined> = {}) => readStack([{ path: 'compose.yml', text }], env);
const svc = (text: string, name = 'web', env: Record<string, string | undefined> = {}): StackService => {
  const s = one(text, env).services.find((x) => x.name === name);
  assert.ok(s, `service ${name} missing`);
  return s;
};
const throwsConfig = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && message.test(e.message));

describe('readStack: labels', () => {
  const rows: Array<[string, string, Record<string, string>]> = [
    ['map form', 'labels:\n      a: "1"\n      dosync.policy: semver', { a: '1', 'dosync.policy': 'semver' }],
    ['list form', 'labels:\n      - a=1\n      - "b=x=y"\n      - bare\n      - "c="', { a: '1', b: 'x=y', bare: '', c: '' }],
    ['non-string values', 'labels: {n: 5, t: true, e: null}', { n: '5', t: 'true', e: '' }],
    ['interpolated values', 'labels: ["tier=${TIER:-web}"]', { tier: 'web' }],
    ['none', 'restart: always', {}],
  ];
  for (const [name, body, expected] of rows) {
    test(name, () => assert.deepEqual(svc(`services:\n  web:\n    image: a\n    ${body}\n`).labels, expected));
  }
});

describe('readStack: replicas', () => {
  const rows: Array<[string, string, number]> = [
    ['default', '', 1],
    ['scale', 'scale: 2', 2],
    ['deploy.replicas', 'deploy: {replicas: 3}', 3],
    ['both equal', 'scale: 2\n    deploy: {replicas: 2}', 2],
    ['zero', 'scale: 0', 0],
    ['interpolated string', 'scale: "${N:-4}"', 4],
  ];
  for (const [name, body, expected] of rows) test(name, () => assert.equal(svc(`services:\n  web:\n    image: a\n    ${body}\n`).replicas, expected));
  test('distinct scale and deploy.replicas are a config error', () =>
    throwsConfig(() => one('services:\n  web:\n    image: a\n    scale: 2\n    deploy: {replicas: 3}\n'), /services\.web: can't set distinct values on 'scale' \(2\) and 'deploy\.replicas' \(3\)/));
  test('a non-number is a config error', () => throwsConfig(() => one('services:\n  web:\n    image: a\n    scale: x\n'), /services\.web\.scale must be a whole number, got "x"/));
});

describe('readStack: override files', () => {
  const base: ComposeFileText = {
    path: 'base.yml',
    text: `name: proj-\${S}
services:
  web:
    image: app:1
    labels: [a=1, b=2, "c"]
    profiles: [p1]
    depends_on: [db]
    ports: ["8080:80"]
    scale: 2
    healthcheck: {test: ["CMD", "true"], interval: 5s}
  db:
    image: postgres
    deploy: {replicas: 3}
    profiles: [p1]
`,
  };
  const prod: ComposeFileText = {
    path: 'prod.yml',
    text: `services:
  web:
    image: app:2
    labels: {b: "3", d: "4"}
    profiles: [p2]
    depends_on: {cache: {condition: service_healthy}}
    ports: [{target: 81, published: "9090"}]
    scale: 4
    healthcheck: {timeout: 2s}
  cache:
    build: .
`,
  };
  // The same merge `docker compose -f base.yml -f prod.yml config` (v2.26) produced.
  test('image from the last file that sets it; labels, profiles, depends_on, healthcheck merged', () => {
    const stack = readStack([base, prod], { S: 'sv' });
    assert.equal(stack.projectName, 'proj-sv');
    assert.deepEqual(stack.services.map((s) => s.name), ['web', 'db', 'cache']);
    const [web, db, cache] = stack.services;
    assert.deepEqual(
      { image: web.image, rawImage: web.rawImage, imageFile: web.imageFile, labels: web.labels, profiles: web.profiles, dependsOn: web.dependsOn, replicas: web.replicas, healthcheck: web.healthcheck, ports: web.hasFixedHostPorts },
      {
        image: 'app:2',
        rawImage: 'app:2',
        imageFile: 'prod.yml',
        labels: { a: '1', b: '3', c: '', d: '4' },
        profiles: ['p1', 'p2'],
        dependsOn: [
          { service: 'db', condition: 'service_started' },
          { service: 'cache', condition: 'service_healthy' },
        ],
        replicas: 4,
        healthcheck: { test: ['CMD', 'true'], interval: '5s', timeout: '2s' },
        ports: true,
      },
    );
    assert.deepEqual({ image: db.image, imageFile: db.imageFile, replicas: db.replicas }, { image: 'postgres', imageFile: 'base.yml', replicas: 3 });
    assert.equal(cache.image, undefined);
    assert.equal(cache.imageFile, undefined);
  });

  test('image set only in the base stays attributed to the base', () => {
    const stack = readStack([base, { path: 'labels.yml', text: 'services:\n  web:\n    labels: {extra: "1"}\n' }], { S: 'x' });
    assert.equal(stack.services[0].imageFile, 'base.yml');
    assert.equal(stack.services[0].labels.extra, '1');
  });

  test('!reset removes and !override replaces', () => {
    const over: ComposeFileText = { path: 'o.yml', text: 'services:\n  web:\n    labels: !override {z: "9"}\n    ports: !reset []\n    profiles: !reset\n    image: !reset null\n' };
    const [web] = readStack([base, over], { S: 'x' }).services;
    assert.deepEqual({ labels: web.labels, ports: web.hasFixedHostPorts, profiles: web.profiles, image: web.image, imageFile: web.imageFile }, { labels: { z: '9' }, ports: false, profiles: [], image: undefined, imageFile: undefined });
  });

  test('an empty override file adds nothing', () => {
    const stack = readStack([base, { path: 'empty.yml', text: '' }, { path: 'comments.yml', text: '# nothing\n' }], { S: 'x' });
    assert.equal(stack.services[0].image, 'app:1');
  });
});

describe('readStack: interpolation and where the tag lives', () => {
  const compose = (image: string) => `services:\n  web:\n    image: ${image}\n`;
  const rows: Array<{ name: string; image: string; env?: Record<string, string>; envFiles?: Array<{ path: string; text: string }>; expected: Partial<StackService> }> = [
    { name: 'literal', image: 'app:1.0', expected: { image: 'app:1.0', rawImage: 'app:1.0', imageVariable: undefined } },
    { name: 'tag from an env file', image: 'reg/app:${APP_TAG}', envFiles: [{ path: '/p/.env', text: 'APP_TAG=1.2.3\n' }], expected: { image: 'reg/app:1.2.3', rawImage: 'reg/app:${APP_TAG}', imageVariable: { name: 'APP_TAG', definedIn: 'env-file', envFile: '/p/.env' } } },
    { name: 'whole image from an env file', image: '${IMAGE}', envFiles: [{ path: 'e', text: 'IMAGE=nginx:1.25\n' }], expected: { image: 'nginx:1.25', imageVariable: { name: 'IMAGE', definedIn: 'env-file', envFile: 'e' } } },
    { name: 'later env file wins', image: 'app:$TAG', envFiles: [{ path: 'a', text: 'TAG=1\n' }, { path: 'b', text: 'TAG=2\n' }], expected: { image: 'app:2', imageVariable: { name: 'TAG', definedIn: 'env-file', envFile: 'b' } } },
    { name: 'shell env wins over env files', image: 'app:${TAG}', env: { TAG: '9' }, envFiles: [{ path: 'a', text: 'TAG=1\n' }], expected: { image: 'app:9', imageVariable: { name: 'TAG', definedIn: 'environment' } } },
    { name: 'soft default', image: '"app:${TAG:-1.0.0}"', expected: { image: 'app:1.0.0', rawImage: 'app:${TAG:-1.0.0}', imageVariable: { name: 'TAG', definedIn: 'default' } } },
    { name: 'soft default with empty variable', image: 'app:${TAG:-1.0.0}', envFiles: [{ path: 'e', text: 'TAG=\n' }], expected: { image: 'app:1.0.0', imageVariable: { name: 'TAG', definedIn: 'default' } } },
    { name: 'hard default keeps an empty variable', image: 'app${TAG-:1}', envFiles: [{ path: 'e', text: 'TAG=\n' }], expected: { image: 'app' } },
    { name: 'registry from a variable, literal tag', image: '${REGISTRY}/app:1.0', env: { REGISTRY: 'reg:5000' }, expected: { image: 'reg:5000/app:1.0', imageVariable: undefined } },
    { name: 'tag assembled from two variables', image: 'app:${MAJOR}.${MINOR}', env: { MAJOR: '1', MINOR: '2' }, expected: { image: 'app:1.2', imageVariable: undefined } },
    { name: 'alternative', image: 'app:${DEV:+dev}', env: { DEV: '1' }, expected: { image: 'app:dev', imageVariable: undefined } },
    { name: 'required and set', image: 'app:${TAG:?set TAG}', env: { TAG: '3' }, expected: { image: 'app:3', imageVariable: { name: 'TAG', definedIn: 'environment' } } },
    { name: 'escaped dollar', image: 'app:$${NOT}', expected: { image: 'app:${NOT}', imageVariable: undefined } },
  ];
  for (const r of rows) {
    test(r.name, () => {
      const s = readStack([{ path: 'c.yml', text: compose(r.image) }], r.env ?? {}, { envFiles: r.envFiles }).services[0];
      const picked = Object.fromEntries(Object.keys(r.expected).map((k) => [k, s[k as keyof StackService]]));
      assert.deepEqual(picked, r.expected);
    });
  }

  test('a missing required variable names the file and the field', () =>
    throwsConfig(() => readStack([{ path: 'prod.yml', text: compose('app:${TAG:?set TAG in .env}') }], {}), /^prod\.yml: services\.web\.image: required variable TAG is missing a value: set TAG in \.env$/));
  test('an invalid template anywhere is an error, as in compose', () =>
    throwsConfig(() => one('x-notes: "${1x}"\nservices:\n  web:\n    image: a\n'), /^compose\.yml: x-notes: invalid interpolation format "\$\{1x\}"/));
  test('unset variables are reported as warnings', () => {
    const stack = one(compose('app:${TAG}'));
    assert.equal(stack.services[0].image, 'app:');
    assert.deepEqual(stack.warnings, ['The "TAG" variable is not set. Defaulting to a blank string.']);
  });
  test('env file syntax errors name the env file', () =>
    throwsConfig(() => readStack([{ path: 'c.yml', text: compose('a') }], {}, { envFiles: [{ path: '/x/.env', text: 'A=1\nB="open\n' }] }), /^\/x\/\.env:2: unterminated/));
  test('env files see the shell and earlier env files', () => {
    const s = readStack([{ path: 'c.yml', text: compose('${REG}/app:${TAG}') }], { REG: 'r.io' }, { envFiles: [{ path: 'a', text: 'BASE=1\n' }, { path: 'b', text: 'TAG=${BASE}.5\n' }] }).services[0];
    assert.equal(s.image, 'r.io/app:1.5');
  });
});

describe('readStack: structure', () => {
  test('profiles, container_name, build-only services', () => {
    const stack = one(`services:
  app:
    build: .
    image: example/app:0.3.0
  debug:
    image: busybox
    profiles: [debug, tools]
    container_name: dbg
  tools:
    build: ./tools
`);
    assert.deepEqual(
      stack.services.map((s) => [s.name, s.image ?? null, s.profiles, s.containerName ?? null]),
      [
        ['app', 'example/app:0.3.0', [], null],
        ['debug', 'busybox', ['debug', 'tools'], 'dbg'],
        ['tools', null, [], null],
      ],
    );
  });

  test('include: entries are recorded, not followed, and do not crash', () => {
    const stack = one('include:\n  - ./db/compose.yml\n  - path: [a.yml, b.yml]\n    env_file: a.env\n    project_directory: ./a\nservices:\n  web:\n    image: a\n');
    assert.deepEqual(stack.includes, [
      { fromFile: 'compose.yml', paths: ['./db/compose.yml'], envFiles: [] },
      { fromFile: 'compose.yml', paths: ['a.yml', 'b.yml'], envFiles: ['a.env'], projectDirectory: './a' },
    ]);
    assert.equal(stack.services.length, 1);
    assert.equal(stack.warnings.filter((w) => w.includes('is not followed')).length, 2);
  });

  test('include-only file', () => assert.deepEqual(one('include: [other.yml]\n').services, []));

  test('merge keys and anchors: the image an anchor provides is read', () => {
    const s = svc('x-app: &app\n  image: reg/app:2.3.0\n  labels: {a: b}\nservices:\n  jobs:\n    <<: *app\n    command: jobs\n', 'jobs');
    assert.deepEqual({ image: s.image, rawImage: s.rawImage, labels: s.labels }, { image: 'reg/app:2.3.0', rawImage: 'reg/app:2.3.0', labels: { a: 'b' } });
  });

  test('extends within a file: the image comes from the base service', () => {
    const stack = one('services:\n  base:\n    image: app:1\n    labels: {a: "1"}\n  web:\n    extends: base\n    labels: {b: "2"}\n  api:\n    extends: {service: web}\n    image: api:1\n');
    const byName = Object.fromEntries(stack.services.map((s) => [s.name, s]));
    assert.deepEqual([byName.web.image, byName.web.imageService, byName.web.labels], ['app:1', 'base', { a: '1', b: '2' }]);
    assert.deepEqual([byName.api.image, byName.api.imageService], ['api:1', undefined]);
  });
  test('extends from another file is a warning', () => {
    const stack = one('services:\n  web:\n    extends: {file: common.yml, service: base}\n');
    assert.equal(stack.services[0].image, undefined);
    assert.match(stack.warnings[0], /extends base from common\.yml, which is not followed/);
  });
  test('extends cycles and unknown services are errors', () => {
    throwsConfig(() => one('services:\n  a: {extends: b}\n  b: {extends: a}\n'), /extends forms a cycle/);
    throwsConfig(() => one('services:\n  a: {extends: nope}\n'), /services\.a extends unknown service nope/);
  });

  const errors: Array<[string, string, RegExp]> = [
    ['invalid YAML names file:line:col', 'services:\n  web:\n    image: [a\n', /^compose\.yml:\d+:\d+: invalid YAML: /],
    ['bad indentation', 'services:\n  web:\n    image: a\n   ports: []\n', /^compose\.yml:4:\d+: invalid YAML: /],
    ['services is a list', 'services:\n  - web\n', /^compose\.yml: services must be a mapping/],
    ['services is a string', 'services: web\n', /^compose\.yml: services must be a mapping/],
    ['a service without definition', 'services:\n  web:\n', /^compose\.yml: services\.web must be a mapping$/],
    ['top level is a list', '- a\n', /^compose\.yml: the top level of a compose file must be a mapping$/],
    ['two documents', 'services: {}\n---\nservices: {}\n', /^compose\.yml:2:1: invalid YAML: a compose file holds one YAML document, this one has several/],
    ['unknown alias', 'services:\n  web: *nope\n', /^compose\.yml:2:8: services\.web: unknown alias \*nope$/],
  ];
  for (const [name, text, message] of errors) test(`error: ${name}`, () => throwsConfig(() => one(text), message));
});

describe('publishesHostPort', () => {
  const rows: Array<[unknown, boolean]> = [
    [80, false],
    ['80', false],
    ['80/udp', false],
    ['8080:80', true],
    ['127.0.0.1:8080:80', true],
    ['127.0.0.1::80', false],
    ['8000-8010:80', true],
    ['[::1]:8080:80', true],
    ['[::1]::80', false],
    [{ target: 80 }, false],
    [{ target: 80, published: 8080 }, true],
    [{ target: 80, published: '' }, false],
    [{ target: 80, published: '9000-9001' }, true],
  ];
  for (const [entry, expected] of rows) test(JSON.stringify(entry), () => assert.equal(publishesHostPort(entry), expected));
});

describe('readStack: implicit dependencies', () => {
  test('network_mode, ipc, pid, links and volumes_from add service_started dependencies; explicit ones win', () => {
    const s = svc(
      'services:\n  web: {image: x, network_mode: "service:b", links: ["c:alias"], volumes_from: ["d:ro", "container:zzz"], ipc: "service:e", pid: "service:f", depends_on: {c: {condition: service_healthy}}}\n',
    );
    assert.deepEqual(s.dependsOn, [
      { service: 'c', condition: 'service_healthy' },
      { service: 'b', condition: 'service_started' },
      { service: 'e', condition: 'service_started' },
      { service: 'f', condition: 'service_started' },
      { service: 'd', condition: 'service_started' },
    ]);
  });
});
