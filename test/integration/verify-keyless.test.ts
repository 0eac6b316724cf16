/**
 * Keyless verification (issue 21) with trust material made here: Fulcio and Rekor cannot be reached, so a local
 * test CA issues the certificates and a local log key signs the entry timestamps (test/helpers/sigstore-fixtures.ts);
 * dosync checks them offline against a trusted_root.json naming both, as it would the public Sigstore root.
 * Not testable offline: certificates from the real Fulcio, SCTs from its CT log, entries in the real Rekor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { ComposeProject, pushImage, unique, dosync, REGISTRY, sh } from '../helpers/docker.js';
import { digestOf } from '../helpers/cosign.js';
import { issueLeaf, makeCa, makeLog, signKeyless, trustedRoot } from '../helpers/sigstore-fixtures.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/org/app/.github/workflows/release.yml@refs/heads/main';

test('keyless: certificate chain to the trusted root, identity issuer/subject_regexp, Rekor inclusion promise', async () => {
  const [ca, rogue] = await Promise.all([makeCa('i21-fulcio'), makeCa('i21-rogue')]);
  const log = makeLog();
  const repo = unique('i21-keyless');
  const ref = { registry: REGISTRY, repository: repo };
  for (const v of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) await pushImage(repo, v, { version: v });
  const digest = async (v: string) => digestOf(REGISTRY, repo, v);
  const who = { subject: SUBJECT, issuer: ISSUER };
  // 1.1.0: a certificate from a CA the root does not list; 1.2.0: genuine; 1.3.0: genuine certificate, forged SET.
  await signKeyless(ref, await digest('1.1.0'), await issueLeaf(rogue, who), rogue, log);
  await signKeyless(ref, await digest('1.2.0'), await issueLeaf(ca, who), ca, log);
  await signKeyless(ref, await digest('1.3.0'), await issueLeaf(ca, who), ca, log, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n`, 'i21-');
  try {
    await p.up();
    const root = join(p.dir, 'trusted_root.json');
    await writeFile(root, trustedRoot([ca], log));
    const cfg = (regexp: string) => `verify:\n  cosign:\n    keyless:\n      trusted_root: ${root}\n      identities:\n        - issuer: ${ISSUER}\n          subject_regexp: '${regexp}'\n`;
    await writeFile(join(p.dir, 'ok.yaml'), cfg('^https://github.com/org/.+'));
    await writeFile(join(p.dir, 'other.yaml'), cfg('^https://github.com/other/'));

    const ok = await dosync(['check', '-f', p.file, '-c', join(p.dir, 'ok.yaml'), '--explain']);
    assert.equal(ok.code, 10, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /web\s+1\.0\.0\s+1\.2\.0/);
    assert.match(ok.stdout, /passed over 1\.3\.0: keyless signature refused: inclusion promise could not be verified/);

    const other = await dosync(['check', '-f', p.file, '-c', join(p.dir, 'other.yaml'), '--explain']);
    assert.equal(other.code, 0, other.stdout + other.stderr);
    assert.match(other.stdout, new RegExp(`passed over 1\\.2\\.0: signed by ${SUBJECT.replace(/[.?]/g, '\\$&')} \\(issuer ${ISSUER.replace(/\./g, '\\.')}\\), not an allowed identity`));
    assert.match(other.stdout, /passed over 1\.1\.0: keyless signature refused: .*certificate/i);

    const r = await dosync(['sync', '-f', p.file, '-c', join(p.dir, 'ok.yaml'), '--once', '--health-stable', '1s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await p.versions('web'), ['1.2.0']);
    const cfgImage = (JSON.parse(await p.compose(['config', '--format', 'json'])) as { services: { web: { image: string } } }).services.web.image;
    for (const id of await p.containers('web')) assert.equal(await sh('docker', ['inspect', '-f', '{{.Config.Image}}', id]), cfgImage);
  } finally {
    await p.destroy();
  }
});
