import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseMirrorConfig, oneShotTask } from '../../../src/mirror/config.js';
import { isReferrerTag, parsePurgeMax, planPurge } from '../../../src/mirror/purge.js';
import { formatStoreRoot, parseStoreRoot } from '../../../src/mirror/store-root.js';
import { ConfigError } from '../../../src/util/errors.js';

const HEX = 'a'.repeat(64);

describe('purge plan', () => {
  test('tags the target has and the source no longer wants, within the cap', () => {
    const wanted = new Set(['1.1', '1.2']);
    assert.deepEqual(planPurge(['1.0', '1.1', '1.2', 'old'], wanted, { share: 0.5 }, 'w'), { remove: ['1.0', 'old'] });
    assert.deepEqual(planPurge(['1.1', '1.2'], wanted, { share: 0.1 }, 'w'), { remove: [] });
    assert.deepEqual(planPurge(['1.0', '1.1', '1.2'], wanted, { count: 1 }, 'w'), { remove: ['1.0'] });
  });

  test('the cap refuses with one line; referrer tags are neither counted nor purged', () => {
    const plan = planPurge(['1.0', '1.1', `sha256-${HEX}`, `sha256-${HEX}.sig`], new Set(['1.1']), { share: 0.1 }, 'img');
    assert.deepEqual(plan.remove, []);
    assert.equal(plan.refused, 'img: purge refused: it would delete 1 of 2 tags, more than purge_max allows (10% of 2 = 0); check the source and filter, or raise purge_max');
    assert.deepEqual(planPurge(['1.0', `sha256-${HEX}.att`], new Set(), { share: 1 }, 'w').remove, ['1.0']);
  });

  test('purge_max: a share or a count; anything else names the field', () => {
    assert.deepEqual(parsePurgeMax('10%', 'f'), { share: 0.1 });
    assert.deepEqual(parsePurgeMax(25, 'f'), { count: 25 });
    for (const bad of ['0.1', '0%', '150%', 'ten', '-3']) assert.throws(() => parsePurgeMax(bad, 'x.purge_max'), (e: Error) => e instanceof ConfigError && e.message.startsWith('x.purge_max: '));
  });

  test('referrer tags: the fallback scheme and cosign suffixes only', () => {
    assert.ok(isReferrerTag(`sha256-${HEX}`));
    assert.ok(isReferrerTag(`sha256-${HEX}.sig`));
    assert.ok(!isReferrerTag(`sha256-${HEX}.tar`));
    assert.ok(!isReferrerTag('sha256-abc'));
  });
});

describe('mirror.yaml: purge, referrers, create_repositories, state, buckets', () => {
  test('nearest setting wins: image over task over defaults', () => {
    const cfg = parseMirrorConfig(`
state: ./mirror-state.json
defaults: { purge: true, purge_max: 5, referrers: false }
tasks:
  - source: ghcr.io/o
    target: 123456789012.dkr.ecr.us-east-1.amazonaws.com/m
    create_repositories: true
    images: [{ from: a }, { from: b, purge: false, referrers: true }, { from: c, purge_max: 50% }]
`, 'm.yaml');
    assert.equal(cfg.state, './mirror-state.json');
    const [a, b, c] = cfg.tasks[0]!.images;
    assert.deepEqual([a!.purge, a!.referrers], [{ count: 5 }, false]);
    assert.deepEqual([b!.purge, b!.referrers], [undefined, true]);
    assert.deepEqual(c!.purge, { share: 0.5 });
    assert.equal(cfg.tasks[0]!.createRepositories, true);
  });

  test('defaults: purge off, referrers on, 10% cap when purging', () => {
    const cfg = parseMirrorConfig('tasks: [{ source: ghcr.io/o, target: r.example.com, images: [{ from: a }, { from: b, purge: true }] }]', 'm.yaml');
    assert.equal(cfg.tasks[0]!.images[0]!.purge, undefined);
    assert.equal(cfg.tasks[0]!.images[0]!.referrers, true);
    assert.deepEqual(cfg.tasks[0]!.images[1]!.purge, { share: 0.1 });
    assert.deepEqual(oneShotTask({ source: 'nginx', target: 'r.example.com/n', purge: true }).images[0]!.purge, { share: 0.1 });
  });

  test('mistakes are one line naming the field', () => {
    const cases: Array<[string, RegExp]> = [
      ['images: [{ from: a, purge_max: 10% }]', /images\[0\]\.purge_max: only means something with purge: true/],
      ['images: [{ from: a, purge: true, purge_max: lots }]', /images\[0\]\.purge_max: "lots" is not a cap/],
      ['images: [{ from: a, purge: yes-please }]', /images\[0\]\.purge: Expected boolean/],
      ['images: [{ from: a, referrers: 1 }]', /images\[0\]\.referrers: Expected boolean/],
    ];
    for (const [images, rx] of cases) {
      assert.throws(() => parseMirrorConfig(`tasks: [{ source: ghcr.io/o, target: r.example.com, ${images.replace(/^images: /, 'images: ')} }]`, 'm.yaml'), (e: Error) => e instanceof ConfigError && rx.test(e.message) && !e.message.includes('\n'), images);
    }
    assert.throws(() => oneShotTask({ source: 'nginx', target: 'r.example.com/n', purgeMax: '5%' }), /--purge-max: only means something with --purge/);
    assert.throws(() => oneShotTask({ source: 'nginx', target: 's3://bucket/n' }), /--target: S3 and R2 targets go in mirror.yaml/);
  });

  test('bucket roots: s3 and r2, names checked, images re-rooted under them', () => {
    assert.deepEqual(parseStoreRoot('s3://my-bucket/a/b/', 'f'), { kind: 's3', bucket: 'my-bucket', prefix: 'a/b' });
    const r2 = parseStoreRoot(`r2://${'0123456789abcdef'.repeat(2)}/bkt`, 'f');
    assert.deepEqual(r2, { kind: 'r2', bucket: 'bkt', prefix: '', account: '0123456789abcdef'.repeat(2) });
    assert.equal(formatStoreRoot(r2), `r2://${'0123456789abcdef'.repeat(2)}/bkt`);
    const cfg = parseMirrorConfig('tasks: [{ source: ghcr.io/o, target: s3://my-bucket/mirror, images: [{ from: team/app }] }]', 'm.yaml');
    assert.deepEqual(cfg.tasks[0]!.images[0]!.target, { registry: 's3://my-bucket/mirror', repository: 'team/app' });
    assert.throws(() => parseStoreRoot('s3://UPPER', 'f'), /"UPPER" is not a bucket name/);
  });
});
