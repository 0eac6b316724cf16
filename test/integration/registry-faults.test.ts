/**
 * Issue 15, findings 1, 2 and 7, in the registry client: every wait and every buffer has a bound, whatever
 * a registry does. The registries here are fault fixtures (test/helpers/fault-registry.ts): local HTTP
 * servers that drip, stall, loop, grow and flood on purpose, because no real registry does. Limits are set
 * small so that each bound is reached quickly; what is asserted is which bound ended the listing and what
 * it left behind, not how long it took.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry/client.js';
import { RegistryError } from '../../src/util/errors.js';
import { startFaultRegistry, type Fault, type FaultOptions, type FaultRegistry } from '../helpers/fault-registry.js';

const started: FaultRegistry[] = [];
after(async () => {
  for (const f of started) await f.stop();
});

async function faulty(fault: Fault, opts: FaultOptions = {}): Promise<FaultRegistry> {
  const f = await startFaultRegistry(fault, opts);
  started.push(f);
  return f;
}

const client = (opts: RegistryClientOptions = {}) => new RegistryClient({ hubRateLimit: false, retries: 0, ...opts });

async function registryError(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RegistryError, `a RegistryError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the listing to fail');
}

/** Polls until `probe` holds (a hang guard of 30 s, not a speed limit). */
async function until(what: string, probe: () => boolean): Promise<void> {
  for (const giveUp = Date.now() + 30_000; !probe();) {
    if (Date.now() > giveUp) assert.fail(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('registry client under fault fixtures (issue 15)', () => {
  test('a registry that drips its tag list a byte at a time is ended by the request deadline; another registry listed beside it is answered first', async () => {
    const drip = await faulty('drip', { dripMs: 200 });
    const good = await faulty('healthy', { tags: ['1.0.0', '2.0.0'] });
    // The idle timeout (silence between bytes) is far above the drip interval: only a total deadline can end it.
    const c = client({ timeoutMs: 10_000, requestDeadlineMs: 1500 });
    const order: string[] = [];
    const dripping = registryError(c.listTags({ registry: drip.host, repository: 'i15/drip' }).finally(() => order.push('drip')));
    const tags = await c.listTags({ registry: good.host, repository: 'i15/good' }).finally(() => order.push('good'));
    const err = await dripping;
    assert.deepEqual(tags, ['1.0.0', '2.0.0']);
    assert.deepEqual(order, ['good', 'drip']);
    assert.equal(err.code, 'timeout');
    assert.match(err.message, new RegExp(`^${drip.host}/i15/drip: ${drip.host} did not finish its answer within 1500 ms`));
    await until('the fixture to see the connection dropped', () => drip.abandoned === 1);
  });

  test('a drip-feeding registry holds its own concurrency slots only: with one slot per host, a second repository of the healthy host is not held up', async () => {
    const drip = await faulty('drip', { dripMs: 200 });
    const good = await faulty('healthy');
    const c = client({ concurrencyPerRegistry: 1, requestDeadlineMs: 1500 });
    const dripping = registryError(c.listTags({ registry: drip.host, repository: 'i15/a' }));
    const both = await Promise.all([c.listTags({ registry: good.host, repository: 'i15/x' }), c.listTags({ registry: good.host, repository: 'i15/y' })]);
    assert.deepEqual(both, [['1.0.0', '1.1.0'], ['1.0.0', '1.1.0']]);
    assert.equal(drip.abandoned, 0, 'the drip was still being answered when the healthy host had answered twice');
    assert.equal((await dripping).code, 'timeout');
  });

  test('a listing whose pages each arrive in time but never end is ended by the listing deadline, with one line saying it is retried', async () => {
    const slow = await faulty('slow-pages', { pageDelayMs: 300 });
    const c = client({ tagListDeadlineMs: 1200 });
    const err = await registryError(c.listTags({ registry: slow.host, repository: 'i15/slow' }));
    assert.equal(err.code, 'timeout');
    assert.match(err.message, /^127\.0\.0\.1:\d+\/i15\/slow: the tag list was not read within 1 s \(the registry answers too slowly\); it is tried again next cycle$/);
    assert.ok(slow.tagRequests >= 2 && slow.tagRequests < 200, `stopped between pages (${slow.tagRequests} requests)`);
  });

  test('an endless page is cut at the listing byte budget: the client stops reading, nothing of it is kept', async () => {
    const flood = await faulty('flood');
    const c = client({ tagListMaxBytes: 1024 * 1024 });
    const err = await registryError(c.listTags({ registry: flood.host, repository: 'i15/flood' }));
    assert.equal(err.code, 'too-large');
    assert.match(err.message, /the tag list is larger than 1 MiB \(limits\.tag_list_max_mib in dosync\.yaml\); raise it if this repository really is that large$/);
    await until('the fixture to see the connection dropped', () => flood.abandoned === 1);
  });

  test('the byte budget spans pages: Link pages that keep growing end at the budget, long before the page cap', async () => {
    const grow = await faulty('grow', { pageTags: 20_000 });
    const c = client({ tagListMaxBytes: 2 * 1024 * 1024 });
    const err = await registryError(c.listTags({ registry: grow.host, repository: 'i15/grow' }));
    assert.equal(err.code, 'too-large');
    assert.match(err.message, /larger than 2 MiB/);
    // A page of 20,000 tags is ~240 KB: the budget ends it after about 9 pages; the 200-page cap never comes into it.
    assert.ok(grow.tagRequests < 20, `${grow.tagRequests} pages read`);
  });

  test('large listings are read one at a time: a second large list waits for the first (small ones never do), then is read whole', async () => {
    // ~1.5 MB pages, past the 1 MiB mark of a large listing; the holder's second page comes only after a minute.
    const holder = await faulty('slow-pages', { pageTags: 100_000, pageDelayMs: 60_000 });
    const big = await faulty('healthy', { tags: Array.from({ length: 100_000 }, (_, i) => `1.${Math.floor(i / 1000)}.${i % 1000}`) });
    const small = await faulty('healthy');
    const c = client({ largeTagListBytes: 1024 * 1024 });
    const stop = new AbortController();
    const order: string[] = [];
    const holding = registryError(c.bounded(stop.signal).listTags({ registry: holder.host, repository: 'i15/holder' }).finally(() => order.push('holder')));
    // Page 1 read as a small listing (cut at 1 MiB), again as the large one, then page 2 is pending.
    await until('the holder to wait for its second page', () => holder.tagRequests === 3);
    const waiting = c.listTags({ registry: big.host, repository: 'i15/big' }).finally(() => order.push('big'));
    await until('the big list to be cut at the mark', () => big.tagRequests === 1);
    assert.deepEqual(await c.listTags({ registry: small.host, repository: 'i15/small' }), ['1.0.0', '1.1.0'], 'a small list is not held up');
    assert.deepEqual(order, [], 'the big list waits for the large listing before it');
    stop.abort(new RegistryError('cycle over', { code: 'timeout' }));
    assert.equal((await holding).code, 'timeout');
    assert.equal((await waiting).length, 100_000);
    assert.deepEqual(order, ['holder', 'big']);
    assert.equal(big.tagRequests, 2, 'asked again, whole, once its turn came');
  });

  test('a looping Link header is refused at its first repeat', async () => {
    const loop = await faulty('loop');
    const err = await registryError(client().listTags({ registry: loop.host, repository: 'i15/loop' }));
    assert.equal(err.code, 'invalid');
    assert.match(err.message, /next-page link loops back/);
    assert.equal(loop.tagRequests, 2);
  });

  test('tags that are not valid tags (control characters, 5,000 digits, a newline) are dropped before any policy ranks them', async () => {
    const bad = await faulty('bad-tags');
    const tags = await client().listTags({ registry: bad.host, repository: 'i15/bad' });
    assert.deepEqual(tags, ['1.0.0', '1.0.1']);
  });

  test('an oversized WWW-Authenticate header is reported as such, not as a registry that cannot be reached', async () => {
    const huge = await faulty('huge-header');
    const err = await registryError(client().listTags({ registry: huge.host, repository: 'i15/huge' }));
    assert.equal(err.code, 'invalid');
    assert.doesNotMatch(err.message, /cannot reach/);
    assert.match(err.message, /response headers too large to read/);
  });

  test('abort() ends a request stuck in I/O at once with code stopped, and refuses new ones', async () => {
    const drip = await faulty('drip');
    const stall = await faulty('stall');
    const c = client();
    const dripping = registryError(c.listTags({ registry: drip.host, repository: 'i15/d' }));
    const stalled = registryError(c.listTags({ registry: stall.host, repository: 'i15/s' }));
    await Promise.all([drip.listing(), stall.listing()]);
    c.abort();
    for (const err of [await dripping, await stalled]) {
      assert.equal(err.code, 'stopped');
      assert.match(err.message, /stopped: dosync is shutting down/);
    }
    await until('both fixtures to see their connections closed', () => drip.openConnections() === 0 && stall.openConnections() === 0);
    assert.equal((await registryError(c.listTags({ registry: drip.host, repository: 'i15/again' }))).code, 'stopped');
  });

  test('a cycle deadline (bounded view) ends the requests of that cycle only; the client itself goes on', async () => {
    const stall = await faulty('stall');
    const good = await faulty('healthy');
    const c = client();
    const deadline = new AbortController();
    const view = c.bounded(deadline.signal);
    const stalled = registryError(view.listTags({ registry: stall.host, repository: 'i15/s' }));
    await stall.listing();
    deadline.abort(new RegistryError('the cycle\'s registry deadline of 1 s passed', { code: 'timeout' }));
    const err = await stalled;
    assert.equal(err.code, 'timeout');
    assert.match(err.message, /cycle's registry deadline/);
    assert.deepEqual(await c.listTags({ registry: good.host, repository: 'i15/after' }), ['1.0.0', '1.1.0']);
  });
});
