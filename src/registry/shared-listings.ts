/**
 * One listing per repository per cycle. The client alone shares a listing only while it is in flight:
 * services of one repository ask one after another when something before their listing (a local image
 * inspect) takes longer for one than for another, as on a busy machine, and the repository was listed
 * twice (clean-clone CI under load, registry-families: 10 listings of 9 repositories). A view made for the
 * cycle keeps each listing for the services still to ask; dropped with the cycle.
 */
import { parseImageReference } from '../reference/index.js';
import type { RegistryClient } from './client.js';
import type { RepositoryRef } from './types.js';

const keyOf = (repo: RepositoryRef) => `${repo.registry}/${repo.repository}`;

/** How many of `images` name each repository (an image that does not parse counts for nothing). Pure. */
export function listingUses(images: ReadonlyArray<string | undefined>): Map<string, number> {
  const uses = new Map<string, number>();
  for (const image of images) {
    if (!image) continue;
    try {
      const key = keyOf(parseImageReference(image));
      uses.set(key, (uses.get(key) ?? 0) + 1);
    } catch { /* reported by the plan of its service */ }
  }
  return uses;
}

/**
 * `client` with listings shared for one cycle. With `uses`, a listing is kept only until each of its
 * expected askers has had it, and a repository of one service keeps nothing past its request (a
 * million-tag list is not held for the rest of the cycle, issue 15). Without, every listing is kept until
 * the view is dropped (a whole-host cycle, where projects ask at different moments).
 */
export function shareListings(client: RegistryClient, uses?: ReadonlyMap<string, number>): RegistryClient {
  const kept = new Map<string, { listing: Promise<string[]>; left: number }>();
  const view = Object.create(client) as RegistryClient;
  view.listTags = function listTags(this: RegistryClient, repo: RepositoryRef) {
    const key = keyOf(repo);
    const expected = uses ? uses.get(key) ?? 0 : Infinity;
    if (expected < 2) return client.listTags.call(this, repo);
    let hit = kept.get(key);
    if (!hit) kept.set(key, (hit = { listing: client.listTags.call(this, repo), left: expected }));
    if (--hit.left <= 0) kept.delete(key);
    return hit.listing;
  };
  return view;
}
