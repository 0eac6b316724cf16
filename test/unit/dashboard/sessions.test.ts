import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_SESSIONS, SESSION_COOKIE, Sessions } from '../../../src/api/sessions.js';
import { startApiServer } from '../../../src/api/server.js';

const cookie = (id: string) => `${SESSION_COOKIE}=${id}`;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'i18a-sessions-'));
  try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

test('sessions survive a restart: hashed ids in a 0600 file, expiry kept, expired and ended ones gone', () => withDir(async (dir) => {
  const file = join(dir, 'dashboard-sessions.json');
  let now = 1_000_000;
  const a = await Sessions.open(file, { now: () => now });
  const admin = a.create('admin');
  const reader = a.create('readonly');
  const ended = a.create('admin');
  a.end(ended.session.key);
  await a.flush();
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const text = await readFile(file, 'utf8');
  assert.ok(!text.includes(admin.id) && !text.includes(reader.id), 'the file never holds a session id');

  const b = await Sessions.open(file, { now: () => now });
  const back = b.fromCookie(cookie(admin.id));
  assert.deepEqual(back, admin.session, 'same role, CSRF token and expiry');
  assert.equal(b.fromCookie(cookie(reader.id))?.role, 'readonly');
  assert.equal(b.fromCookie(cookie(ended.id)), undefined, 'an ended session stays ended');
  assert.equal(b.fromCookie(cookie('not-a-session')), undefined);

  now = admin.session.expires + 1; // the expiry is the one given at sign-in, not restarted
  const c = await Sessions.open(file, { now: () => now });
  assert.equal(c.fromCookie(cookie(admin.id)), undefined);
}));

test('the table and its file stay bounded, and a broken file is an empty table', () => withDir(async (dir) => {
  const file = join(dir, 'dashboard-sessions.json');
  const a = await Sessions.open(file);
  const first = a.create('admin');
  let last = first;
  for (let i = 0; i < MAX_SESSIONS + 5; i++) last = a.create('admin');
  await a.flush();
  const saved = JSON.parse(await readFile(file, 'utf8')) as { sessions: unknown[] };
  assert.equal(saved.sessions.length, MAX_SESSIONS);
  const b = await Sessions.open(file);
  assert.equal(b.fromCookie(cookie(first.id)), undefined, 'the oldest went first');
  assert.equal(b.fromCookie(cookie(last.id))?.role, 'admin');

  await writeFile(file, '{"sessions": [{"key": 1}]');
  const c = await Sessions.open(file);
  assert.equal(c.fromCookie(cookie(last.id)), undefined);
}));

test('a signed-in browser stays signed in across an API server restart with the same sessions file', () => withDir(async (dir) => {
  const token = 'i18a-session-token-0123';
  const start = () => startApiServer({
    listen: '127.0.0.1:0', token, sessionsFile: join(dir, 'dashboard-sessions.json'), metrics: { contentType: 'text/plain', render: async () => '' },
    status: () => ({ project: 'shop', services: [] }), trigger: async () => ({ accepted: true }), onRegistryPush: async () => undefined, healthy: () => ({ ok: true }),
  });
  const one = await start();
  const login = await fetch(`${one.url}/login`, { method: 'POST', body: `token=${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  assert.equal(login.status, 303);
  const jar = login.headers.get('set-cookie')!.split(';')[0];
  await one.close();
  const two = await start();
  try {
    const page = await (await fetch(`${two.url}/`, { headers: { cookie: jar } })).text();
    assert.match(page, /Sign out/, 'the dashboard, not the sign-in form');
    assert.doesNotMatch(page, /type="password"/);
    const signedOut = await (await fetch(`${two.url}/`, { headers: { cookie: `${SESSION_COOKIE}=forged` } })).text();
    assert.match(signedOut, /type="password"/);
  } finally {
    await two.close();
  }
}));
