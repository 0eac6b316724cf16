import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { oneShotTask, parseMirrorConfig, parseSize } from '../../../src/mirror/config.js';
import { parseEndpoint, parseRename, targetRepository } from '../../../src/mirror/naming.js';
import { ConfigError } from '../../../src/util/errors.js';

const ISSUE_EXAMPLE = `
defaults: { interval: 1h, parallel: 4, maxErrors: 5 }
tasks:
  - name: base-images
    source: docker.io
    target: registry.example.com/mirror      # re-rooted under a prefix
    images:
      - from: library/nginx
        to: nginx                             # rename (literal or regex replace)
        tags: { semver: '>=1.25 <2', include: ['^stable$'], exclude: ['-rc'], latest: 5, maxAge: 90d }
        platforms: all                        # default all; or [linux/amd64, linux/arm64]
      - from: library/redis
        tags: ['7.2', '7.4']
`;

describe('mirror.yaml', () => {
  test('the example of the issue', () => {
    const cfg = parseMirrorConfig(ISSUE_EXAMPLE, 'mirror.yaml');
    assert.equal(cfg.tasks.length, 1);
    const t = cfg.tasks[0]!;
    assert.equal(t.name, 'base-images');
    assert.equal(t.intervalMs, 3_600_000);
    assert.equal(t.cron, undefined);
    assert.equal(t.parallel, 4);
    assert.equal(t.maxErrors, 5);
    const [nginx, redis] = t.images;
    assert.deepEqual(nginx!.source, { registry: 'docker.io', repository: 'library/nginx' });
    assert.deepEqual(nginx!.target, { registry: 'registry.example.com', repository: 'mirror/nginx' });
    assert.equal(nginx!.platforms, 'all');
    assert.equal(nginx!.tags.latest, 5);
    assert.equal(nginx!.tags.maxAgeMs, 90 * 86_400_000);
    assert.equal(nginx!.tags.include.length, 1);
    assert.deepEqual(redis!.source, { registry: 'docker.io', repository: 'library/redis' });
    // Without `to`, the source path is kept under the target prefix.
    assert.deepEqual(redis!.target, { registry: 'registry.example.com', repository: 'mirror/library/redis' });
    assert.deepEqual(redis!.tags.names, ['7.2', '7.4']);
  });

  test('cron schedules, platform lists, chunk sizes, defaults inherited and overridden', () => {
    const cfg = parseMirrorConfig(`
defaults: { schedule: '0 3 * * *', platforms: [linux/amd64], chunkSize: 8MiB }
tasks:
  - source: ghcr.io/org
    target: 127.0.0.1:5000
    images: [{ from: app, platforms: [linux/arm64/v8, linux/amd64] }]
  - name: hourly
    interval: 30m
    source: quay.io
    target: localhost:5000/q
    maxErrors: 1
    images: [{ from: a/b }]
`, 'm.yaml');
    const [a, b] = cfg.tasks;
    assert.equal(a!.name, 'task-1');
    assert.equal(a!.cron, '0 3 * * *');
    assert.equal(a!.intervalMs, undefined);
    assert.equal(a!.chunkSize, 8 * 1024 * 1024);
    assert.deepEqual(a!.images[0]!.platforms, [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'amd64' }]);
    assert.deepEqual(a!.images[0]!.source, { registry: 'ghcr.io', repository: 'org/app' });
    assert.equal(b!.intervalMs, 30 * 60_000);
    assert.equal(b!.cron, undefined);
    assert.equal(b!.maxErrors, 1);
    assert.deepEqual(b!.images[0]!.platforms, [{ os: 'linux', architecture: 'amd64' }]);
    assert.deepEqual(b!.images[0]!.target, { registry: 'localhost:5000', repository: 'q/a/b' });
  });

  test('${VAR} is expanded in source and target only', () => {
    const cfg = parseMirrorConfig(`
tasks:
  - source: \${SRC}
    target: \${DST}/m
    images: [{ from: app, to: 'regex:^(?P<n>.*)$,x-\${n}' }]
`, 'm.yaml', { SRC: 'ghcr.io', DST: 'reg.example.com' });
    assert.deepEqual(cfg.tasks[0]!.images[0]!.target, { registry: 'reg.example.com', repository: 'm/x-app' });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['unknown key', 'tasks: [{ source: docker.io, target: r.io, images: [{ from: a, tag: [x] }] }]', /^m\.yaml: tasks\[0\]\.images\[0\]: unknown key\(s\) tag$/],
    ['no tasks', 'defaults: {}', /^m\.yaml: tasks: is required$/],
    ['interval and schedule', 'tasks: [{ source: docker.io, target: r.io, interval: 1h, schedule: "* * * * *", images: [{ from: a }] }]', /tasks\[0\]: set either interval or schedule/],
    ['bad cron', 'tasks: [{ source: docker.io, target: r.io, schedule: "every day", images: [{ from: a }] }]', /tasks\[0\]\.schedule: "every day" is not a cron expression/],
    ['bad interval', 'tasks: [{ source: docker.io, target: r.io, interval: soon, images: [{ from: a }] }]', /tasks\[0\]\.interval: "soon" is not a duration/],
    ['target without host', 'tasks: [{ source: docker.io, target: mirror, images: [{ from: a }] }]', /tasks\[0\]\.target: "mirror" does not start with a registry host/],
    ['bad repository', 'tasks: [{ source: docker.io, target: r.io, images: [{ from: "Bad/Name" }] }]', /tasks\[0\]\.images\[0\]\.from: "Bad\/Name" is not a valid repository name/],
    ['bad platform', 'tasks: [{ source: docker.io, target: r.io, images: [{ from: a, platforms: [amd64] }] }]', /platforms: "amd64" is not a platform/],
    ['two images into one repository', 'tasks: [{ source: docker.io, target: r.io, images: [{ from: a, to: x }, { from: b, to: x }] }]', /images\[1\]: copies into r\.io\/x, as .*images\[0\] does/],
    ['same repository', 'tasks: [{ source: r.io, target: r.io, images: [{ from: a }] }]', /source and target are the same repository/],
    ['empty tag list', 'tasks: [{ source: docker.io, target: r.io, images: [{ from: a, tags: [] }] }]', /tags: an empty list copies nothing/],
    ['bad regex rename', 'tasks: [{ source: docker.io, target: r.io, images: [{ from: a, to: "regex:(,x" }] }]', /to: "\(" is not a valid regular expression/],
    ['duplicate task names', 'tasks: [{ name: a, source: docker.io, target: r.io, images: [{ from: a }] }, { name: a, source: docker.io, target: s.io, images: [{ from: a }] }]', /tasks\[1\]\.name: "a" is used by another task/],
    ['bad chunk size', 'tasks: [{ source: docker.io, target: r.io, chunkSize: lots, images: [{ from: a }] }]', /chunkSize: "lots" is not a size/],
    ['invalid YAML', 'tasks: [', /^m\.yaml:\d+:\d+: invalid YAML/],
  ];
  for (const [name, text, message] of bad) {
    test(`rejects: ${name}`, () => {
      assert.throws(() => parseMirrorConfig(text, 'm.yaml'), (err: unknown) => err instanceof ConfigError && message.test(err.message) && !err.message.includes('\n'));
    });
  }
});

