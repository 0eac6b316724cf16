import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, readdir, rm, stat, writeFile, lstat, readlink, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ROOT } from '../helpers/docker.js';
import { VERSION } from '../../src/cli/index.js';
import { readStack } from '../../src/compose/stack.js';
import { resolvePolicy } from '../../src/policy/index.js';

const exec = promisify(execFile);
const CLI = join(ROOT, 'bin/dosync.js');

interface Result { code: number; stdout: string; stderr: string }
async function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  try {
    const r = await exec(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
const dosync = (args: string[], cwd: string) => run(process.execPath, [CLI, ...args], { cwd });

/** The original text must survive around one inserted run of text (longest common prefix + suffix cover it). */
function assertOnlyInserted(original: string, result: string): string {
  let p = 0;
  while (p < original.length && original[p] === result[p]) p++;
  let q = 0;
  while (q < original.length - p && q < result.length - p && original[original.length - 1 - q] === result[result.length - 1 - q]) q++;
  assert.equal(p + q, original.length, 'the rest of the file is byte-identical');
  return result.slice(p, result.length - q);
}

const temps: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}
after(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

// Three existing stacks of different shapes, each valid for `docker compose config` before init.
const STACKS: Array<{ name: string; file: string; text: string; env?: string; families: string[]; registries: RegExp[] }> = [
  {
    name: 'commented two-space stack with anchors, .env interpolation and a trailing comment',
    file: 'docker-compose.yml',
    env: 'WEB_TAG=1.25.3\n',
    text: [
      '# shop stack',
      'name: shop',
      '',
      'x-common: &common',
      '  restart: unless-stopped',
      '',
      'services:',
      '  # front door',
      '  web:',
      '    <<: *common',
      '    image: "nginx:${WEB_TAG}"   # pinned by tag',
      '    ports:',
      '      - "8080:80"',
      '',
      '  api:',
      '    <<: *common',
      '    image: ghcr.io/example/api:2.4.1',
      '    environment:',
      '      LOG_LEVEL: info',
      '    # healthcheck:',
      '    #   test: ["CMD", "true"]',
      '',
      'volumes:',
      '  data: {}',
      '# end',
      '',
    ].join('\n'),
    families: ['dockerhub', 'ghcr'],
    registries: [/Docker Hub \(docker\.io\): web/, /GitHub Container Registry \(ghcr\.io\): api/],
  },
  {
    name: 'four-space CRLF stack with flush sequences and private registries',
    file: 'compose.yaml',
    text: [
      'services:',
      '    app:',
      '        image: 127.0.0.1:5000/team/app:1.0.0',
      '        command:',
      '        - serve',
      '        - --port=80',
      '    jobs:',
      '        image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/jobs:3.1',
      '        deploy:',
      '            replicas: 2',
      '',
    ].join('\r\n'),
    families: ['ecr', 'custom'],
    registries: [/Amazon ECR/, /region: eu-west-1/, /url: http:\/\/127\.0\.0\.1:5000/],
  },
  {
    name: 'JSON compose file',
    file: 'stack.json',
    text: '{\n  "name": "jsonstack",\n  "services": {\n    "web": {"image": "quay.io/example/web:8.1", "ports": ["8081:80"]},\n    "cache": {"image": "redis:7.2.4"}\n  }\n}\n',
    families: ['dockerhub', 'quay'],
    registries: [/Quay\.io \(quay\.io\): web/, /Docker Hub \(docker\.io\): cache/],
  },
];

describe('dosync init on existing compose files', () => {
  for (const stack of STACKS) {
    test(stack.name, async () => {
      const dir = await tempDir('dosync-init-');
      const file = join(dir, stack.file);
      await writeFile(file, stack.text);
      if (stack.env) await writeFile(join(dir, '.env'), stack.env);
      assert.equal((await run('docker', ['compose', '-f', file, 'config', '-q'], { cwd: dir })).code, 0, 'valid before');

      // --dry-run: a diff, nothing written.
      const dry = await dosync(['init', '-f', stack.file, '--dry-run'], dir);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /^\+ {2,4}dosync:|^\+.*"dosync": \{|dosync: \{/m);
      assert.match(dry.stdout, /\+\+\+ .*dosync\.yaml/);
      assert.equal(await readFile(file, 'utf8'), stack.text);
      assert.deepEqual((await readdir(dir)).sort(), [stack.file, ...(stack.env ? ['.env'] : [])].sort());

      const r = await dosync(['init', '-f', stack.file, '-i', '2m'], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /added service "dosync"/);
      const after = await readFile(file, 'utf8');
      const inserted = assertOnlyInserted(stack.text, after);
      assert.match(inserted, /dosync/);
      if (stack.text.includes('\r\n')) assert.doesNotMatch(after.replace(/\r\n/g, ''), /\n/, 'CRLF kept');

      // Compose accepts the result and sees the sidecar as written.
      const check = await run('docker', ['compose', '-f', file, 'config', '-q'], { cwd: dir });
      assert.equal(check.code, 0, check.stderr);
      const json = JSON.parse((await run('docker', ['compose', '-f', file, 'config', '--format', 'json'], { cwd: dir })).stdout) as {
        services: Record<string, { image: string; restart: string; command?: string[] | null; volumes: Array<{ source: string; target: string }>; environment: Record<string, string>; healthcheck: { test: string[] }; labels?: Record<string, string> }>;
      };
      const sidecar = json.services.dosync;
      assert.equal(sidecar.image, 'dosync:latest');
      assert.equal(sidecar.restart, 'unless-stopped');
      assert.deepEqual(sidecar.volumes.map((v) => [v.source.startsWith(`${dir}/`) ? relative(dir, v.source) : v.source, v.target]), [
        ['/var/run/docker.sock', '/var/run/docker.sock'],
        [dir, '/app'],
      ]);
      // The project directory holds the compose file, .env, dosync.yaml and backups/; a compose file with
      // another name than the image's default is named by the command.
      assert.deepEqual(sidecar.command ?? undefined, stack.file === 'docker-compose.yml' ? undefined : ['sync', '-f', `/app/${stack.file}`]);
      assert.equal(sidecar.environment.DOSYNC_CONFIG, '/app/dosync.yaml');
      assert.equal(sidecar.labels?.['dosync.enable'], undefined, 'dosync may update itself');
      assert.equal(sidecar.environment.CHECK_INTERVAL, '2m');
      assert.deepEqual(sidecar.healthcheck.test, ['CMD', 'dosync', 'health']);

      // The backup holds the original; dosync.yaml is private, valid, and names only the stack's registries.
      const backups = await readdir(join(dir, 'backups'));
      assert.equal(backups.length, 1);
      assert.equal(await readFile(join(dir, 'backups', backups[0]), 'utf8'), stack.text);
      const yamlPath = join(dir, 'dosync.yaml');
      assert.equal((await stat(yamlPath)).mode & 0o777, 0o600);
      const yamlText = await readFile(yamlPath, 'utf8');
      for (const re of stack.registries) assert.match(yamlText, re);
      assert.match(yamlText, /^interval: 2m$/m);
      const lines = yamlText.split('\n');
      const block = lines.slice(lines.indexOf('# registry:'), lines.indexOf('', lines.indexOf('# registry:')));
      assert.deepEqual(block.flatMap((l) => /^# {3}([a-z]+):$/.exec(l)?.[1] ?? []), stack.families, 'only the registries the stack uses');

      // A second init refuses and changes nothing.
      const again = await dosync(['init', '-f', stack.file], dir);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /service "dosync" already runs dosync/);
      assert.equal(await readFile(file, 'utf8'), after);
    });
  }

  test('a missing compose file is one line with the fix (exit 2)', async () => {
    const dir = await tempDir('dosync-init-');
    const r = await dosync(['init'], dir);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /no compose file here .*pass -f docker-compose\.yml/);
  });
});

describe('docker-compose.example.yaml', () => {
  test('compose accepts it, the db is pinned, dosync updates itself and every label policy compiles', async () => {
    const file = join(ROOT, 'docker-compose.example.yaml');
    const r = await run('docker', ['compose', '-f', file, 'config', '-q'], { cwd: ROOT });
    assert.equal(r.code, 0, r.stderr);
    const stack = readStack([{ path: file, text: await readFile(file, 'utf8') }], {});
    assert.deepEqual(stack.services.map((s) => s.name), ['web', 'api', 'worker', 'db', 'dosync']);
    const enabled = Object.fromEntries(stack.services.map((s) => [s.name, resolvePolicy({ labels: s.labels }, { labels: `${s.name} labels`, service: 's', registry: 'r' }).enabled]));
    assert.deepEqual(enabled, { web: true, api: true, worker: true, db: false, dosync: true }, 'dosync updates itself');
    // Sidecar mounts: the project directory (for .env, env_file: and the shared state dir), and the file by its name.
    const json = JSON.parse((await run('docker', ['compose', '-f', file, 'config', '--format', 'json'], { cwd: ROOT })).stdout) as { services: { dosync: { command: string[]; volumes: Array<{ source: string; target: string }> } } };
    assert.deepEqual(json.services.dosync.volumes.map((v) => [v.source, v.target]), [['/var/run/docker.sock', '/var/run/docker.sock'], [resolve(ROOT), '/app']]);
    assert.deepEqual(json.services.dosync.command, ['sync', '-f', '/app/docker-compose.example.yaml']);
  });
});

/** Every path under `dir` with its type, mode and content hash-ish (size + first bytes), for comparing two installs. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (rel.startsWith('opt/dosync/node_modules/')) continue; // thousands of files; covered by the lock stamp
      const s = await lstat(p);
      if (s.isSymbolicLink()) out.set(rel, `link ${await readlink(p)}`);
      else if (s.isDirectory()) {
        out.set(rel, `dir ${(s.mode & 0o7777).toString(8)}`);
        await walk(p);
      } else out.set(rel, `file ${(s.mode & 0o7777).toString(8)} ${(await readFile(p)).toString('base64')}`);
    }
  };
  await walk(dir);
  return out;
}

describe('install.sh into a throwaway root', () => {
  let root: string;
  before(async () => {
    root = await tempDir('dosync-root-');
  });

  test('--dry-run touches nothing', async () => {
    const r = await run('bash', [join(ROOT, 'install.sh'), '--prefix', root, '--dry-run', '--compose-file', '/srv/shop/docker-compose.yml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /would write: .*\/etc\/dosync\/dosync\.env \(mode 0600\)/);
    assert.match(r.stdout, /would write: .*\/etc\/systemd\/system\/dosync\.service /);
    assert.deepEqual(await readdir(root), []);
  });

  test('install twice (idempotent), the unit passes systemd-analyze verify, --uninstall leaves nothing', async () => {
    const install = () => run('bash', [join(ROOT, 'install.sh'), '--prefix', root, '--compose-file', '/srv/shop/docker-compose.yml']);
    const first = await install();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /skipping systemctl: installing into .*, not \//);
    const snap1 = await snapshot(root);

    // Layout, modes, the program runs.
    assert.equal((await stat(join(root, 'etc/dosync/dosync.env'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(root, 'etc/dosync/dosync.yaml'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(root, 'etc/dosync'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(root, 'usr/local/bin/dosync'))).mode & 0o111, 0o111);
    assert.match(await readFile(join(root, 'etc/dosync/dosync.env'), 'utf8'), /^DOSYNC_FILE=\/srv\/shop\/docker-compose\.yml$/m);
    assert.match(await readFile(join(root, 'usr/local/bin/dosync'), 'utf8'), /exec \S*node \/opt\/dosync\/bin\/dosync\.js "\$@"/);
    assert.equal(await readlink(join(root, 'etc/systemd/system/multi-user.target.wants/dosync.service')), '/etc/systemd/system/dosync.service');
    const version = await run(process.execPath, [join(root, 'opt/dosync/bin/dosync.js'), '--version']);
    assert.equal(version.stdout.trim(), VERSION, version.stderr);
    const installedConfig = await run(process.execPath, [join(root, 'opt/dosync/bin/dosync.js'), 'sync', '--once', '--dry-run', '-c', join(root, 'etc/dosync/dosync.yaml'), '-f', '/nonexistent/compose.yml']);
    assert.doesNotMatch(installedConfig.stderr, /dosync\.yaml/, 'the sample config is valid');

    // Edited configuration survives a second run; everything else is rewritten to the same bytes.
    await writeFile(join(root, 'etc/dosync/dosync.env'), 'DOSYNC_FILE=/srv/shop/docker-compose.yml\nCHECK_INTERVAL=1m\n', { mode: 0o600 });
    const second = await install();
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /keeping existing \/etc\/dosync\/dosync\.env/);
    assert.match(second.stdout, /production dependencies are current/);
    assert.equal(await readFile(join(root, 'etc/dosync/dosync.env'), 'utf8'), 'DOSYNC_FILE=/srv/shop/docker-compose.yml\nCHECK_INTERVAL=1m\n');
    const snap2 = await snapshot(root);
    snap1.delete('etc/dosync/dosync.env');
    snap2.delete('etc/dosync/dosync.env');
    assert.deepEqual([...snap2.entries()].sort(), [...snap1.entries()].sort());

    // systemd-analyze verify: the unit plus its drop-in, with ExecStart pointed at the binary inside the root
    // (the unit names /usr/local/bin/dosync of the target system, which verify checks for on this machine).
    const unit = await readFile(join(root, 'etc/systemd/system/dosync.service'), 'utf8');
    const dropIn = await readFile(join(root, 'etc/systemd/system/dosync.service.d/compose.conf'), 'utf8');
    assert.match(dropIn, /^ReadWritePaths=\/srv\/shop$/m);
    const verifyDir = await tempDir('dosync-verify-');
    const verifyUnit = join(verifyDir, 'dosync.service');
    await writeFile(verifyUnit, `${unit.replace(/^ExecStart=\/usr\/local\/bin\/dosync/m, `ExecStart=${join(root, 'usr/local/bin/dosync')}`)}\n${dropIn}`);
    const verify = await run('systemd-analyze', ['verify', verifyUnit]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'no warnings');
    for (const key of ['After=docker.service', 'Restart=on-failure', 'EnvironmentFile=/etc/dosync/dosync.env', 'StateDirectory=dosync', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=read-only', 'PrivateTmp=yes']) {
      assert.match(unit, new RegExp(`^${key.replace(/[.]/g, '\\.')}`, 'm'), key);
    }
    // The check can fail: a broken unit is refused.
    await writeFile(verifyUnit, unit.replace(/^ExecStart=.*$/m, 'ExecStart=/nonexistent/dosync'));
    assert.notEqual((await run('systemd-analyze', ['verify', verifyUnit])).code, 0);

    const un = await run('bash', [join(ROOT, 'install.sh'), '--prefix', root, '--uninstall']);
    assert.equal(un.code, 0, un.stderr);
    assert.deepEqual(await readdir(root), [], 'nothing left');
  });

  test('--uninstall --keep-config keeps /etc/dosync and directories that existed before stay', async () => {
    const r2 = await tempDir('dosync-root-');
    await mkdir(join(r2, 'usr/local/bin'), { recursive: true });
    await writeFile(join(r2, 'usr/local/bin/other-tool'), '#!/bin/sh\n', { mode: 0o755 });
    assert.equal((await run('bash', [join(ROOT, 'install.sh'), '--prefix', r2])).code, 0);
    const un = await run('bash', [join(ROOT, 'install.sh'), '--prefix', r2, '--uninstall', '--keep-config']);
    assert.equal(un.code, 0, un.stderr);
    const left = [...(await snapshot(r2)).keys()].sort();
    assert.deepEqual(left, ['etc', 'etc/dosync', 'etc/dosync/dosync.env', 'etc/dosync/dosync.yaml', 'usr', 'usr/local', 'usr/local/bin', 'usr/local/bin/other-tool', 'var', 'var/lib', 'var/lib/dosync']);
  });
});

describe('shell completion scripts', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('dosync-completion-');
    for (const shell of ['bash', 'zsh', 'fish']) {
      const r = await dosync(['completion', shell], dir);
      assert.equal(r.code, 0, r.stderr);
      await writeFile(join(dir, `dosync.${shell}`), r.stdout);
    }
  });

  for (const [shell, args] of [['bash', ['-n']], ['zsh', ['-n']], ['fish', ['--no-execute']]] as const) {
    test(`${shell} parses the script (${shell} ${args.join(' ')})`, async () => {
      const r = await run(shell, [...args, join(dir, `dosync.${shell}`)]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
    });
  }

  test('bash completes commands, options per command, option values', async () => {
    const complete = async (words: string[]) => {
      const script = `source ${join(dir, 'dosync.bash')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _dosync_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = await run('bash', ['-c', script], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await complete(['dosync', 'in']), ['init']);
    assert.deepEqual(await complete(['dosync', 'sync', '--log-format', '']), ['json', 'logfmt', 'pretty']);
    assert.deepEqual(await complete(['dosync', 'completion', '']), ['bash', 'fish', 'zsh']);
    assert.ok((await complete(['dosync', 'init', '--d'])).includes('--dry-run'));
    assert.deepEqual(await complete(['dosync', 'sync', '-f', 'dosync.b']), ['dosync.bash'], 'file names after -f');
    assert.deepEqual(await complete(['dosync', 'sync', '-f', 'x.yml', '--on']), ['--once'], 'an option value is skipped when walking');
  });

  test('fish completes the same words', async () => {
    const complete = async (line: string) => {
      const r = await run('fish', ['-c', `source ${join(dir, 'dosync.fish')}; complete -C '${line}'`], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]).sort();
    };
    assert.deepEqual(await complete('dosync sync --log-format '), ['json', 'logfmt', 'pretty']);
    assert.ok((await complete('dosync ')).includes('init'));
    assert.deepEqual(await complete('dosync completion '), ['bash', 'fish', 'zsh']);
  });
});
