/**
 * Bad input never mangles anything: each case gives one clear line (CLI error or a log line for the
 * service) and leaves the compose file byte-identical. Runs the real CLI; registries are the real ones on
 * loopback, plus a local HTTP server for answers a healthy registry never gives (500, garbage).
 */
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, writeFile, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { dosync, logLines, pushImage, unique, REGISTRY } from '../helpers/docker.js';

let dir: string;
let server: Server;
let port: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dosync-bad-'));
  // A registry that answers the ping but fails tag listings: 500 for one repo, garbage for another.
  server = createServer((req, res) => {
    if (req.url === '/v2/') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}'); return; }
    if (req.url?.startsWith('/v2/boom/')) { res.writeHead(500); res.end('internal error'); return; }
    if (req.url?.startsWith('/v2/garbage/')) { res.writeHead(200, { 'content-type': 'application/json' }); res.end('<html>not json'); return; }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

async function composeFile(name: string, text: string): Promise<string> {
  const path = join(dir, `${name}.yml`);
  await writeFile(path, text);
  return path;
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  return lines[0];
}

describe('CLI errors: one line, exit 2, nothing written', () => {
  test('missing compose file', async () => {
    const r = await dosync(['sync', '-f', join(dir, 'nope.yml'), '--once']);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /nope\.yml does not exist/);
  });

  test('no -f at all', async () => {
    const r = await dosync(['sync', '--once'], { env: { DOSYNC_FILE: '' } });
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /no compose file given/);
  });

  test('invalid YAML names the file and line', async () => {
    const text = 'services:\n  web:\n    image: [unclosed\n';
    const f = await composeFile('invalid', text);
    const r = await dosync(['sync', '-f', f, '--once']);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /invalid\.yml:\d+:\d+/);
    assert.equal(await readFile(f, 'utf8'), text);
  });

  test('a bad dosync.yaml names the key', async () => {
    const f = await composeFile('ok', 'services:\n  web:\n    image: nginx:1.0.0\n');
    const cfg = join(dir, 'dosync.yaml');
    await writeFile(cfg, 'interval: soon\n');
    const r = await dosync(['sync', '-f', f, '-c', cfg, '--once']);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /dosync\.yaml: interval: .*"soon" is not a duration/);
  });

  test('a bad --interval', async () => {
    const f = await composeFile('ok2', 'services:\n  web:\n    image: nginx:1.0.0\n');
    const r = await dosync(['sync', '-f', f, '-i', 'fortnightly']);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /--interval: "fortnightly" is not a duration/);
  });

  test('a Docker daemon that is not running', async () => {
    const text = `services:\n  web:\n    image: ${REGISTRY}/${unique('it/nodaemon')}:1.0.0\n`;
    const f = await composeFile('nodaemon', text);
    const r = await dosync(['sync', '-f', f, '--once'], { env: { DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` } });
    assert.equal(r.code, 1);
    assert.match(oneLine(r.stderr), /cannot reach the Docker engine at unix:\/\/.*no-docker\.sock.*is dockerd running/);
    assert.equal(await readFile(f, 'utf8'), text);
  });
});

describe('per-service problems: a clear log line for that service, the others still checked', () => {
  test('unreachable, 401, 404, 500, garbage, a bad reference and a build-only service in one stack', async () => {
    const goodRepo = unique('it/good');
    for (const v of ['1.0.0', '1.0.1']) await pushImage(goodRepo, v, { version: v });
    const text = [
      'services:',
      '  unreachable:',
      '    image: 127.0.0.1:1/app:1.0.0',
      '  unauthorized:',
      `    image: 127.0.0.1:5001/${unique('it/private')}:1.0.0`,
      '  notfound:',
      `    image: ${REGISTRY}/${unique('it/missing')}:1.0.0`,
      '  servererror:',
      `    image: 127.0.0.1:${port}/boom:1.0.0`,
      '  garbage:',
      `    image: 127.0.0.1:${port}/garbage:1.0.0`,
      '  badref:',
      '    image: "UPPER/Case:1"',
      '  buildonly:',
      '    build: .',
      '  good:',
      `    image: ${REGISTRY}/${goodRepo}:1.0.0`,
      '    labels: [dosync.update_stopped=true]', // the stack is not started
      '',
    ].join('\n');
    const f = await composeFile('mixed', text);
    const r = await dosync(['sync', '-f', f, '--once', '--dry-run']);
    assert.equal(r.code, 1, 'a failed service makes --once exit 1');
    assert.equal(r.stderr, '');
    const logs = logLines(r.stdout);
    const line = (service: string) => {
      const found = logs.filter((l) => l.service === service);
      assert.equal(found.length, 1, `one line for ${service}: ${JSON.stringify(found)}`);
      return String(found[0].msg);
    };
    assert.match(line('unreachable'), /cannot reach 127\.0\.0\.1:1/);
    assert.match(line('unauthorized'), /127\.0\.0\.1:5001.*(credentials|authentication)/i);
    assert.match(line('notfound'), /not found/i);
    assert.match(line('servererror'), /500/);
    assert.match(line('garbage'), /(invalid|not JSON|unexpected)/i);
    assert.match(line('badref'), /services\.badref\.image: invalid image reference "UPPER\/Case:1"/);
    assert.match(line('buildonly'), /no image/);
    assert.match(line('good'), /would update: 1\.0\.0 -> 1\.0\.1/);
    assert.equal(await readFile(f, 'utf8'), text);
  });
});