describe('naming', () => {
  const cases: Array<[string, string | { match: string; replace: string } | undefined, string, string]> = [
    ['library/nginx', undefined, 'reg.io/mirror', 'mirror/library/nginx'],
    ['library/nginx', 'nginx', 'reg.io/mirror', 'mirror/nginx'],
    ['library/nginx', 'regex:^library/(.+)$,hub/$1', 'reg.io', 'hub/nginx'],
    ['team/app', { match: '^(?P<ns>[^/]+)/(?P<name>.+)$', replace: '${name}-${ns}' }, 'reg.io/x', 'x/app-team'],
    ['a/b', 'regex:nomatch,z', 'reg.io', 'a/b'],
    ['nginx', undefined, 'docker.io/me', 'me/nginx'],
  ];
  for (const [from, to, target, want] of cases) {
    test(`${from} with to=${JSON.stringify(to)} under ${target} -> ${want}`, () => {
      const ep = parseEndpoint(target, 't');
      assert.equal(targetRepository(from, parseRename(to, 't'), ep, 't').repository, want);
    });
  }

  test('endpoints: Docker Hub aliases, ports, schemes, prefixes', () => {
    assert.deepEqual(parseEndpoint('index.docker.io', 't'), { registry: 'docker.io', prefix: '' });
    assert.deepEqual(parseEndpoint('https://Reg.Example.com:5000/a/b/', 't'), { registry: 'reg.example.com:5000', prefix: 'a/b' });
    assert.deepEqual(parseEndpoint('localhost/x', 't'), { registry: 'localhost', prefix: 'x' });
  });

  test('a rename that produces an invalid name is a ConfigError naming the field', () => {
    assert.throws(() => targetRepository('a', parseRename('regex:a,UPPER', 'x.to'), parseEndpoint('r.io', 't'), 'x.to'), /x\.to: "UPPER" is not a valid repository name/);
  });
});

describe('one-shot flags', () => {
  test('short Docker Hub names, tag list forms, platforms', () => {
    const t = oneShotTask({ source: 'nginx', target: 'registry.example.com/mirror/nginx', tags: '1.27.*, stable, semver:>=2 <3, regex:^v\\d', platforms: ['linux/amd64,linux/arm64'], latest: 3 });
    const img = t.images[0]!;
    assert.deepEqual(img.source, { registry: 'docker.io', repository: 'library/nginx' });
    assert.deepEqual(img.target, { registry: 'registry.example.com', repository: 'mirror/nginx' });
    assert.deepEqual(img.tags.names, ['stable']);
    assert.equal(img.tags.include.length, 2);
    assert.equal(img.tags.semver?.describe, 'semver >=2 <3');
    assert.equal(img.tags.latest, 3);
    assert.equal((img.platforms as unknown[]).length, 2);
    assert.equal(t.intervalMs, 3_600_000);
  });

  test('errors', () => {
    assert.throws(() => oneShotTask({ source: 'nginx', target: 'docker.io/library/nginx' }), /--source and --target name the same repository/);
    assert.throws(() => oneShotTask({ source: 'nginx', target: 'r.io/n', tags: 'semver:>1,semver:<2' }), /only one semver: range/);
    assert.throws(() => oneShotTask({ source: 'nginx', target: 'r.io/n', interval: '1h', schedule: '* * * * *' }), /either --interval or --schedule/);
    assert.throws(() => oneShotTask({ source: 'nginx', target: 'r.io/n', maxAge: 'old' }), /--max-age: "old" is not a duration/);
  });
});

test('sizes', () => {
  assert.equal(parseSize('8MiB', 's'), 8 * 1024 * 1024);
  assert.equal(parseSize('5MB', 's'), 5_000_000);
  assert.equal(parseSize('1048576', 's'), 1048576);
  assert.equal(parseSize(100, 's'), 100);
  assert.throws(() => parseSize('0', 's'), ConfigError);
});
