/**
 * dosync as a container of the stack it updates (issue 5, "sidecar mode and self-update"), on the real engine
 * and registry: the docker socket and the project directory are mounted, the host's project (name, working
 * directory) comes from the containers' compose labels, and an update of dosync's own service is handed to a
 * short-lived helper container that recreates it, waits for it to be healthy and puts the old one back if not.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, REGISTRY, sh } from '../helpers/docker.js';
import { ensureDosyncImage } from '../helpers/image.js';
import { containerLog, inspectContainer, pushDosyncImage, removeImages, waitFor } from '../helpers/sidecar.js';

/** The dosync service as a user adds it: socket + files mounted, host network (the registry is on loopback), short interval. */
function dosyncService(image: string, volumes: string[], extra: string[] = []): string {
  return [
    '  dosync:',
    `    image: ${image}`,
    ...extra,
    '    network_mode: host',
    '    restart: unless-stopped',
    '    volumes:',
    '      - /var/run/docker.sock:/var/run/docker.sock',
    ...volumes.map((v) => `      - ${v}`),
    // --health-timeout is a hang guard: on a loaded machine a new container can take a minute to be healthy.
    '    command: [sync, -v, -f, /app/docker-compose.yml, --interval, 3s, --health-stable, 2s, --health-timeout, 180s]',
    // The image's HEALTHCHECK runs every minute; the test stack asks more often.
    '    healthcheck:',
    '      test: [CMD, dosync, health]',
    '      interval: 2s',
    '      timeout: 20s',
    '      retries: 5',
  ].join('\n');
}

function webService(image: string, extra: string[] = []): string {
  return [
    '  web:',
    `    image: ${image}`,
    ...extra,
    '    environment:',
    '      GREETING: ${GREETING}',
    '    volumes:',
    '      - ./data:/data:ro',
  ].join('\n');
}

const created: ComposeProject[] = [];
const images: string[] = [];

async function stack(text: string, env: string): Promise<ComposeProject> {
  const p = await ComposeProject.create(text, 'dsside');
  created.push(p);
  await writeFile(join(p.dir, '.env'), env);
  await mkdir(join(p.dir, 'data'));
  await writeFile(join(p.dir, 'data', 'hello.txt'), 'hello from the host\n');
  return p;
}

async function only(p: ComposeProject, service: string): Promise<string> {
  const ids = await p.containers(service);
  assert.equal(ids.length, 1, `one ${service} container: ${ids.join(', ')}`);
  return ids[0];
}

/** The last log messages (without the registry request lines), for a failure message. */
function recent(log: Array<Record<string, unknown>>): string {
  return log.filter((l) => l.msg !== 'registry request').slice(-10).map((l) => `${l.service ? `${String(l.service)}: ` : ''}${String(l.msg)}`).join('; ');
}

/** Milliseconds between the first log line matching `from` and the first after it matching `to`. */
function between(log: Array<Record<string, unknown>>, from: (l: Record<string, unknown>) => boolean, to: (l: Record<string, unknown>) => boolean): number | undefined {
  const start = log.findIndex(from);
  if (start < 0) return undefined;
  const end = log.slice(start).find(to);
  return end ? Number(end.time) - Number(log[start].time) : undefined;
}

