import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  backupDiff, backupDirFor, composeImageChanges, describeChange, envImageChanges, findBackup, formatSize, imageVariables,
  listBackups, maskEnvSecrets, parseBackupName, renderBackupTable, restoreBackup, summarizeChanges, type StackFile,
} from '../../../src/compose/backups.js';
import { backupTimestamp, replaceFileSafely } from '../../../src/compose/writer.js';

describe('parseBackupName', () => {
  const cases: Array<[string, { file: string; iso: string; seq: number } | undefined]> = [
    ['docker-compose.yml.20240102T030405678Z.bak', { file: 'docker-compose.yml', iso: '2024-01-02T03:04:05.678Z', seq: 0 }],
    ['docker-compose.yml.20240102T030405678Z-3.bak', { file: 'docker-compose.yml', iso: '2024-01-02T03:04:05.678Z', seq: 3 }],
    ['.env.20311231T235958007Z.bak', { file: '.env', iso: '2031-12-31T23:59:58.007Z', seq: 0 }],
    ['my.stack.prod.yaml.19991231T000000000Z.bak', { file: 'my.stack.prod.yaml', iso: '1999-12-31T00:00:00.000Z', seq: 0 }],
    ['docker-compose.yml.20240102T030405Z.bak', undefined], // no milliseconds: not the writer's format
    ['docker-compose.yml.20240102T030405678Z.bak.tmp', undefined],
    ['docker-compose.yml', undefined],
    ['state.json', undefined],
    ['.20240102T030405678Z.bak', undefined], // no file name
  ];
  for (const [name, want] of cases) {
    test(name, () => {
      const got = parseBackupName(name);
      assert.deepEqual(got && { file: got.file, iso: got.time.toISOString(), seq: got.seq }, want);
    });
  }

  test('reads back every name the writer produces', () => {
    for (const ms of [0, 1, 999, 86_399_999, 1_700_000_000_123]) {
      const date = new Date(Date.UTC(2024, 0, 1) + ms);
      const got = parseBackupName(`compose.yaml.${backupTimestamp(date)}.bak`);
      assert.equal(got?.time.toISOString(), date.toISOString());
    }
  });
});

describe('composeImageChanges', () => {
  const compose = (images: Record<string, string | undefined>) =>
    `services:\n${Object.entries(images).map(([n, i]) => `  ${n}:\n${i === undefined ? '    build: .\n' : `    image: ${i}\n`}    restart: always\n`).join('')}`;
  const cases: Array<[string, Record<string, string | undefined>, Record<string, string | undefined>, Array<[string, string | undefined, string | undefined]>]> = [
    ['same images', { web: 'nginx:1.25' }, { web: 'nginx:1.25' }, []],
    ['a tag moved', { web: 'nginx:1.25', db: 'postgres:16' }, { web: 'nginx:1.26', db: 'postgres:16' }, [['web', 'nginx:1.25', 'nginx:1.26']]],
    ['two moved', { a: 'x:1', b: 'y:1' }, { a: 'x:2', b: 'y:2' }, [['a', 'x:1', 'x:2'], ['b', 'y:1', 'y:2']]],
    ['service added since', { a: 'x:1' }, { a: 'x:1', b: 'y:1' }, [['b', undefined, 'y:1']]],
    ['service removed since', { a: 'x:1', b: 'y:1' }, { a: 'x:1' }, [['b', 'y:1', undefined]]],
    ['build-only both times', { a: undefined }, { a: undefined }, []],
    ['variables compared as written', { a: 'x:${TAG}' }, { a: 'x:${TAG:-2}' }, [['a', 'x:${TAG}', 'x:${TAG:-2}']]],
  ];
  for (const [name, before, now, want] of cases) {
    test(name, () => {
      assert.deepEqual(composeImageChanges(compose(before), compose(now))?.map((c) => [c.name, c.backup, c.current]), want);
    });
  }

  test('other edits are not image changes', () => {
    const a = 'services:\n  web:\n    image: nginx:1.25  # pinned\n    ports: ["80:80"]\n';
    assert.deepEqual(composeImageChanges(a, a.replace('# pinned', '# edited').replace('80:80', '8080:80')), []);
  });

  test('anchors and merge keys resolve', () => {
    const text = (tag: string) => `x-base: &base\n  image: app:${tag}\nservices:\n  a:\n    <<: *base\n  b:\n    <<: *base\n    image: other:1\n`;
    assert.deepEqual(composeImageChanges(text('1'), text('2'))?.map((c) => c.name), ['a']);
  });

  test('not YAML: undefined', () => {
    assert.equal(composeImageChanges('services: [', 'services: {}'), undefined);
  });
});

