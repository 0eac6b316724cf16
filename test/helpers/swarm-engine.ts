/**
 * A second Docker engine for the swarm tests, started and torn down by the test: its own data root, exec
 * root, socket and pidfile under a temp dir, so swarm mode never touches the engine the other tests use.
 *
 * Host-wide names are the hazard of a second engine on one host:
 * - `--bridge=none` makes dockerd delete the host's `docker0` (the main engine's default bridge). The engine
 *   gets a bridge of its own instead (`-b i17br…`, made here), so docker0 is never touched.
 * - Swarm creates `docker_gwbridge` as a host interface of that name; it is made here first as a network of
 *   the engine with its own interface name (`com.docker.network.bridge.name`), as Docker's docs describe.
 * - The swarm's ports are from this issue's range on 127.0.0.1 (listen 17001, data path 17002).
 * The routing mesh needs IPVS, which this kernel lacks: tests use `endpoint_mode: dnsrr` on an attachable
 * overlay network and a client container on it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sh } from './docker.js';

export const SWARM_PORT = 17001;
export const DATA_PATH_PORT = 17002;

export async function poll<T>(what: string, limitMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} within ${limitMs / 1000}s${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What a stack test needs of an engine: its endpoint and a docker CLI pointed at it. */
export interface SwarmEndpoint {
  readonly host: string;
  readonly socketPath: string;
  readonly env: NodeJS.ProcessEnv;
  docker(args: string[], opts?: { cwd?: string }): Promise<string>;
}

export class SwarmEngine implements SwarmEndpoint {
  private constructor(readonly dir: string, readonly host: string, private readonly pid: number, private readonly links: string[]) {}

