/**
 * `dosync check` on a 12-service stack as a user reads it: fitted to 80 and 100 columns, short policy names,
 * statuses worded once, a locally built image not checked, no control characters; held updates exit 10.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, dosync, sh, REGISTRY } from '../helpers/docker.js';
import { buildFromBase } from '../helpers/registry-images.js';

// Raw control characters a user never wants sent to the terminal.
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

test('check on 12 services fits 80 and 100 columns; --wide and --format json say everything', async () => {
  const repo = unique('i19/check');
  for (const v of ['1.0.0', '1.0.1', '1.3.0', '2.0.0', 'latest']) await pushImage(repo, v, { version: v });
  const b = unique('i19/build');
  for (const v of ['b-1', 'b-7', 'b-12']) await pushImage(b, v, { version: v });
  // Built here, named without a registry: no registry has it.
  const local = `${unique('i19local')}:dev`;
  await buildFromBase(local, ['ENV APP_VERSION=local']);
  const img = (tag: string, r = repo) => `${REGISTRY}/${r}:${tag}`;
  const text = [
    'services:',
    `  web:\n    image: ${img('1.0.0')}`,
    `  api:\n    image: ${img('1.3.0')}`,
    `  worker-with-a-long-name:\n    image: ${img('1.0.0')}\n    labels: ["dosync.policy=semver:>=1 <2"]`,
    `  major:\n    image: ${img('1.0.0')}\n    labels: ["dosync.policy=semver:>=1"]`,
    `  pinned:\n    image: ${img('1.0.0')}\n    labels: [dosync.enable=false]`,
    `  watchtower-off:\n    image: ${img('1.0.0')}\n    labels: [com.centurylinklabs.watchtower.enable=false]`,
    `  edge:\n    image: ${img('latest')}`,
    `  patch-only:\n    image: ${img('1.0.0')}\n    labels: [dosync.update=patch]`,
    `  digest-only:\n    image: ${img('1.0.0')}\n    labels: [dosync.update=digest]`,
    `  builds:\n    image: ${img('b-7', b)}\n    labels:\n      dosync.policy: "numerical:desc"\n      dosync.tag.include: "^b-(?P<n>\\\\d+)$"\n      dosync.tag.extract: "$$n"`,
    `  homemade:\n    image: ${local}`,
    // An escape sequence in a label: it reaches the policy text and must be shown, not sent to the terminal.
    `  odd:\n    image: ${img('1.0.0')}\n    labels:\n      dosync.tag.exclude: "\\e\\\\[2J"`,
    '',
  ].join('\n');
  const p = await ComposeProject.create(text, 'i19chk');
  try {
    await p.up();
    const at = async (columns: string, extra: string[] = []) => {
      const r = await dosync(['check', '-f', p.file, ...extra], { env: { COLUMNS: columns } });
      assert.equal(r.code, 10, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, CONTROL);
      return r.stdout;
    };
    for (const width of [80, 100]) {
      const out = await at(String(width));
      console.log(`# check at ${width} columns:\n${out.replace(/^/gm, '# ')}`);
      const table = out.split('\n\n')[0].split('\n');
      assert.equal(table.length, 13, out);
      for (const line of table) assert.ok([...line].length <= width, `${[...line].length} > ${width}: ${line}`);
      const row = (name: string) => table.find((l) => l.startsWith(`${name} `)) ?? assert.fail(`no row ${name}:\n${out}`);
      assert.match(row('web'), /1\.0\.0\s+1\.3\.0\s+same-major\s.*update available$/);
      assert.match(row('api'), /1\.3\.0\s+1\.3\.0\s+same-major\s.*up to date$/);
      assert.match(row('worker-with-a-long-name'), /semver >=1 <2/);
      assert.match(row('major'), /2\.0\.0\s+semver >=1\s/);
      // A status too long for its column is shortened there and printed whole below the table.
      assert.match(row('pinned'), /disabled\s+(label\s+.*)?updates disabled/);
      assert.match(out, /^ {2}pinned: updates disabled \(label dosync\.enable\)$|^pinned .*updates disabled \(label dosync\.enable\)$/m);
      assert.match(row('edge'), /latest\s+latest\s+digest\s/);
      assert.match(row('patch-only'), /1\.0\.1\s+patch\s/);
      assert.match(row('digest-only'), /\sdigest\s/);
      assert.match(row('builds'), /b-12\s+numerical \+include/);
      assert.match(row('homemade'), /local image, not/);
      assert.match(out, /homemade.*: local image, not checked$|^homemade .*local image, not checked$/m);
      assert.doesNotMatch(out, /disabled \(updates disabled/);
    }
    // 100 columns have room for SOURCE: a label-disabled service owes it to its label.
    const wide100 = (await at('100')).split('\n');
    assert.match(wide100.find((l) => l.startsWith('pinned '))!, /\slabel\s/);

    const wide = await at('80', ['--wide']);
    assert.match(wide, /default: newest version of the same tag shape within the current major/);
    assert.match(wide, /digest of the current tag \(latest is not a version/);
    assert.match(wide, /\\x1b/, 'the escape is shown as text');
    assert.match(wide.split('\n')[0], /^SERVICE\s+CURRENT\s+NEWEST\s+POLICY\s+SOURCE\s+REGISTRY\s+STATUS$/);

    const json = await dosync(['check', '-f', p.file, '--format', 'json']);
    assert.equal(json.code, 10, json.stderr);
    const services = (JSON.parse(json.stdout) as { services: Array<{ service: string; source: string; status: string; reason: string; policyShort: string }> }).services;
    const by = Object.fromEntries(services.map((s) => [s.service, s]));
    assert.deepEqual([by.pinned.source, by.pinned.status, by.pinned.reason], ['label', 'skipped', 'updates disabled (label dosync.enable)']);
    assert.deepEqual([by['watchtower-off'].source, by['watchtower-off'].reason], ['label', 'updates disabled (label com.centurylinklabs.watchtower.enable)']);
    assert.deepEqual([by.homemade.status, by.homemade.reason], ['skipped', 'local image, not checked']);
    assert.equal(by.edge.policyShort, 'digest');
  } finally {
    await p.destroy();
    await sh('docker', ['rmi', local]).catch(() => undefined);
  }
});

test('updates held by a maintenance window or a pause exit 10 and say held until when', async () => {
  const repo = unique('i19/held');
  for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v });
  const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n  api:\n    image: ${REGISTRY}/${repo}:1.0.0\n`, 'i19held');
  try {
    await p.up();
    // A one-minute window 12 hours from now: never open while the test runs.
    const h = (new Date().getUTCHours() + 12) % 24;
    const window = `${String(h).padStart(2, '0')}:00-${String(h).padStart(2, '0')}:01`;
    const config = join(p.dir, 'dosync.yaml');
    await writeFile(config, `timezone: UTC\nservices:\n  web:\n    maintenance_window: "${window}"\n  api:\n    paused: true\n`);
    const r = await dosync(['check', '-f', p.file, '-c', config], { env: { COLUMNS: '200' } });
    assert.equal(r.code, 10, r.stdout + r.stderr);
    const web = r.stdout.split('\n').find((l) => l.startsWith('web '))!;
    assert.match(web, /1\.1\.0\s.*held until \d{4}-\d\d-\d\d \d\d:00 UTC \(outside the maintenance window/);
    const api = r.stdout.split('\n').find((l) => l.startsWith('api '))!;
    assert.match(api, /held \(.*paused/);
    const json = JSON.parse((await dosync(['check', '-f', p.file, '-c', config, '--json'])).stdout) as { services: Array<{ service: string; heldUntil: string | null }> };
    assert.match(json.services.find((s) => s.service === 'web')!.heldUntil ?? '', /^\d{4}-\d\d-\d\dT\d\d:00:00\.000Z$/);
  } finally {
    await p.destroy();
  }
});