describe('env files', () => {
  test('imageVariables: the variables the image lines use', () => {
    const names = imageVariables(['services:\n  a:\n    image: ${REG:-docker.io}/app:${APP_TAG}\n  b:\n    image: db:$DB_TAG\n    environment: ["X=${NOT_IMAGE}"]\n']);
    assert.deepEqual([...names].sort(), ['APP_TAG', 'DB_TAG', 'REG']);
  });

  test('envImageChanges: values only for image variables, names only for the rest', () => {
    const before = 'APP_TAG=1.0.0\nDB_PASSWORD=old-secret\nSAME=1\n';
    const now = 'APP_TAG=1.1.0\nDB_PASSWORD=new-secret\nSAME=1\nADDED=x\n';
    const got = envImageChanges(before, now, new Set(['APP_TAG']));
    assert.deepEqual(got, { images: [{ name: 'APP_TAG', backup: '1.0.0', current: '1.1.0' }], others: ['DB_PASSWORD', 'ADDED'] });
    const summary = summarizeChanges('env', before, now, new Set(['APP_TAG']));
    assert.equal(summary, 'APP_TAG: 1.0.0 (now 1.1.0), other variables: DB_PASSWORD, ADDED');
    assert.doesNotMatch(summary, /secret/);
  });

  test('maskEnvSecrets hides credential values, keeps everything else byte for byte', () => {
    const text = '# creds\nREGISTRY_PASSWORD=hunter2\nexport API_TOKEN="abc def"\nGHCR_KEY: k\nAPP_TAG=1.0.0\nEMPTY_SECRET=\n  DB_PASS = p  \n';
    assert.equal(maskEnvSecrets(text), '# creds\nREGISTRY_PASSWORD=***\nexport API_TOKEN=***\nGHCR_KEY: ***\nAPP_TAG=1.0.0\nEMPTY_SECRET=\n  DB_PASS = ***\n');
  });
});

describe('describeChange and summarizeChanges', () => {
  const cases: Array<[{ name: string; backup?: string; current?: string }, string]> = [
    [{ name: 'web', backup: 'nginx:1.25', current: 'nginx:1.26' }, 'web: 1.25 (now 1.26)'],
    [{ name: 'web', backup: 'reg:5000/a/b:1.0.0', current: 'reg:5000/a/b:1.1.0' }, 'web: 1.0.0 (now 1.1.0)'],
    [{ name: 'web', backup: 'nginx:1.25', current: 'httpd:2.4' }, 'web: nginx:1.25 (now httpd:2.4)'],
    [{ name: 'web', backup: 'nginx', current: 'nginx:1.26' }, 'web: nginx (now nginx:1.26)'],
    [{ name: 'web', backup: undefined, current: 'nginx:1' }, 'web: (none) (now nginx:1)'],
    [{ name: 'web', backup: 'nginx:1', current: undefined }, 'web: nginx:1 (now (none))'],
    [{ name: 'TAG', backup: '1.0', current: '1.1' }, 'TAG: 1.0 (now 1.1)'],
  ];
  for (const [change, want] of cases) test(want, () => assert.equal(describeChange(change), want));

  test('the summary cell', () => {
    const a = 'services:\n  web:\n    image: nginx:1.25\n';
    assert.equal(summarizeChanges('compose', a, a, new Set()), 'identical to the current file');
    assert.equal(summarizeChanges('compose', a, undefined, new Set()), 'the file no longer exists');
    assert.equal(summarizeChanges('compose', a, a.replace('1.25', '1.26'), new Set()), 'web: 1.25 (now 1.26)');
    assert.equal(summarizeChanges('compose', a, `${a}    restart: always\n`, new Set()), 'no image changes (other lines differ)');
    assert.equal(summarizeChanges('compose', 'services: [', a, new Set()), 'not valid YAML');
    assert.equal(summarizeChanges('env', 'A=1\n', 'A=1\n# note\n', new Set(['A'])), 'no variable changes (comments or layout differ)');
  });
});

