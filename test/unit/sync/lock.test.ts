import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, access } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { acquireLock, lockPath, release, staleReason, type LockHolder } from '../../../src/sync/lock.js';
import { UserError } from '../../../src/util/errors.js';

let dir: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dosync-lock-'));
});
afterEach(async () => {
  release();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const exists = (p: string) => access(p).then(() => true, () => false);
const holderOf = async (p: string) => JSON.parse(await readFile(p, 'utf8')) as LockHolder;
const exited = (c: ChildProcess) => new Promise<void>((ok) => (c.exitCode !== null || c.signalCode !== null ? ok() : c.once('exit', () => ok())));

/** A process that has run and exited: its pid is (almost certainly) free. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '']);
  await exited(c);
  return c.pid!;
}

/** A live process that does nothing. */
function sleeper(): ChildProcess {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

/** Another dosync-like process that takes the lock through the module and then waits (or exits when asked). */
async function otherInstance(project: string, then: 'wait' | 'exit'): Promise<ChildProcess> {
  const script = join(dir, `holder-${then}.mts`);
  await writeFile(script, `
    import { acquireLock } from ${JSON.stringify(resolve('src/sync/lock.ts'))};
    await acquireLock(${JSON.stringify(dir)}, ${JSON.stringify(project)});
    process.stdout.write('locked\\n');
    if (${JSON.stringify(then)} === 'exit') process.exit(0);
    setInterval(() => {}, 1000);
  `);
  const c = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  await new Promise<void>((ok, fail) => {
    let out = '';
    c.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('locked')) ok(); });
    c.once('exit', (code) => (out.includes('locked') ? ok() : fail(new Error(`holder exited with ${code} before locking`))));
  });
  return c;
}

function holder(over: Partial<LockHolder>): LockHolder {
  return { pid: 1, hostname: hostname(), startedAt: '2025-01-01T00:00:00.000Z', nonce: 'n', ...over };
}

