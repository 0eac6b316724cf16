/**
 * The mirror daemon against real registries: cycles repeat on the task's interval and serve
 * /metrics; a stop signal ends it with 0; a cycle that reaches maxErrors ends it with 1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/util/logger.js';
import { mirrorCommand, parseMirrorConfig } from '../../src/mirror/index.js';
import { freePort } from '../helpers/token-server.js';
import { pushMultiPlatform, setupClient, startRegistry, type MultiPlatformImage, type TestRegistry } from '../helpers/mirror-registries.js';

let src: TestRegistry;
let dst: TestRegistry;
let web: MultiPlatformImage;

before(async () => {
  src = await startRegistry();
  dst = await startRegistry();
  web = await pushMultiPlatform(src, 'daemon/web', '1.0.0', `d${process.pid.toString(36)}${Date.now().toString(36)}`);
});

after(async () => {
  await src?.stop();
  await dst?.stop();
});

/** A logger whose lines are kept, with a way to wait for the n-th line matching a pattern. */
function watchedLogger() {
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; n: number; resolve: () => void }> = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (lines.filter((l) => w.re.test(l)).length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      check();
      done();
    },
  });
  return {
    lines,
    logger: createLogger({ destination: sink }),
    seen: (re: RegExp, n: number) => new Promise<void>((resolve) => {
      waiters.push({ re, n, resolve });
      check();
    }),
  };
}

test('cycles repeat on the interval, /metrics counts them, a stop signal exits 0', async () => {
  const config = parseMirrorConfig(`
tasks:
  - name: every-50ms
    interval: 50ms
    source: ${src.host}/daemon
    target: ${dst.host}/copy
    images: [{ from: web, tags: ['1.0.0'] }]
`, 'mirror.yaml');
  const port = await freePort();
  const w = watchedLogger();
  const controller = new AbortController();
  const done = mirrorCommand({ config, env: {}, logger: w.logger, once: false, dryRun: false, listen: `127.0.0.1:${port}`, signal: controller.signal });
  await w.seen(/every-50ms: copied 0, up to date 1/, 2);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /dosync_mirror_images_total\{task="every-50ms",result="copied"\} 1\n/);
  assert.match(metrics, /dosync_mirror_images_total\{task="every-50ms",result="skipped"\} [2-9]/);
  assert.match(metrics, /dosync_mirror_last_success_timestamp_seconds\{task="every-50ms"\} \d/);
  // The OCI client reports its requests on the same endpoint.
  assert.match(metrics, new RegExp(`dosync_registry_requests_total\\{registry="${dst.host.replace(/\./g, '\\.')}",kind="manifest",status="200"\\} [1-9]`));
  assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  controller.abort();
  assert.equal(await done, 0);
  assert.equal(w.lines.filter((l) => /every-50ms: copied 1, up to date 0/.test(l)).length, 1, 'copied once, then only checked');
  assert.equal((await setupClient(dst).headManifest({ registry: dst.host, repository: 'copy/web' }, '1.0.0'))?.digest, web.indexDigest);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`), 'the metrics server is closed on exit');
});

test('a cycle that reaches maxErrors ends the daemon with exit code 1', async () => {
  const config = parseMirrorConfig(`
tasks:
  - name: broken
    interval: 1h
    maxErrors: 2
    parallel: 1
    source: ${src.host}/daemon
    target: ${dst.host}/broken
    images: [{ from: web, tags: ['nope-1', 'nope-2', 'nope-3'] }]
`, 'mirror.yaml');
  const w = watchedLogger();
  const code = await mirrorCommand({ config, env: {}, logger: w.logger, once: false, dryRun: false, signal: new AbortController().signal });
  assert.equal(code, 1);
  assert.ok(w.lines.some((l) => /2 failures reached maxErrors \(2\)/.test(l)), w.lines.join('\n'));
});
