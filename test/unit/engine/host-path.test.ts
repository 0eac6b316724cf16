import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { containerPathOf, hostPathOf, type MountInfo } from '../../../src/engine/project.js';
import { selfLast } from '../../../src/sync/self-update.js';
import type { UpdateGroup } from '../../../src/sync/groups.js';
import type { ServicePlan } from '../../../src/sync/plan.js';

const bind = (Source: string, Destination: string): MountInfo => ({ Type: 'bind', Source, Destination });

describe('hostPathOf: a path inside the dosync container -> the host path (sidecar mode)', () => {
  const readme = [bind('/var/run/docker.sock', '/var/run/docker.sock'), bind('/srv/shop/docker-compose.yml', '/app/docker-compose.yml'), bind('/srv/shop/backups', '/app/backups')];
  const dir = [bind('/srv/shop', '/app'), bind('/srv/shop/conf/override.yml', '/app/conf/override.yml'), bind('/data/shared', '/app/shared/')];
  const cases: Array<[string, MountInfo[], string, string | undefined]> = [
    ['single-file mount', readme, '/app/docker-compose.yml', '/srv/shop/docker-compose.yml'],
    ['file under a mounted dir', readme, '/app/backups/state.json', '/srv/shop/backups/state.json'],
    ['path on no mount', readme, '/app/.env', undefined],
    ['sibling with a common prefix is not under the mount', readme, '/app/backups-old/x', undefined],
    ['project directory mounted at /app', dir, '/app/docker-compose.yml', '/srv/shop/docker-compose.yml'],
    ['the mount point itself', dir, '/app', '/srv/shop'],
    ['the deepest mount wins', dir, '/app/conf/override.yml', '/srv/shop/conf/override.yml'],
    ['destination written with a trailing slash', dir, '/app/shared/a.yml', '/data/shared/a.yml'],
    ['volumes are not host paths we can use', [{ Type: 'volume', Source: '/var/lib/docker/volumes/x/_data', Destination: '/app' }], '/app/docker-compose.yml', undefined],
    ['no mounts (dosync on the host)', [], '/srv/shop/docker-compose.yml', undefined],
  ];
  for (const [name, mounts, path, expected] of cases) {
    test(name, () => assert.equal(hostPathOf(path, mounts), expected));
  }
});

describe('containerPathOf: a host path -> where the dosync container sees it', () => {
  const mounts = [bind('/var/run/docker.sock', '/var/run/docker.sock'), bind('/srv/shop', '/app'), bind('/srv/shop/conf', '/etc/shop/'), bind('/srv/other/docker-compose.yml', '/other.yml')];
  const cases: Array<[string, string, string | undefined]> = [
    ['the mounted project directory', '/srv/shop', '/app'],
    ['a file below it', '/srv/shop/web.env', '/app/web.env'],
    ['the deepest mount wins', '/srv/shop/conf/x.yml', '/etc/shop/x.yml'],
    ['a sibling with a common prefix is not below it', '/srv/shop2', undefined],
    ['only a file of that directory is mounted', '/srv/other', undefined],
    ['not mounted at all', '/home/me', undefined],
  ];
  for (const [name, path, expected] of cases) {
    test(name, () => assert.equal(containerPathOf(path, mounts), expected));
  }
  test('round trip with hostPathOf for every path below a mount', () => {
    for (const p of ['/srv/shop', '/srv/shop/a/b.yml', '/srv/shop/conf/c']) assert.equal(hostPathOf(containerPathOf(p, mounts)!, mounts), p);
  });
});

describe('selfLast: dosync\'s own group is applied after every other group of the cycle', () => {
  const group = (...names: string[]): UpdateGroup => ({ plans: names.map((name) => ({ service: { name }, decision: { kind: 'skipped', reason: '' } }) as unknown as ServicePlan) });
  const names = (groups: UpdateGroup[]) => groups.map((g) => g.plans.map((p) => p.service.name).join('+'));
  const cases: Array<[string, UpdateGroup[], string | undefined, string[]]> = [
    ['own service first', [group('dosync'), group('web'), group('db')], 'dosync', ['web', 'db', 'dosync']],
    ['own service in the middle, order of the others kept', [group('a'), group('dosync'), group('b-1', 'b-2')], 'dosync', ['a', 'b-1+b-2', 'dosync']],
    ['already last', [group('web'), group('dosync')], 'dosync', ['web', 'dosync']],
    ['not in a container: unchanged', [group('dosync'), group('web')], undefined, ['dosync', 'web']],
    ['own service not in the stack: unchanged', [group('web'), group('db')], 'updater', ['web', 'db']],
  ];
  for (const [name, groups, service, expected] of cases) {
    test(name, () => assert.deepEqual(names(selfLast(groups, service)), expected));
  }
});