describe('dosync as a container in the stack (sidecar)', () => {
  before(async () => {
    await ensureDosyncImage();
  });
  after(async () => {
    for (const p of created) {
      const helpers = await sh('docker', ['ps', '-aq', '--filter', `label=dosync.self-update.project=${p.name}`]).catch(() => '');
      if (helpers) await sh('docker', ['rm', '-f', ...helpers.split('\n')]).catch(() => undefined);
      await p.destroy();
    }
    await removeImages(images);
  });

  test('updates another service; relative bind mounts and .env variables resolve on the host, the file on the host is rewritten', async () => {
    const u = unique('it/side');
    const web = `${REGISTRY}/${u}/web`;
    const dosyncImage = await pushDosyncImage(`${u}/dosync`, '1.0.0', { keepLocal: true });
    images.push(dosyncImage, `${web}:1.0.0`, `${web}:1.1.0`);
    await pushImage(`${u}/web`, '1.0.0', { version: '1.0.0', healthcheck: true });
    // As DOSync's README mounts it: the compose file and the backups dir; the project's .env too, so dosync reads the variables compose will use.
    const original = `services:\n${webService(`${web}:1.0.0`)}\n${dosyncService(dosyncImage, [
      './docker-compose.yml:/app/docker-compose.yml', './.env:/app/.env', './backups:/app/backups',
    ])}\n`;
    const p = await stack(original, 'GREETING=from-the-host-at-start\n');
    await p.up();
    const sidecar = await only(p, 'dosync');
    const before = await only(p, 'web');

    // The new tag appears and the host's .env changes: the recreated web must show both.
    await writeFile(join(p.dir, '.env'), 'GREETING=changed-on-the-host\n');
    await pushImage(`${u}/web`, '1.1.0', { version: '1.1.0', healthcheck: true });
    const webId = await waitFor('web on 1.1.0 and healthy', async () => {
      const [id] = await p.containers('web');
      const c = id && id !== before ? await inspectContainer(id) : undefined;
      return c?.image === `${web}:1.1.0` && c.health === 'healthy' ? id : undefined;
    }, undefined, async () => recent(await containerLog(sidecar)));

    const c = await inspectContainer(webId);
    assert.deepEqual(await p.versions('web'), ['1.1.0']);
    assert.ok(c.env.includes('GREETING=changed-on-the-host'), `the variable comes from the host's .env: ${c.env.join(' ')}`);
    const data = c.mounts.find((m) => m.Destination === '/data');
    assert.equal(data?.Source, join(p.dir, 'data'), 'the relative bind mount resolves in the host project directory, not in /app');
    assert.equal(await sh('docker', ['exec', webId, 'cat', '/data/hello.txt']), 'hello from the host');
    const labels = JSON.parse(await sh('docker', ['inspect', '-f', '{{json .Config.Labels}}', webId])) as Record<string, string>;
    assert.equal(labels['com.docker.compose.project'], p.name);
    assert.equal(labels['com.docker.compose.project.working_dir'], p.dir);

    assert.equal(await readFile(p.file, 'utf8'), original.replace(`${web}:1.0.0`, `${web}:1.1.0`), 'only the image line changed, in the host file');
    const backups = (await readdir(join(p.dir, 'backups'))).filter((b) => b.startsWith('docker-compose.yml.') && b.endsWith('.bak'));
    assert.equal(backups.length, 1, `one backup: ${backups.join(', ')}`);
    assert.equal(await readFile(join(p.dir, 'backups', backups[0]), 'utf8'), original);

    const side = await inspectContainer(sidecar);
    assert.equal(side.status, 'running', 'the dosync container keeps running');
    assert.deepEqual(await p.containers('dosync'), [sidecar]);

    // The health gate polls: dosync may log "updated" a moment after the container turned healthy.
    const log = await waitFor('dosync to log the update', async () => {
      const lines = await containerLog(sidecar);
      return lines.some((l) => l.service === 'web' && l.msg === 'updated') ? lines : undefined;
    });
    const ms = between(log, (l) => l.service === 'web' && String(l.msg).startsWith('updating'), (l) => l.service === 'web' && l.msg === 'updated');
    console.log(`# sidecar recreate-update of web (pull, rewrite, compose up, health gate): ${ms} ms`);
  });
  test('sync --once in the sidecar updates web but leaves its own service alone (a one-shot container would exit); state and lock name the host project', async () => {
    const u = unique('it/sideonce');
    const web = `${REGISTRY}/${u}/web`;
    const dosyncImage = await pushDosyncImage(`${u}/dosync`, '1.0.0', { keepLocal: true });
    const newer = await pushDosyncImage(`${u}/dosync`, '1.1.0', { lines: ['LABEL dosync.test.release=1.1.0'] });
    images.push(dosyncImage, newer, `${web}:1.0.0`, `${web}:1.1.0`);
    await pushImage(`${u}/web`, '1.0.0', { version: '1.0.0', healthcheck: true });
    await pushImage(`${u}/web`, '1.1.0', { version: '1.1.0', healthcheck: true });
    const service = dosyncService(dosyncImage, ['.:/app'])
      .replace('restart: unless-stopped', 'restart: "no"')
      .replace(/command: \[.*\]/, 'command: [sync, --once, -f, /app/docker-compose.yml, --health-stable, 2s, --health-timeout, 60s]');
    const original = `services:\n${webService(`${web}:1.0.0`)}\n${service}\n`;
    const p = await stack(original, 'GREETING=hi\n');
    // web first: a service that is not running yet when the one-shot cycle looks is left alone (its next start
    // would run an unchecked image). Then dosync, without `--wait`: the one-shot dosync exits, which --wait takes for a failure.
    await sh('docker', ['compose', '-p', p.name, '-f', p.file, 'up', '-d', '--wait', 'web'], { cwd: p.dir });
    await sh('docker', ['compose', '-p', p.name, '-f', p.file, 'up', '-d', 'dosync'], { cwd: p.dir });
    const sidecar = await only(p, 'dosync');
    const done = await waitFor('the one-shot dosync to exit', async () => {
      const c = await inspectContainer(sidecar);
      return c.status === 'exited' ? c : undefined;
    }, undefined, async () => recent(await containerLog(sidecar)));
    const log = await containerLog(sidecar);
    assert.equal(done.status, 'exited');
    assert.equal(await sh('docker', ['inspect', '-f', '{{.State.ExitCode}}', sidecar]), '0', recent(log));
    assert.deepEqual(await p.versions('web'), ['1.1.0']);
    const skip = log.find((l) => l.service === 'dosync' && /one-shot run \(--once\) does not update itself/.test(String(l.msg)));
    assert.ok(skip, `the own service is skipped with the reason: ${recent(log)}`);
    assert.equal(await readFile(p.file, 'utf8'), original.replace(`${web}:1.0.0`, `${web}:1.1.0`), 'only the image line of web changed');
    const state = JSON.parse(await readFile(join(p.dir, 'backups', 'state.json'), 'utf8')) as { services: Record<string, { failed?: unknown[] }> };
    assert.ok(state.services[`${p.name}/web`], `state keyed by the host project, not the container's /app: ${Object.keys(state.services).join(', ')}`);
    assert.ok(!Object.keys(state.services).some((k) => k.startsWith('app/')));
    assert.deepEqual(state.services[`${p.name}/dosync`]?.failed ?? [], [], 'its newer release is not marked failed');
  });

  test('self-update: dosync updates web, then hands its own update to a helper; the new dosync is healthy and confirms it', async () => {
    const u = unique('it/self');
    const web = `${REGISTRY}/${u}/web`;
    const dosyncRepo = `${REGISTRY}/${u}/dosync`;
    images.push(`${dosyncRepo}:1.0.0`, `${dosyncRepo}:1.1.0`, `${web}:1.0.0`, `${web}:1.1.0`);
    await pushDosyncImage(`${u}/dosync`, '1.0.0', { keepLocal: true });
    // Same program, another digest: what a new dosync release looks like to the registry.
    await pushDosyncImage(`${u}/dosync`, '1.1.0', { lines: ['LABEL dosync.test.release=1.1.0', 'ENV DOSYNC_TEST_RELEASE=1.1.0'] });
    await pushImage(`${u}/web`, '1.0.0', { version: '1.0.0', healthcheck: true });
    await pushImage(`${u}/web`, '1.1.0', { version: '1.1.0', healthcheck: true });
    // dosync is listed first: its own update must still come after web's in the cycle.
    // env_file: is read by compose itself, by the host path: dosync and the helper must both reach it.
    const original = `services:\n${dosyncService(`${dosyncRepo}:1.0.0`, ['.:/app'], ['    env_file: ./dosync.env'])}\n${webService(`${web}:1.0.0`, ['    env_file: ./web.env'])}\n`;
    const p = await stack(original, 'GREETING=hi\n');
    await writeFile(join(p.dir, 'web.env'), 'FROM_ENV_FILE=web\n');
    await writeFile(join(p.dir, 'dosync.env'), 'FROM_ENV_FILE=dosync\n');
    // web first: a service not running yet when dosync's first cycle looks is left alone (CI under load: the
    // old dosync's cycle saw no web container and the new dosync updated it), so the order is not left to chance.
    await p.compose(['up', '-d', '--wait', 'web']);
    await p.compose(['up', '-d', 'dosync']);
    const old = await only(p, 'dosync');

    const next = await waitFor('a new dosync container on 1.1.0 that confirmed its self-update', async () => {
      const [id] = await p.containers('dosync');
      if (!id || id === old) return undefined;
      const c = await inspectContainer(id);
      if (c.image !== `${dosyncRepo}:1.1.0` || c.health !== 'healthy') return undefined;
      const confirmed = (await containerLog(id)).find((l) => l.msg === `self-update to ${dosyncRepo}:1.1.0 confirmed`);
      return confirmed ? { id, confirmed } : undefined;
    }, undefined, async () => (await Promise.all((await p.containers('dosync')).map(async (id) => recent(await containerLog(id))))).join(' | '));

    assert.equal((await inspectContainer(next.id)).status, 'running');
    assert.deepEqual(await p.containers('dosync'), [next.id], 'one dosync container: the new one');
    assert.equal(await sh('docker', ['inspect', '-f', '{{index .Config.Labels "dosync.test.release"}}', next.id]), '1.1.0');
    // On failure, say what the old dosync recorded for web (its container is gone with the self-update).
    const webHistory = async () => readFile(join(p.dir, 'backups', 'state.json'), 'utf8').then((t) => JSON.stringify((JSON.parse(t) as { services: Record<string, unknown> }).services[`${p.name}/web`]), (err: Error) => err.message);
    assert.deepEqual(await p.versions('web'), ['1.1.0'], `web's state: ${await webHistory()}`);
    assert.ok((await inspectContainer(next.id)).env.includes('FROM_ENV_FILE=dosync'), 'the helper read the env_file by its host path');
    assert.ok((await inspectContainer((await p.containers('web'))[0])).env.includes('FROM_ENV_FILE=web'), 'dosync read the env_file by its host path');
    const newLog = await containerLog(next.id);
    assert.equal(newLog.some((l) => l.service === 'web' && String(l.msg).startsWith('updating')), false, 'web was updated by the old dosync, before it handed itself over');
    assert.equal(await readFile(p.file, 'utf8'), original.replace(`${dosyncRepo}:1.0.0`, `${dosyncRepo}:1.1.0`).replace(`${web}:1.0.0`, `${web}:1.1.0`));

    const state = JSON.parse(await readFile(join(p.dir, 'backups', 'state.json'), 'utf8')) as { services: Record<string, { history: Array<{ to: string; outcome: string }>; failed: unknown[] }> };
    // The first test's stack still runs, its web labelled with the same in-container path /app/docker-compose.yml:
    // only this stack's project may appear.
    assert.deepEqual(Object.keys(state.services).sort(), [`${p.name}/dosync`, `${p.name}/web`]);
    assert.deepEqual(state.services[`${p.name}/web`].history.map((h) => [h.to, h.outcome]), [[`${web}:1.1.0`, 'updated']]);
    const own = state.services[`${p.name}/dosync`];
    assert.deepEqual(own.history.map((h) => [h.to, h.outcome]), [[`${dosyncRepo}:1.1.0`, 'updated']]);
    assert.deepEqual(own.failed, []);
    await waitFor('the helper container to be gone', async () => ((await sh('docker', ['ps', '-aq', '--filter', `label=dosync.self-update.project=${p.name}`])) === '' ? true : undefined));
    await assert.rejects(readFile(join(p.dir, 'backups', 'self-update.json')), { code: 'ENOENT' }, 'the record is consumed');
    console.log(`# self-update (helper start, compose up of dosync, new dosync healthy): ${String(next.confirmed.durationMs)} ms`);
  });

  test('self-update to a release that exits at once: the helper puts the old dosync back, the tag is recorded as failed and not retried', async () => {
    const u = unique('it/selfbad');
    const web = `${REGISTRY}/${u}/web`;
    const dosyncRepo = `${REGISTRY}/${u}/dosync`;
    images.push(`${dosyncRepo}:1.0.0`, `${dosyncRepo}:1.2.0`, `${web}:1.0.0`);
    await pushDosyncImage(`${u}/dosync`, '1.0.0', { keepLocal: true });
    await pushDosyncImage(`${u}/dosync`, '1.2.0', { lines: ['LABEL dosync.test.release=broken', 'ENTRYPOINT ["sh", "-c", "echo this release is broken >&2; exit 3"]'] });
    await pushImage(`${u}/web`, '1.0.0', { version: '1.0.0', healthcheck: true });
    const original = `services:\n${webService(`${web}:1.0.0`)}\n${dosyncService(`${dosyncRepo}:1.0.0`, ['.:/app'])}\n`;
    const p = await stack(original, 'GREETING=hi\n');
    await p.compose(['up', '-d']);
    const first = await only(p, 'dosync');

    const failedMsg = `self-update to ${dosyncRepo}:1.2.0 failed`;
    const back = await waitFor('dosync back on 1.0.0, having recorded the failed self-update', async () => {
      const [id] = await p.containers('dosync');
      if (!id || id === first) return undefined;
      const c = await inspectContainer(id);
      if (c.image !== `${dosyncRepo}:1.0.0` || c.health !== 'healthy') return undefined;
      return (await containerLog(id)).some((l) => String(l.msg).startsWith(failedMsg)) ? id : undefined;
    }, undefined, async () => (await Promise.all((await p.containers('dosync')).map(async (id) => recent(await containerLog(id))))).join(' | '));

    assert.equal(await readFile(p.file, 'utf8'), original, 'the compose file is as before');
    const line = (await containerLog(back)).find((l) => String(l.msg).startsWith(failedMsg));
    // The helper's verdict names the cause; if the helper's record was lost, the old dosync's own verdict says so.
    // (Seen once in CI, cause not found: the helper's logs go with its container.) The outcome is asserted either way.
    assert.match(String(line?.msg), /exited with code 3|restarting|the self-update helper stopped before it finished/);
    assert.match(String(line?.msg), new RegExp(`rolled back to ${dosyncRepo}:1.0.0`.replace(/[.]/g, '\\.')));
    const state = JSON.parse(await readFile(join(p.dir, 'backups', 'state.json'), 'utf8')) as { services: Record<string, { failed: Array<{ tag: string }>; history: Array<{ outcome: string }> }> };
    const own = state.services[`${p.name}/dosync`];
    assert.deepEqual(own.failed.map((f) => f.tag), ['1.2.0']);
    assert.deepEqual(own.history.map((h) => h.outcome), ['rolled-back']);

    // Two more cycles: 1.2.0 is not tried again, the same container keeps running.
    const cyclesAfter = async () => {
      const log = await containerLog(back);
      return log.slice(log.findIndex((l) => String(l.msg).startsWith(failedMsg))).filter((l) => l.msg === 'cycle done').length;
    };
    await waitFor('two more cycles', async () => ((await cyclesAfter()) >= 3 ? true : undefined));
    const log = await containerLog(back);
    assert.equal(log.some((l) => l.service === 'dosync' && String(l.msg).startsWith('updating')), false, 'no second attempt');
    assert.deepEqual(await p.containers('dosync'), [back]);
    assert.equal((await inspectContainer(back)).status, 'running');
    assert.equal(await sh('docker', ['ps', '-aq', '--filter', `label=dosync.self-update.project=${p.name}`]), '', 'no helper left');
    assert.equal(await readFile(p.file, 'utf8'), original);
  });
});