describe('project lock', () => {
  test('acquire writes pid, host and start time to <state-dir>/<project>.lock; release removes it', async () => {
    const lock = await acquireLock(dir, 'shop', { now: () => new Date('2025-05-06T07:08:09.000Z'), releaseOnExit: false });
    assert.equal(lock.path, join(dir, 'shop.lock'));
    const h = await holderOf(lock.path);
    assert.equal(h.pid, process.pid);
    assert.equal(h.hostname, hostname());
    assert.equal(h.startedAt, '2025-05-06T07:08:09.000Z');
    assert.deepEqual(lock.warnings, []);
    assert.deepEqual(await readdir(dir), ['shop.lock'], 'no temp file left');
    lock.release();
    assert.equal(await exists(lock.path), false);
    lock.release(); // twice is harmless
  });

  test('the state dir is created when missing', async () => {
    const lock = await acquireLock(join(dir, 'a', 'b'), 'shop');
    assert.equal(await exists(join(dir, 'a', 'b', 'shop.lock')), true);
    lock.release();
  });

  test('a second lock in the same process is refused, naming the PID; after release it can be taken again', async () => {
    const first = await acquireLock(dir, 'shop');
    await assert.rejects(acquireLock(dir, 'shop'), (err: unknown) => err instanceof UserError
      && err.message === `another dosync (PID ${process.pid}) is already managing project shop; stop it or use another --state-dir`);
    // Other projects are independent.
    const other = await acquireLock(dir, 'blog');
    first.release();
    const again = await acquireLock(dir, 'shop');
    again.release();
    other.release();
  });

  test('a lock held by another running process is refused with that PID and left in place', async () => {
    const child = await otherInstance('shop', 'wait');
    const before = await readFile(lockPath(dir, 'shop'), 'utf8');
    await assert.rejects(acquireLock(dir, 'shop'), (err: unknown) => err instanceof UserError
      && err.message.includes(`another dosync (PID ${child.pid}) is already managing project shop`)
      && err.message.includes('--state-dir'));
    assert.equal(await readFile(lockPath(dir, 'shop'), 'utf8'), before);
  });

  test('a holder killed with SIGKILL leaves a stale lock that is taken over with a warning', async () => {
    const child = await otherInstance('shop', 'wait');
    child.kill('SIGKILL');
    await exited(child);
    assert.equal(await exists(lockPath(dir, 'shop')), true, 'no exit handler ran');
    const lock = await acquireLock(dir, 'shop');
    assert.equal(lock.warnings.length, 1);
    assert.match(lock.warnings[0], new RegExp(`took over the lock .*shop\\.lock left by PID ${child.pid} .*PID ${child.pid} is not running`));
    assert.equal((await holderOf(lock.path)).pid, process.pid);
    lock.release();
  });

  test('a holder that exits normally releases its lock', async () => {
    const child = await otherInstance('shop', 'exit');
    await exited(child);
    assert.equal(child.exitCode, 0);
    assert.equal(await exists(lockPath(dir, 'shop')), false);
  });

  test('a lock file naming a dead PID is taken over', async () => {
    const pid = await deadPid();
    await writeFile(lockPath(dir, 'shop'), JSON.stringify(holder({ pid })));
    const lock = await acquireLock(dir, 'shop');
    assert.match(lock.warnings[0], new RegExp(`PID ${pid} is not running`));
    lock.release();
  });

  test('a lock left by an earlier process that had our PID (a restarted container\'s PID 1) is taken over', async () => {
    await writeFile(lockPath(dir, 'shop'), JSON.stringify(holder({ pid: process.pid, processStart: '1', nonce: 'previous-run' })));
    const lock = await acquireLock(dir, 'shop');
    assert.match(lock.warnings[0], new RegExp(`PID ${process.pid} now belongs to another process`));
    lock.release();
  });

  test('a lock file naming a live PID is refused', async () => {
    const c = sleeper();
    await writeFile(lockPath(dir, 'shop'), JSON.stringify(holder({ pid: c.pid! })));
    await assert.rejects(acquireLock(dir, 'shop'), new RegExp(`another dosync \\(PID ${c.pid}\\) is already managing project shop`));
  });

  test('an unreadable lock file is taken over', async () => {
    await writeFile(lockPath(dir, 'shop'), 'garbage');
    const lock = await acquireLock(dir, 'shop');
    assert.match(lock.warnings[0], /left by an unknown process: it is unreadable/);
    lock.release();
  });

  test('a lock from another host cannot be judged: refused, naming the host and the file to delete', async () => {
    const path = lockPath(dir, 'shop');
    await writeFile(path, JSON.stringify(holder({ pid: 4242, hostname: 'other-box' })));
    await assert.rejects(acquireLock(dir, 'shop'), (err: unknown) => err instanceof UserError
      && err.message === `another dosync (PID 4242 on host other-box) is already managing project shop; stop it or use another --state-dir; if it no longer runs there, delete ${path}`);
  });

  test('release() leaves alone a lock that is no longer ours', async () => {
    const lock = await acquireLock(dir, 'shop');
    const theirs = JSON.stringify(holder({ pid: 4242, nonce: 'someone-else' }));
    await writeFile(lock.path, theirs);
    lock.release();
    assert.equal(await readFile(lock.path, 'utf8'), theirs);
  });

  test('module release() frees every lock this process holds', async () => {
    const a = await acquireLock(dir, 'one');
    const b = await acquireLock(dir, 'two');
    release();
    assert.equal(await exists(a.path), false);
    assert.equal(await exists(b.path), false);
  });

  test('project names cannot leave the state dir', () => {
    assert.equal(lockPath('/s', 'my_app-1'), '/s/my_app-1.lock');
    assert.equal(lockPath('/s', '../etc/x'), '/s/.._etc_x.lock');
  });
});

describe('staleReason', () => {
  const here = hostname();
  const readBootId = () => readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((s) => s.trim(), () => undefined);

  test('our own live process with our start time is not stale', async () => {
    const own = await holderOf((await acquireLock(dir, 'me')).path);
    assert.equal(staleReason(own), undefined);
  });

  test('a dead pid is stale', async () => {
    const pid = await deadPid();
    assert.equal(staleReason(holder({ pid })), `PID ${pid} is not running`);
  });

  test('another host is never judged stale from here', async () => {
    assert.equal(staleReason(holder({ pid: await deadPid(), hostname: 'elsewhere' }), here), undefined);
  });

  // dosync's machines are Linux: the /proc checks are asserted, not skipped.
  test('a lock from before a reboot is stale (Linux boot id)', async () => {
    const boot = await readBootId();
    assert.ok(boot, '/proc/sys/kernel/random/boot_id readable');
    assert.equal(staleReason(holder({ pid: process.pid, bootId: '00000000-0000-0000-0000-000000000000' })), 'the machine has restarted since');
    assert.equal(staleReason(holder({ pid: process.pid, bootId: boot })), undefined);
  });

  test('a live pid with another start time is a reused pid: stale (Linux)', async () => {
    const own = await holderOf((await acquireLock(dir, 'me2')).path);
    assert.match(own.processStart ?? '', /^\d+$/);
    assert.equal(staleReason({ ...own, processStart: '1' }), `PID ${process.pid} now belongs to another process`);
  });
});