  /** The engine's socket file (to mount into a container that talks to this engine). */
  get socketPath(): string {
    return this.host.replace(/^unix:\/\//, '');
  }

  /** The environment that points the docker CLI (and dosync's dockerode) at this engine. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: this.host };
  }

  docker(args: string[], opts: { cwd?: string } = {}): Promise<string> {
    return sh('docker', ['-H', this.host, ...args], opts);
  }

  static async start(): Promise<SwarmEngine> {
    const dir = await mkdtemp(join(tmpdir(), 'i17-swarm-'));
    const tag = randomBytes(3).toString('hex');
    const bridge = `i17br${tag}`;
    const gw = `i17gw${tag}`;
    const net = 1 + (parseInt(tag, 16) % 250);
    await sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    const links = [bridge];
    try {
      await sh('ip', ['addr', 'add', `10.217.${net}.1/24`, 'dev', bridge]);
      await sh('ip', ['link', 'set', bridge, 'up']);
      const host = `unix://${dir}/docker.sock`;
      const log = openSync(join(dir, 'dockerd.log'), 'a');
      const child = spawn('dockerd', [
        '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', host, '--pidfile', join(dir, 'docker.pid'),
        '--bridge', bridge, '--iptables=false', '--ip-masq=false',
      ], { detached: true, stdio: ['ignore', log, log] });
      closeSync(log);
      child.unref();
      const engine = new SwarmEngine(dir, host, child.pid!, links);
      try {
        await poll('the second engine did not answer', 60_000, async () => (await engine.docker(['version', '-f', '{{.Server.Version}}'])) || undefined);
        // Before swarm init, so the swarm uses it instead of making a host interface named docker_gwbridge.
        await engine.docker(['network', 'create', '--subnet', `10.218.${net}.0/24`,
          '-o', `com.docker.network.bridge.name=${gw}`, '-o', 'com.docker.network.bridge.enable_icc=false',
          '-o', 'com.docker.network.bridge.enable_ip_masquerade=false', 'docker_gwbridge']);
        links.push(gw);
        // The port may still be held for a moment by the engine of a test file that just ended: retried, bounded.
        const init = () => engine.docker(['swarm', 'init', '--advertise-addr', `127.0.0.1:${SWARM_PORT}`, '--listen-addr', `127.0.0.1:${SWARM_PORT}`, '--data-path-port', String(DATA_PATH_PORT)]);
        for (let tries = 1; ; tries++) {
          try {
            await init();
            break;
          } catch (err) {
            if (tries >= 20 || !/address already in use/.test((err as Error).message)) throw err;
            await new Promise((r) => setTimeout(r, 3_000));
          }
        }
        await poll('the swarm node was not ready', 60_000, async () => ((await engine.docker(['node', 'ls', '--format', '{{.Status}}'])) === 'Ready' ? true : undefined));
        return engine;
      } catch (err) {
        const tail = await readFile(join(dir, 'dockerd.log'), 'utf8').catch(() => '');
        await engine.stop().catch(() => undefined);
        throw new Error(`${(err as Error).message}\n${tail.split('\n').slice(-15).join('\n')}`);
      }
    } catch (err) {
      for (const l of links) await sh('ip', ['link', 'del', l]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Leaves the swarm, stops the engine (its containers go with it), removes its interfaces, mounts and files. */
  async stop(): Promise<void> {
    await this.docker(['swarm', 'leave', '--force']).catch(() => undefined);
    const ids = (await this.docker(['ps', '-aq']).catch(() => '')).split('\n').filter(Boolean);
    if (ids.length > 0) await this.docker(['rm', '-f', ...ids]).catch(() => undefined);
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch { /* already gone */ }
    const gone = () => { try { process.kill(this.pid, 0); return false; } catch { return true; } };
    await poll('the second engine did not stop', 60_000, async () => (gone() ? true : undefined)).catch(() => {
      try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone */ }
    });
    for (const l of this.links) await sh('ip', ['link', 'del', l]).catch(() => undefined);
    // Anything the engine left mounted under its roots (netns files, overlay layers).
    const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(this.dir));
    for (const m of mounts.reverse()) await sh('umount', ['-l', m]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A stack file in its own temp dir, deployed on a SwarmEngine under a unique name. */
export class SwarmStack {
  private constructor(readonly engine: SwarmEndpoint, readonly name: string, readonly dir: string, readonly file: string) {}

  static async create(engine: SwarmEndpoint, text: string, opts: { env?: NodeJS.ProcessEnv; files?: Record<string, string> } = {}): Promise<SwarmStack> {
    const name = `i17s${randomBytes(3).toString('hex')}`;
    const dir = await mkdtemp(join(tmpdir(), `${name}-`));
    const file = join(dir, 'stack.yml');
    // STACK and DIR in the text stand for the stack's name and directory (known only now).
    await writeFile(file, text.replaceAll('STACK', name).replaceAll('DIR', dir));
    for (const [path, content] of Object.entries(opts.files ?? {})) await writeFile(join(dir, path), content);
    const stack = new SwarmStack(engine, name, dir, file);
    await stack.deploy(opts);
    return stack;
  }

  /** `docker stack deploy` of the file as it is now (with the registry auth of `env`'s DOCKER_CONFIG). */
  async deploy(opts: { env?: NodeJS.ProcessEnv } = {}): Promise<void> {
    await sh('docker', ['-H', this.engine.host, 'stack', 'deploy', '--with-registry-auth', '-c', this.file, this.name], { env: opts.env ?? process.env });
  }

  /** The image a service's spec names (`repo:tag@sha256:…`). */
  image(service: string): Promise<string> {
    return this.engine.docker(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', `${this.name}_${service}`]);
  }

  /** The images of a service's running tasks. */
  async taskImages(service: string): Promise<string[]> {
    const out = await this.engine.docker(['service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Image}} {{.CurrentState}}', `${this.name}_${service}`]);
    return out.split('\n').filter((l) => l.includes(' Running')).map((l) => l.split(' ')[0]);
  }

  /** Until `service` runs `count` tasks that all run `tag` (checked on the spec's reference). */
  async waitRunning(service: string, count: number, limitMs = 120_000): Promise<void> {
    await poll(`${this.name}_${service} did not run ${count} tasks`, limitMs, async () => {
      const images = await this.taskImages(service);
      const spec = await this.image(service);
      return images.length === count && images.every((i) => spec.startsWith(i)) ? true : undefined;
    });
  }

  /** The invariant of every stack test: each service's spec names the image the file names (pinned by digest). */
  async assertConsistent(): Promise<void> {
    const { readStack } = await import('../../src/compose/stack.js');
    const stack = readStack([{ path: this.file, text: await readFile(this.file, 'utf8') }], {});
    for (const s of stack.services) {
      const spec = await this.image(s.name);
      if (spec.replace(/@sha256:[a-f0-9]{64}$/, '') !== s.image) throw new Error(`${this.name}_${s.name} runs ${spec}, the file names ${s.image}`);
    }
  }

  async destroy(): Promise<void> {
    try {
      await this.assertConsistent();
    } finally {
      await this.engine.docker(['stack', 'rm', this.name]).catch(() => undefined);
      await poll(`stack ${this.name} was not removed`, 60_000, async () => ((await this.engine.docker(['network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${this.name}`])) === '' ? true : undefined)).catch(() => undefined);
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}

/** One service of a test stack file: dnsrr (no routing mesh here), `deploy:` lines under the replicas/mode. */
export interface StackServiceText {
  image: string;
  /** Default 1; ignored with `global`. */
  replicas?: number;
  global?: boolean;
  /** On the stack's attachable overlay network `net` (a client container can join it). */
  network?: boolean;
  /** More `deploy:` keys, one YAML line each (`update_config: { order: start-first }`). */
  deploy?: string[];
  /** More service keys, one YAML line each. */
  lines?: string[];
}

/** A stack file's text (compose v3.8); `top` lines go at the end (configs:, ...). */
export function stackText(services: Record<string, StackServiceText>, top: string[] = []): string {
  const out = ['version: "3.8"', 'services:'];
  let overlay = false;
  for (const [name, s] of Object.entries(services)) {
    out.push(`  ${name}:`, `    image: ${s.image}`, ...(s.lines ?? []).map((l) => `    ${l}`));
    if (s.network) { out.push('    networks: [net]'); overlay = true; }
    out.push('    deploy:', s.global ? '      mode: global' : `      replicas: ${s.replicas ?? 1}`, '      endpoint_mode: dnsrr', ...(s.deploy ?? []).map((l) => `      ${l}`));
  }
  if (overlay) out.push('networks:', '  net: { driver: overlay, attachable: true }');
  out.push(...top, '');
  return out.join('\n');
}
