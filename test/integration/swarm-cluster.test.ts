/**
 * A swarm of three engines in network namespaces (helpers/swarm-cluster.ts): dosync updates a service whose
 * tasks run on every node, through the manager, while a client on the manager reaches replicas on the other
 * nodes over the overlay network (VXLAN between the namespaces).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dosync, logLines, pushImage, unique } from '../helpers/docker.js';
import { SwarmStack } from '../helpers/swarm-engine.js';
import { CLUSTER_REGISTRY, SwarmCluster } from '../helpers/swarm-cluster.js';

let cluster: SwarmCluster;
before(async () => { cluster = await SwarmCluster.start(3); });
after(async () => { await cluster?.stop(); });

async function poll(probe: () => Promise<boolean>, limitMs = 180_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('three nodes: a 3-replica service spread over the nodes is updated start-first through the manager; a client on the manager sees no failed request', async () => {
  const repo = unique('i17/cluster');
  await pushImage(repo, '1.0.0', { version: '1.0.0', healthcheck: true });
  await pushImage(repo, '1.1.0', { version: '1.1.0', healthcheck: true });
  const v1 = `${CLUSTER_REGISTRY}/${repo}:1.0.0`;
  const text = [
    'version: "3.8"',
    'services:',
    '  web:',
    `    image: ${v1}`,
    '    networks: [net]',
    '    deploy:',
    '      replicas: 3',
    '      endpoint_mode: dnsrr',
    '      update_config: { parallelism: 1, order: start-first, failure_action: rollback, monitor: 5s }',
    'networks:',
    '  net: { driver: overlay, attachable: true }',
    '',
  ].join('\n');
  const manager = cluster.manager;
  const stack = await SwarmStack.create(manager, text);
  const config = join(stack.dir, 'dosync.yaml');
  // The relay address is plain http, like 127.0.0.1:5000 behind it.
  await writeFile(config, `registry:\n  custom:\n    url: http://${CLUSTER_REGISTRY}\n    insecure: true\n`);
  try {
    await stack.waitRunning('web', 3, 180_000);
    // The scheduler spreads the replicas (no max_replicas_per_node: with one per node, start-first has nowhere to start the new task).
    // Per node, by asking each engine (the nodes share one hostname: namespaces are not separate hosts).
    const tasksPerNode = () => Promise.all(cluster.nodes.map(async (n) => (await n.docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${stack.name}_web`])).split('\n').filter(Boolean).length));
    const perNode = await tasksPerNode();
    assert.ok(perNode.filter((c) => c > 0).length >= 2, `tasks on more than one node: ${perNode.join(', ')}`);
    const client = `${stack.name}-client`;
    const loop = 'while :; do if timeout 3 wget -q -O - http://web:8080/ >/tmp/a 2>/dev/null; then echo "ok $(cat /tmp/a)"; else echo fail; fi; sleep 0.05; done';
    await manager.docker(['run', '-d', '--name', client, '--network', `${stack.name}_net`, '--entrypoint', 'sh', v1, '-c', loop]);
    const lines = async () => (await manager.docker(['logs', client])).split('\n').filter(Boolean);
    try {
      await poll(async () => (await lines()).filter((l) => l === 'ok 1.0.0').length >= 10);
      const r = await dosync(['sync', '-f', stack.file, '-c', config, '--stack', stack.name, '--once', '--health-timeout', '300s'], { env: manager.env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const log = logLines(r.stdout);
      const ms = Number(log.find((l) => l.msg === 'updated')?.time) - Number(log.find((l) => String(l.msg).startsWith('updating'))?.time);
      await poll(async () => (await lines()).some((l) => l === 'ok 1.1.0'));
      const seen = await lines();
      const failed = seen.filter((l) => l === 'fail').length;
      const replaced = (await manager.docker(['service', 'ps', '--format', '{{.Image}} {{.DesiredState}}', `${stack.name}_web`])).split('\n').filter((l) => l.startsWith(v1) && l.endsWith('Shutdown')).length;
      console.log(`# 3-node swarm rolling update of 3 replicas (tasks per node before: ${perNode.join('/')}; start-first, parallelism 1): ${ms} ms from "updating" to "updated"; ${seen.length} requests from the manager, ${failed} failed; ${replaced} tasks replaced`);
      assert.equal(failed, 0, `failed requests: ${failed} of ${seen.length}`);
      assert.equal(replaced, 3);
    } finally {
      await manager.docker(['rm', '-f', client]).catch(() => undefined);
    }
    await stack.waitRunning('web', 3, 180_000);
    const after = await tasksPerNode();
    assert.ok(after.filter((c) => c > 0).length >= 2, `the new tasks run on more than one node: ${after.join(', ')}`);
    assert.match(await stack.image('web'), new RegExp(`^${CLUSTER_REGISTRY}/${repo}:1\\.1\\.0@sha256:`));
    assert.match(await readFile(stack.file, 'utf8'), /:1\.1\.0\n/);
  } finally {
    await stack.destroy();
  }
});
