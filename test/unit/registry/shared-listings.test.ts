import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listingUses, shareListings } from '../../../src/registry/shared-listings.js';
import type { RegistryClient } from '../../../src/registry/client.js';
import type { RepositoryRef } from '../../../src/registry/types.js';

/** A client whose listings end at once and are counted (the in-flight sharing of the real one plays no part here). */
function countingClient(): { client: RegistryClient; listed: string[] } {
  const listed: string[] = [];
  const client = { listTags: async (repo: RepositoryRef) => { listed.push(repo.repository); return [`${repo.repository}-1.0`]; } } as unknown as RegistryClient;
  return { client, listed };
}
const nginx = { registry: 'docker.io', repository: 'library/nginx' };
const worker = { registry: 'ghcr.io', repository: 'acme/worker' };

test('listingUses counts the services of each repository; an image that does not parse counts for nothing', () => {
  assert.deepEqual(listingUses(['nginx:1.25', 'docker.io/library/nginx:1.27', 'ghcr.io/acme/worker:2', undefined, 'Not A Ref!']),
    new Map([['docker.io/library/nginx', 2], ['ghcr.io/acme/worker', 1]]));
});

test('services of one repository asking one after another get the one listing; a repository of one service keeps nothing', async () => {
  const { client, listed } = countingClient();
  const view = shareListings(client, listingUses(['nginx:1.25', 'nginx:1.26', 'nginx:1.27', 'ghcr.io/acme/worker:2']));
  for (let i = 0; i < 3; i++) assert.deepEqual(await view.listTags(nginx), ['library/nginx-1.0']);
  await view.listTags(worker);
  assert.deepEqual(listed, ['library/nginx', 'acme/worker'], 'one listing each, though nginx was asked three times in turn');
  // Its three askers have had it: a fourth ask (a forced update's unit member) lists again, as does the one-service repository.
  await view.listTags(nginx);
  await view.listTags(worker);
  assert.deepEqual(listed, ['library/nginx', 'acme/worker', 'library/nginx', 'acme/worker']);
});

test('without counts (a whole-host cycle) every listing is kept for the view, asked at once or in turn; a new view lists again', async () => {
  const { client, listed } = countingClient();
  const host = shareListings(client);
  await Promise.all([host.listTags(nginx), host.listTags(nginx), host.listTags(worker)]);
  for (let i = 0; i < 3; i++) assert.deepEqual(await host.listTags(nginx), ['library/nginx-1.0']);
  assert.deepEqual(listed, ['library/nginx', 'acme/worker']);
  await shareListings(client).listTags(nginx);
  assert.equal(listed.length, 3);
});
