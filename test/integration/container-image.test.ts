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
    assert.deepEqual(config.Entrypoint, ['dosync']);
    assert.deepEqual(config.Cmd, ['sync', '-f', '/app/docker-compose.yml']);
    assert.equal(config.WorkingDir, '/app');
    assert.deepEqual(config.Healthcheck.Test, ['CMD', 'dosync', 'health']);
  });

  test('the docker CLI and the compose plugin are inside and reach the host engine through the mounted socket', async () => {
    const hostEngine = await docker(['version', '-f', '{{.Server.Version}}']);
    const r = await run(['-v', '/var/run/docker.sock:/var/run/docker.sock', '--entrypoint', 'docker', image.tag, 'version', '-f', '{{.Server.Version}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), hostEngine);
    const compose = await run(['--entrypoint', 'docker', image.tag, 'compose', 'version', '--short']);
    assert.equal(compose.code, 0, compose.stderr);
    assert.match(compose.stdout.trim(), /^v?2\.\d+/);
  });

  test('only production dependencies are installed', async () => {
    const r = await run(['--entrypoint', 'sh', image.tag, '-c', 'ls /opt/dosync/node_modules; ls /opt/dosync/node_modules/.bin 2>/dev/null || true']);
    assert.equal(r.code, 0, r.stderr);
    const names = r.stdout.split('\n');
    for (const prod of ['commander', 'yaml', 'dockerode']) assert.ok(names.includes(prod), `${prod} is there`);
    for (const dev of ['typescript', 'tsx', 'fast-check', 'smtp-server']) assert.ok(!names.includes(dev), `${dev} is not`);
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
