/**
 * The exit-code table of docs/commands.md, command by command: 0 ok, 10 updates available (check), 1 a service
 * failed, 2 a user or config error. Every user error is one `dosync: …` line on stderr, no stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dosync, pushImage, unique, ComposeProject, REGISTRY } from '../helpers/docker.js';

/** `findings`: a validator listing one problem a line (config validate), not one error. */
interface Case { args: string[]; code: number; stderr?: RegExp; env?: NodeJS.ProcessEnv; findings?: boolean }

async function expectExit(name: string, c: Case, cwd: string): Promise<void> {
  const r = await dosync(c.args, { cwd, env: c.env });
  assert.equal(r.code, c.code, `${name}: dosync ${c.args.join(' ')}\n${r.stdout}${r.stderr}`);
  if (c.code === 2 && !c.findings) {
    // One line for a user error, whatever produced it (commander, a ConfigError, the engine).
    const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
    assert.equal(lines.length, 1, `${name}: one line expected:\n${r.stderr}`);
    assert.match(lines[0], /^dosync: /, name);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
  }
  if (c.stderr) assert.match(r.stderr, c.stderr, name);
}

test('exit codes: usage and config errors are 2 with one line, for every command', async () => {
  const repo = unique('i19/exit');
  await pushImage(repo, '1.0.0', { version: '1.0.0' });
  const dir = await mkdtemp(join(tmpdir(), 'i19-exit-'));
  const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n`, 'i19exit');
  try {
    const f = p.file;
    const badConfig = join(dir, 'bad.yaml');
    await writeFile(badConfig, 'interval: often\n');
    const state = join(dir, 'state');
    const cases: Record<string, Case> = {
      'flag typo': { args: ['check', '-f', f, '--jsno'], code: 2, stderr: /^dosync: unknown option '--jsno' \(did you mean --json\?\); see --help\n$/ },
      'unknown command': { args: ['chek'], code: 2, stderr: /^dosync: unknown command 'chek' \(did you mean check\?\); see --help\n$/ },
      'missing argument': { args: ['update', '--to', '1.0.0'], code: 2, stderr: /missing required argument 'service'/ },
      'bad choice': { args: ['check', '-f', f, '--format', 'yaml'], code: 2, stderr: /argument 'yaml' is invalid/ },
      'bad log format env': { args: ['sync', '--once', '--dry-run', '-f', f], code: 2, env: { DOSYNC_LOG_FORMAT: 'yaml' }, stderr: /DOSYNC_LOG_FORMAT: "yaml" is not a log format/ },
      'check: engine unreachable': { args: ['check', '-f', f], code: 2, env: { DOCKER_HOST: 'unix:///nonexistent/i19.sock' }, stderr: /cannot reach the Docker engine/ },
      'check: no compose file': { args: ['check'], code: 2, env: { DOSYNC_FILE: '' }, stderr: /no compose file given/ },
      'check: bad dosync.yaml': { args: ['check', '-f', f, '-c', badConfig], code: 2, stderr: /bad\.yaml/ },
      'sync: bad dosync.yaml': { args: ['sync', '--once', '-f', f, '-c', badConfig], code: 2, stderr: /bad\.yaml/ },
      'update: no such service': { args: ['update', 'nosuch', '--to', '1.0.0', '-f', f, '--state-dir', state], code: 2, stderr: /nosuch/ },
      'rollback: no such service': { args: ['rollback', 'nosuch', '-f', f, '--state-dir', state], code: 2, stderr: /no service nosuch/ },
      'retry: no such service': { args: ['retry', 'nosuch', '-f', f, '--state-dir', state], code: 2, stderr: /no service nosuch/ },
      'backups show: no such backup': { args: ['backups', 'show', 'nosuch.bak', '-f', f], code: 2, stderr: /no backup nosuch\.bak/ },
      'backups restore: no such backup': { args: ['backups', 'restore', 'nosuch.bak', '-f', f], code: 2, stderr: /no backup nosuch\.bak/ },
      'policy: bad policy': { args: ['policy', '--policy', 'semver:>=banana', '--tags', '1.0.0', '--current', '1.0.0'], code: 2 },
      'config validate: bad file': { args: ['config', 'validate', '-c', badConfig], code: 2, stderr: /bad\.yaml:1: interval: "often" is not a duration/, findings: true },
      'init: no compose file here': { args: ['init'], code: 2, stderr: /no compose file here/ },
      'completion: unknown shell': { args: ['completion', 'tcsh'], code: 2 },
      'mirror: no config': { args: ['mirror', '--once', '-c', join(dir, 'missing.yaml')], code: 2 },
      'check: up to date': { args: ['check', '-f', f], code: 0 },
      'version': { args: ['version'], code: 0 },
      'backups list: none': { args: ['backups', 'list', '-f', f], code: 0 },
      'retry: list': { args: ['retry', '-f', f, '--state-dir', state], code: 0 },
      'health: nothing listening': { args: ['health', '--url', 'http://127.0.0.1:1/'], code: 1, stderr: /^dosync: unhealthy/ },
    };
    const failures: string[] = [];
    for (const [name, c] of Object.entries(cases)) await expectExit(name, c, dir).catch((err: Error) => failures.push(err.message));
    assert.deepEqual(failures, []);
    // `dosync version` and `dosync --version` print the same.
    assert.equal((await dosync(['version'])).stdout, (await dosync(['--version'])).stdout);
  } finally {
    await p.destroy({ skipInvariant: 'nothing was started; dosync only read the file' });
    await rm(dir, { recursive: true, force: true });
  }
});
