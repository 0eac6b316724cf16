import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureDosyncImage, type BuiltImage } from '../helpers/image.js';
import { VERSION } from '../../src/cli/index.js';

const exec = promisify(execFile);
const docker = async (args: string[]) => (await exec('docker', args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
/** Runs a container to completion; resolves with its exit code and output instead of throwing. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec('docker', ['run', '--rm', ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('container image (Dockerfile, built on the local engine)', () => {
  let image: BuiltImage;
  before(async () => {
    image = await ensureDosyncImage();
    const size = Number(await docker(['image', 'inspect', '-f', '{{.Size}}', image.tag]));
    // Figures for the notes, not assertions: how long the build took and how big the result is.
    console.log(`# image ${image.tag}: ${(size / 1e6).toFixed(0)} MB, docker build ${image.buildSeconds.toFixed(1)}s, base ${image.baseSeconds.toFixed(1)}s`);
  });

  test('docker run IMAGE --version prints the package version', async () => {
    const r = await run([image.tag, '--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  });

  test('default command: sync on /app/docker-compose.yml, HEALTHCHECK dosync health, working dir /app', async () => {
    const config = JSON.parse(await docker(['image', 'inspect', '-f', '{{json .Config}}', image.tag])) as {
      Entrypoint: string[]; Cmd: string[]; WorkingDir: string; Healthcheck: { Test: string[] };
    };
    assert.deepEqual(config.Entrypoint, ['tini', '--', 'dosync']);
    assert.deepEqual(config.Cmd, ['sync', '-f', '/app/docker-compose.yml']);
    assert.equal(config.WorkingDir, '/app');
    assert.deepEqual(config.Healthcheck.Test, ['CMD', 'dosync', 'health']);
  });

  test('compose is inside (as docker-compose, no docker CLI) and reaches the host engine through the mounted socket', async () => {
    const compose = await run(['--entrypoint', 'docker-compose', image.tag, 'version', '--short']);
    assert.equal(compose.code, 0, compose.stderr);
    assert.match(compose.stdout.trim(), /^v?2\.\d+/);
    const ls = await run(['-v', '/var/run/docker.sock:/var/run/docker.sock', '--entrypoint', 'docker-compose', image.tag, 'ls', '--all', '--format', 'json']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok(Array.isArray(JSON.parse(ls.stdout)));
    assert.notEqual((await run(['--entrypoint', 'sh', image.tag, '-c', 'command -v docker'])).code, 0, 'no docker CLI');
  });

  test('OCI labels (version, revision), DOSYNC_FILE, tini as PID 1', async () => {
    const info = JSON.parse(await docker(['image', 'inspect', '-f', '{{json .Config}}', image.tag])) as { Labels: Record<string, string>; Env: string[] };
    assert.equal(info.Labels['org.opencontainers.image.version'], VERSION);
    assert.match(info.Labels['org.opencontainers.image.revision'], /^[0-9a-f]{40}$/);
    assert.equal(info.Labels['org.opencontainers.image.title'], 'dosync');
    assert.ok(info.Env.includes('DOSYNC_FILE=/app/docker-compose.yml'));
    const pid1 = await run(['--entrypoint', 'tini', image.tag, '--', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "']);
    assert.match(pid1.stdout, /^tini -- sh/);
    // Without -f, the sidecar's commands find the compose file from DOSYNC_FILE.
    const check = await run([image.tag, 'check']);
    assert.match(check.stderr, /\/app\/docker-compose\.yml/);
    assert.doesNotMatch(check.stderr, /no compose file given/);
  });

  test('the packages left outside the bundle still load after the runtime prune', async () => {
    const r = await run(['--entrypoint', 'node', '-w', '/opt/dosync', image.tag, '-e',
      "for (const m of ['pino-pretty','ssh2','@aws-sdk/client-ecr','@aws-sdk/client-s3','google-auth-library','@azure/identity','prom-client','nodemailer']) require(m);"
      + "const id = require('@azure/identity'); new id.ClientSecretCredential('t', 'c', 's'); new id.DefaultAzureCredential();"
      + "new (require('@aws-sdk/client-ecr').ECRClient)({ region: 'eu-west-1' }); console.log('ok')"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
  });

  test('only production dependencies are installed', async () => {
    const r = await run(['--entrypoint', 'sh', image.tag, '-c', 'ls /opt/dosync/node_modules; ls /opt/dosync/node_modules/.bin 2>/dev/null || true']);
    assert.equal(r.code, 0, r.stderr);
    const names = r.stdout.split('\n');
    // What the bundle leaves external is there; what it contains (commander, yaml, dockerode) and dev tools are not.
    for (const external of ['prom-client', 'nodemailer', 'pino-pretty', 'google-auth-library']) assert.ok(names.includes(external), `${external} is there`);
    for (const absent of ['commander', 'yaml', 'dockerode', 'typescript', 'tsx', 'fast-check', 'smtp-server']) assert.ok(!names.includes(absent), `${absent} is not`);
  });

  test('`dosync health` in the image is unhealthy (exit 1) while no daemon has written a heartbeat', async () => {
    const r = await run([image.tag, 'health']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unhealthy: no heartbeat yet/);
  });

  test("DOSync's environment variables reach the sync command (CHECK_INTERVAL is validated)", async () => {
    const r = await run(['-e', 'CHECK_INTERVAL=soon', '-e', 'VERBOSE=--verbose', image.tag, 'sync', '-f', '/etc/hostname', '--once']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /interval: "soon" is not a duration/);
  });
});
