import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HubRateLimitGuard, parseHubRateLimit, parseEcrHost, parseGoogleTagList } from '../../../src/registry/providers/index.js';
import { ExpiringCache } from '../../../src/registry/providers/common.js';

describe('Docker Hub pull-limit headers', () => {
  test('parse', () => {
    const table: Array<[Record<string, string>, object | undefined]> = [
      [{ 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' }, { limit: 100, remaining: 76, windowSeconds: 21600 }],
      [{ 'ratelimit-limit': '200;w=21600', 'ratelimit-remaining': '0;w=21600', 'docker-ratelimit-source': '203.0.113.9' }, { limit: 200, remaining: 0, windowSeconds: 21600 }],
      [{ 'ratelimit-limit': '100', 'ratelimit-remaining': '5' }, { limit: 100, remaining: 5, windowSeconds: 21600 }],
      [{ 'ratelimit-limit': '2500;w=86400', 'ratelimit-remaining': '2496;w=86400' }, { limit: 2500, remaining: 2496, windowSeconds: 86400 }],
      [{}, undefined],
      [{ 'ratelimit-limit': '100;w=21600' }, undefined],
      [{ 'ratelimit-limit': 'lots', 'ratelimit-remaining': 'some' }, undefined],
    ];
    for (const [headers, want] of table) assert.deepEqual(parseHubRateLimit(headers), want, JSON.stringify(headers));
    // fetch-style Headers work too
    assert.deepEqual(parseHubRateLimit(new Headers({ 'RateLimit-Limit': '100;w=21600', 'RateLimit-Remaining': '42;w=21600' })), { limit: 100, remaining: 42, windowSeconds: 21600 });
  });

  test('go, slow, pause as the remaining pulls fall; a fresh reading after the pause', () => {
    let now = 1_000_000;
    const guard = new HubRateLimitGuard({ now: () => now });
    assert.deepEqual(guard.decide(), { action: 'go' }, 'unlimited or not seen yet');
    const h = (remaining: number) => ({ 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': `${remaining};w=21600` });

    guard.observe(200, h(50));
    assert.deepEqual(guard.decide(), { action: 'go' });

    guard.observe(200, h(15)); // reserve is max(5, 10% of 100) = 10; slow at <= 20
    const slow = guard.decide();
    assert.equal(slow.action, 'slow');
    assert.equal(slow.action === 'slow' && slow.delayMs, 216_000, 'one pull ages out every 6 h / 100');
    assert.match(slow.action === 'slow' ? slow.reason : '', /15 of 100 pulls left in the 6 h window; spacing Docker Hub pulls \(manifest GETs\) 4 min apart/);

    guard.observe(200, h(8));
    const pause = guard.decide();
    assert.equal(pause.action, 'pause');
    assert.equal(pause.action === 'pause' && pause.until, now + 3 * 216_000, '(10 - 8 + 1) pulls to age out');
    assert.match(pause.action === 'pause' ? pause.reason : '', /8 of 100 pulls left .* pausing Docker Hub checks for 11 min to keep 10 for updates/);

    now += 3 * 216_000 - 1;
    assert.equal(guard.decide().action, 'pause');
    now += 1;
    assert.deepEqual(guard.decide(), { action: 'go' }, 'a HEAD (not counted) may look again');
  });

  test('429: Retry-After seconds or date; without it one pull interval', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const guard = new HubRateLimitGuard({ now: () => now });
    guard.observe(429, { 'retry-after': '120' });
    const d = guard.decide();
    assert.equal(d.action === 'pause' && d.until, now + 120_000);
    assert.match(d.action === 'pause' ? d.reason : '', /429 .* pausing Docker Hub checks for 2 min/);

    now += 200_000;
    guard.observe(429, { 'retry-after': new Date(now + 30 * 60_000).toUTCString() });
    const d2 = guard.decide();
    assert.equal(d2.action === 'pause' && d2.until, now + 30 * 60_000);

    now += 31 * 60_000;
    guard.observe(429, { 'ratelimit-limit': '200;w=21600', 'ratelimit-remaining': '0;w=21600' });
    const d3 = guard.decide();
    assert.equal(d3.action === 'pause' && d3.until, now + 108_000);
  });

  test('the reading that came with a 429 is not used again once the pause is over', () => {
    let now = 0;
    const guard = new HubRateLimitGuard({ now: () => now });
    guard.observe(429, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600', 'retry-after': '60' });
    const d = guard.decide();
    assert.equal(d.action, 'pause');
    assert.deepEqual(d.action === 'pause' && d.reading, { limit: 100, remaining: 0, windowSeconds: 21600 });
    assert.match(d.action === 'pause' ? d.reason : '', /pausing Docker Hub checks for 60 s, until 1970-01-01T00:01:00\.000Z$/);
    now = 60_000;
    assert.deepEqual(guard.decide(), { action: 'go' });
  });

  test('an explicit reserve', () => {
    const guard = new HubRateLimitGuard({ reserve: 0, now: () => 0 });
    guard.observe(200, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '1;w=21600' });
    assert.equal(guard.decide().action, 'go');
    guard.observe(200, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' });
    assert.equal(guard.decide().action, 'pause');
  });
});

describe('ECR host names', () => {
  const table: Array<[string, object | undefined]> = [
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com', { account: '123456789012', fips: false, region: 'us-east-1' }],
    ['123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com', { account: '123456789012', fips: true, region: 'us-gov-west-1' }],
    ['123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn', { account: '123456789012', fips: false, region: 'cn-northwest-1' }],
    ['123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov', { account: '123456789012', fips: false, region: 'us-iso-east-1' }],
    ['123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM', { account: '123456789012', fips: false, region: 'eu-west-1' }],
    ['12345678901.dkr.ecr.us-east-1.amazonaws.com', undefined],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example', undefined],
    ['public.ecr.aws', undefined],
  ];
  for (const [host, want] of table) test(host, () => assert.deepEqual(parseEcrHost(host), want));
});

describe('Google tag list push times', () => {
  test('timeUploadedMs per digest, for each of its tags', () => {
    const body = {
      child: [],
      manifest: {
        'sha256:aaa': { imageSizeBytes: '1', mediaType: 'application/vnd.oci.image.index.v1+json', tag: ['1.0.0', 'stable'], timeCreatedMs: '0', timeUploadedMs: '1700000000000' },
        'sha256:bbb': { imageSizeBytes: '1', mediaType: 'x', tag: ['1.1.0'], timeCreatedMs: '0', timeUploadedMs: '1710000000123' },
        'sha256:ccc': { imageSizeBytes: '1', mediaType: 'x', tag: [], timeCreatedMs: '0', timeUploadedMs: '1600000000000' },
        'sha256:ddd': { imageSizeBytes: '1', mediaType: 'x', tag: ['broken'], timeUploadedMs: 'soon' },
      },
      name: 'proj/app',
      tags: ['1.0.0', '1.1.0', 'broken', 'stable'],
    };
    const times = parseGoogleTagList(body);
    assert.deepEqual([...times.entries()].map(([k, v]) => [k, v.toISOString()]), [
      ['1.0.0', '2023-11-14T22:13:20.000Z'],
      ['stable', '2023-11-14T22:13:20.000Z'],
      ['1.1.0', '2024-03-09T16:00:00.123Z'],
    ]);
    assert.equal(parseGoogleTagList({ name: 'x', tags: ['a'] }).size, 0, 'a standard tag list has no times');
    assert.equal(parseGoogleTagList(null).size, 0);
  });
});

describe('token cache', () => {
  test('renews shortly before expiry; concurrent callers share one fetch; failures are not kept', async () => {
    let now = 0;
    let fetches = 0;
    const cache = new ExpiringCache<string>(() => now);
    const fetch = async () => ({ value: `t${++fetches}`, expiresAt: now + 3600_000 });
    assert.deepEqual(await Promise.all([cache.get('k', fetch), cache.get('k', fetch)]), ['t1', 't1']);
    now = 3600_000 - 5 * 60_000 - 1;
    assert.equal(await cache.get('k', fetch), 't1');
    now += 1;
    assert.equal(await cache.get('k', fetch), 't2', 'renewed 5 min before expiry');
    await assert.rejects(cache.get('bad', async () => { throw new Error('boom'); }));
    assert.equal(await cache.get('bad', fetch), 't3');
    // A short-lived value renews at half its life.
    const short = new ExpiringCache<string>(() => now);
    await short.get('s', async () => ({ value: 'a', expiresAt: now + 60_000 }));
    now += 30_000;
    assert.equal(await short.get('s', async () => ({ value: 'b', expiresAt: now + 60_000 })), 'b');
  });
});