describe('renderBackupTable', () => {
  test('newest first, columns aligned, last column unpadded', () => {
    const rows = [
      { time: new Date('2024-01-01T00:00:00.000Z'), file: 'docker-compose.yml', size: 2048, name: 'docker-compose.yml.20240101T000000000Z.bak', changes: 'web: 1.0 (now 1.2)' },
      { time: new Date('2024-02-01T10:11:12.000Z'), file: '.env', size: 12, name: '.env.20240201T101112000Z.bak', changes: 'identical to the current file' },
    ];
    assert.equal(renderBackupTable(rows), [
      'TIME (UTC)            FILE                SIZE   BACKUP                                      CHANGES vs CURRENT',
      '2024-02-01 10:11:12Z  .env                12 B   .env.20240201T101112000Z.bak                identical to the current file',
      '2024-01-01 00:00:00Z  docker-compose.yml  2 KiB  docker-compose.yml.20240101T000000000Z.bak  web: 1.0 (now 1.2)',
    ].join('\n'));
  });

  test('formatSize', () => {
    assert.deepEqual([0, 1023, 1024, 1536, 5 * 1024 * 1024].map(formatSize), ['0 B', '1023 B', '1 KiB', '1.5 KiB', '5 MiB']);
  });
});

describe('backupDiff', () => {
  test('a unified diff from the backup to the current file', () => {
    const diff = backupDiff('compose',
      { label: 'backups/c.yml.20240101T000000000Z.bak', text: 'services:\n  web:\n    image: nginx:1.25\n', role: 'backup' },
      { label: 'c.yml', text: 'services:\n  web:\n    image: nginx:1.26\n', role: 'current' });
    assert.match(diff, /^--- backups\/c\.yml\.20240101T000000000Z\.bak\tbackup$/m);
    assert.match(diff, /^\+\+\+ c\.yml\tcurrent$/m);
    assert.match(diff, /^-    image: nginx:1\.25$/m);
    assert.match(diff, /^\+    image: nginx:1\.26$/m);
  });

  test('equal texts: empty', () => {
    assert.equal(backupDiff('compose', { label: 'a', text: 'x\n', role: 'backup' }, { label: 'b', text: 'x\n', role: 'current' }), '');
  });

  test('env files: credentials masked on both sides', () => {
    const diff = backupDiff('env', { label: 'a', text: 'TAG=1\nHUB_PASSWORD=old-pw\n', role: 'backup' }, { label: 'b', text: 'TAG=2\nHUB_PASSWORD=new-pw\n', role: 'current' });
    assert.match(diff, /^-TAG=1$/m);
    assert.match(diff, /^\+TAG=2$/m);
    assert.doesNotMatch(diff, /old-pw|new-pw/);
  });
});

