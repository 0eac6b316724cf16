/**
 * A swarm of three engines on this machine (manager + two workers), each in a network namespace the test
 * creates, joined by veth pairs on a bridge of its own (10.219.0.0/24, no route out). Each engine has its own
 * data root, exec root, socket and pidfile under a temp dir; the host's engine and docker0 are never touched.
 *
 * Found on the way (and why it is built like this):
 * - dockerd under `ip netns exec` fails ("Devices cgroup isn't mounted"): that command also makes a mount
 *   namespace and remounts /sys. `nsenter --net` enters only the network namespace.
 * - The main engine sets the host's FORWARD policy to DROP, and bridged frames go through iptables here
 *   (bridge-nf-call-iptables = 1): one ACCEPT rule for traffic within our bridge, removed at teardown.
 * - The test registry listens on 127.0.0.1:5000, which a namespace's own loopback does not reach: a TCP relay
 *   on the bridge address (10.219.0.1:5000) forwards to it, and images are named by that address (an
 *   insecure registry for the engines, as 127.0.0.0/8 is for the main one).
 * - Inside a namespace `--bridge=none` is harmless (there is no docker0 to delete) and docker_gwbridge is
 *   the namespace's own.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { closeSync, openSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sh } from './docker.js';
import { poll, type SwarmEndpoint } from './swarm-engine.js';

export const CLUSTER_REGISTRY = '10.219.0.1:5000';

class NodeEngine implements SwarmEndpoint {
  constructor(readonly name: string, readonly address: string, readonly host: string, readonly pid: number) {}
  get socketPath(): string { return this.host.replace(/^unix:\/\//, ''); }
  get env(): NodeJS.ProcessEnv { return { ...process.env, DOCKER_HOST: this.host }; }
  docker(args: string[], opts: { cwd?: string } = {}): Promise<string> { return sh('docker', ['-H', this.host, ...args], opts); }
}

export class SwarmCluster {
  private constructor(readonly dir: string, readonly nodes: NodeEngine[], private readonly tag: string, private readonly relay: Server) {}

  get manager(): NodeEngine { return this.nodes[0]; }

  static async start(size = 3): Promise<SwarmCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'i17-cluster-'));
    const tag = randomBytes(2).toString('hex');
    const bridge = `i17mb${tag}`;
    const relay = createServer((c) => {
      const up = createConnection(5000, '127.0.0.1');
      c.pipe(up).pipe(c);
      up.on('error', () => c.destroy());
      c.on('error', () => up.destroy());
    });
    const cluster = new SwarmCluster(dir, [], tag, relay);
    try {
      await sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
      await sh('ip', ['addr', 'add', '10.219.0.1/24', 'dev', bridge]);
      await sh('ip', ['link', 'set', bridge, 'up']);
      await sh('iptables', ['-I', 'FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT']);
      await new Promise<void>((resolve, reject) => { relay.once('error', reject); relay.listen(5000, '10.219.0.1', resolve); });
      for (let k = 1; k <= size; k++) {
        const ns = `i17n${tag}${k}`;
        const address = `10.219.0.${10 + k}`;
        await sh('ip', ['netns', 'add', ns]);
        await sh('ip', ['link', 'add', `i17v${tag}${k}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        await sh('ip', ['link', 'set', `i17v${tag}${k}`, 'master', bridge, 'up']);
        for (const args of [['addr', 'add', `${address}/24`, 'dev', 'eth0'], ['link', 'set', 'eth0', 'up'], ['link', 'set', 'lo', 'up'], ['route', 'add', 'default', 'via', '10.219.0.1']]) {
          await sh('ip', ['netns', 'exec', ns, 'ip', ...args]);
        }
        const host = `unix://${dir}/n${k}.sock`;
        const log = openSync(join(dir, `n${k}.log`), 'a');
        const child = spawn('nsenter', [`--net=/run/netns/${ns}`, 'dockerd',
          '--data-root', join(dir, `d${k}`), '--exec-root', join(dir, `e${k}`), '-H', host, '--pidfile', join(dir, `n${k}.pid`),
          '--bridge=none', '--iptables=false', '--insecure-registry', CLUSTER_REGISTRY,
        ], { detached: true, stdio: ['ignore', log, log] });
        closeSync(log);
        child.unref();
        cluster.nodes.push(new NodeEngine(ns, address, host, child.pid!));
      }
      for (const n of cluster.nodes) await poll(`${n.name} did not answer`, 90_000, async () => (await n.docker(['version', '-f', '{{.Server.Version}}'])) || undefined);
      await cluster.manager.docker(['swarm', 'init', '--advertise-addr', cluster.manager.address]);
      const token = await cluster.manager.docker(['swarm', 'join-token', '-q', 'worker']);
      for (const n of cluster.nodes.slice(1)) await n.docker(['swarm', 'join', '--token', token, '--advertise-addr', n.address, `${cluster.manager.address}:2377`]);
      await poll('the cluster\'s nodes were not all ready', 90_000, async () => {
        const states = (await cluster.manager.docker(['node', 'ls', '--format', '{{.Status}}'])).split('\n');
        return states.length === size && states.every((s) => s === 'Ready') ? true : undefined;
      });
      return cluster;
    } catch (err) {
      const logs = await Promise.all(cluster.nodes.map((n, i) => readFile(join(dir, `n${i + 1}.log`), 'utf8').then((t) => `${n.name}: ${t.split('\n').slice(-5).join('\n')}`, () => '')));
      await cluster.stop();
      throw new Error(`${(err as Error).message}\n${logs.join('\n')}`);
    }
  }

  async stop(): Promise<void> {
    for (const n of [...this.nodes].reverse()) {
      const ids = (await n.docker(['ps', '-aq']).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length > 0) await n.docker(['rm', '-f', ...ids]).catch(() => undefined);
      await n.docker(['swarm', 'leave', '--force']).catch(() => undefined);
      try { process.kill(n.pid, 'SIGTERM'); } catch { /* gone */ }
    }
    for (const n of this.nodes) {
      const gone = () => { try { process.kill(n.pid, 0); return false; } catch { return true; } };
      await poll(`${n.name} did not stop`, 60_000, async () => (gone() ? true : undefined)).catch(() => { try { process.kill(n.pid, 'SIGKILL'); } catch { /* gone */ } });
    }
    await new Promise<void>((resolve) => this.relay.close(() => resolve()));
    const bridge = `i17mb${this.tag}`;
    for (const n of this.nodes) await sh('ip', ['netns', 'del', n.name]).catch(() => undefined);
    for (let k = 1; k <= this.nodes.length; k++) await sh('ip', ['link', 'del', `i17v${this.tag}${k}`]).catch(() => undefined);
    await sh('iptables', ['-D', 'FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT']).catch(() => undefined);
    await sh('ip', ['link', 'del', bridge]).catch(() => undefined);
    const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(this.dir));
    for (const m of mounts.reverse()) await sh('umount', ['-l', m]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
