/**
 * The invariant behind every dosync action: every running container of the project runs the image that
 * `docker compose config` names for its service, and every image the file names exists (in the engine or
 * in its registry). Integration tests that touch a stack check it at the end.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  const { stdout } = await exec(cmd, args, { cwd, maxBuffer: 32 * 1024 * 1024 });
  return stdout.trim();
}

/** Whether a registry on this machine (127.0.0.1:port/...) serves `ref`. */
async function inLocalRegistry(ref: string): Promise<boolean> {
  const m = /^(127\.0\.0\.1:\d+|localhost:\d+)\/([^:@]+)(?::([^@]+))?(?:@(.+))?$/.exec(ref);
  if (!m) return false;
  const [, host, repo, tag, digest] = m;
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${digest ?? tag ?? 'latest'}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } }).catch(() => undefined);
  return res?.status === 200;
}

async function localImageId(ref: string): Promise<string | undefined> {
  return run('docker', ['image', 'inspect', '-f', '{{.Id}}', ref]).catch(() => undefined);
}

export interface StackLike {
  name: string;
  dir: string;
  /** The -f files (default docker-compose.yml in dir). */
  files: string[];
  envFile?: string | string[];
}

/** Asserts the invariant for a compose project; `why` names the test in the message. */
export async function assertStackConsistent(p: StackLike, why = ''): Promise<void> {
  const args = ['compose', '-p', p.name, ...p.files.flatMap((f) => ['-f', f]), ...[p.envFile ?? []].flat().flatMap((f) => ['--env-file', f]), 'config', '--format', 'json'];
  const config = JSON.parse(await run('docker', args, p.dir)) as { services: Record<string, { image?: string }> };
  const ids = (await run('docker', ['ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${p.name}`])).split('\n').filter(Boolean);
  for (const id of ids) {
    const [service, image, imageId] = (await run('docker', ['inspect', '-f', '{{index .Config.Labels "com.docker.compose.service"}}|{{.Config.Image}}|{{.Image}}', id])).split('|');
    const wanted = config.services[service]?.image;
    if (wanted === undefined) continue; // a helper container of the project (dosync's self-update helper)
    assert.equal(image, wanted, `${why}: ${service} runs ${image} but docker compose config says ${wanted}`);
    const expectedId = await localImageId(wanted);
    assert.equal(imageId, expectedId, `${why}: ${service} runs image ${imageId.slice(7, 19)}, but ${wanted} is ${expectedId?.slice(7, 19) ?? 'not present'} locally`);
  }
  for (const [service, s] of Object.entries(config.services)) {
    if (!s.image) continue;
    const exists = (await localImageId(s.image)) !== undefined || (await inLocalRegistry(s.image));
    assert.ok(exists, `${why}: services.${service}.image ${s.image} exists neither in the engine nor in its registry`);
  }
}