describe('on disk: list, find, restore', () => {
  let dir: string;
  let compose: string;
  let files: StackFile[];
  const V1 = 'services:\n  web:\n    image: nginx:1.25\n';
  const V2 = V1.replace('1.25', '1.26');
  const V3 = V1.replace('1.25', '1.27');
  const at = (minute: number) => new Date(Date.UTC(2024, 0, 1, 0, minute));
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dosync-backups-'));
    compose = join(dir, 'docker-compose.yml');
    files = [{ path: compose, kind: 'compose' }, { path: join(dir, '.env'), kind: 'env' }];
    // Two real updates through the writer: V1 -> V2 -> V3, and one of .env.
    await writeFile(compose, V1);
    await replaceFileSafely(compose, V2, { expectedOriginal: V1, now: at(1) });
    await replaceFileSafely(compose, V3, { expectedOriginal: V2, now: at(2) });
    await writeFile(join(dir, '.env'), 'TAG=1\n');
    await replaceFileSafely(join(dir, '.env'), 'TAG=2\n', { expectedOriginal: 'TAG=1\n', now: at(3) });
    // Not ours: another file's backup, the state file, a temp file.
    await writeFile(join(dir, 'backups', 'other.yml.20240101T000000000Z.bak'), 'x');
    await writeFile(join(dir, 'backups', 'state.json'), '{}');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('listBackups: the stack files\' backups, oldest first, with their targets', async () => {
    const list = await listBackups(files);
    assert.deepEqual(list.map((b) => [b.name, b.target.kind, b.size]), [
      ['docker-compose.yml.20240101T000100000Z.bak', 'compose', V1.length],
      ['docker-compose.yml.20240101T000200000Z.bak', 'compose', V2.length],
      ['.env.20240101T000300000Z.bak', 'env', 6],
    ]);
  });

  test('listBackups: no backup dir is no backups; --backup-dir is honoured', async () => {
    assert.deepEqual(await listBackups([{ path: join(dir, 'elsewhere', 'c.yml'), kind: 'compose' }]), []);
    assert.deepEqual(await listBackups(files, join(dir, 'nowhere')), []);
    assert.equal(backupDirFor(compose), join(dir, 'backups'));
    assert.equal(backupDirFor(compose, '/var/lib/dosync'), '/var/lib/dosync');
  });

  test('findBackup: by name, by path, or a copy elsewhere named after a stack file; otherwise one line', async () => {
    const list = await listBackups(files);
    const name = 'docker-compose.yml.20240101T000100000Z.bak';
    assert.equal((await findBackup(name, list, files)).path, join(dir, 'backups', name));
    assert.equal((await findBackup(join(dir, 'backups', name), list, files)).name, name);
    await mkdir(join(dir, 'copies'));
    await writeFile(join(dir, 'copies', name), V1);
    const copy = await findBackup(join(dir, 'copies', name), list, files);
    assert.equal(copy.target.path, compose);
    await assert.rejects(findBackup('nope.bak', list, files), /^ConfigError: no backup nope\.bak of docker-compose\.yml, \.env; run `dosync backups list`/);
    await writeFile(join(dir, 'copies', 'other.yml.20240101T000000000Z.bak'), 'x');
    await assert.rejects(findBackup(join(dir, 'copies', 'other.yml.20240101T000000000Z.bak'), list, files), /is a backup of other\.yml, which is not one of this stack's files/);
  });

  test('restoreBackup: the whole file back, the current content backed up first', async () => {
    const list = await listBackups(files);
    const oldest = list[0];
    const result = await restoreBackup(oldest, list, { keep: 10 });
    assert.equal(result.unchanged, false);
    assert.equal(await readFile(compose, 'utf8'), V1);
    assert.equal(await readFile(result.backupPath, 'utf8'), V3);
    const again = await restoreBackup(oldest, await listBackups(files), { keep: 10 });
    assert.equal(again.unchanged, true, 'restoring what is already there writes nothing');
  });

  test('restoreBackup: the restored backup survives pruning even when it is the oldest', async () => {
    const list = await listBackups(files);
    await restoreBackup(list[0], list, { keep: 1 });
    const names = (await readdir(join(dir, 'backups'))).filter((n) => n.startsWith('docker-compose.yml.')).sort();
    assert.equal(names.length, 3, names.join(', '));
    assert.ok(names.includes(list[0].name));
  });

  test('restoreBackup: a file edited since is backed up (edit included) before it is replaced', async () => {
    const list = await listBackups(files);
    await writeFile(compose, `${V3}# edited\n`);
    const result = await restoreBackup(list[1], list, { keep: 10 });
    assert.equal(await readFile(compose, 'utf8'), V2);
    assert.equal(await readFile(result.backupPath, 'utf8'), `${V3}# edited\n`, 'the edit is kept in the new backup');
  });
});
