import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { claimsMismatch, parsePayload } from '../../../src/verify/payload.js';

const D = `sha256:${'a'.repeat(64)}`;
const payload = (o: unknown) => Buffer.from(JSON.stringify(o));
const cosign = (ref: string, digest = D) => payload({ critical: { identity: { 'docker-reference': ref }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null });

describe('parsePayload', () => {
  test('cosign\'s simple signing payload', () => assert.deepEqual(parsePayload(cosign('ghcr.io/org/app')), { digest: D, reference: 'ghcr.io/org/app' }));
  const bad: Array<[string, Buffer, RegExp]> = [
    ['not JSON', Buffer.from('{'), /not JSON/],
    ['no digest', payload({ critical: { identity: { 'docker-reference': 'x' }, type: 'cosign container image signature' } }), /no critical\.image\.docker-manifest-digest/],
    ['another type', payload({ critical: { identity: { 'docker-reference': 'x' }, image: { 'docker-manifest-digest': D }, type: 'in-toto' } }), /type is "in-toto"/],
  ];
  for (const [name, bytes, want] of bad) test(name, () => assert.match((parsePayload(bytes) as { invalid: string }).invalid, want));
});

describe('claimsMismatch', () => {
  const claims = (reference: string, digest = D) => ({ reference, digest });
  const cases: Array<[string, ReturnType<typeof claims>, string, string[], RegExp | undefined]> = [
    ['same repository', claims('ghcr.io/org/app'), 'ghcr.io/org/app', [], undefined],
    ['Docker Hub spellings normalise', claims('index.docker.io/library/nginx'), 'docker.io/library/nginx', [], undefined],
    ['a reference with a tag still names the repository', claims('ghcr.io/org/app:1.2'), 'ghcr.io/org/app', [], undefined],
    ['another digest', claims('ghcr.io/org/app', `sha256:${'b'.repeat(64)}`), 'ghcr.io/org/app', [], /payload signs sha256:bbbbbbbbbbbb…, not this digest/],
    ['another repository', claims('ghcr.io/org/other'), 'ghcr.io/org/app', [], /names ghcr\.io\/org\/other, not ghcr\.io\/org\/app \(add it to reference_aliases/],
    ['a mirror with its origin as alias', claims('ghcr.io/org/app'), 'mirror.local:5000/org/app', ['ghcr.io/org/app'], undefined],
    ['an alias for another repository does not help', claims('ghcr.io/org/evil'), 'mirror.local:5000/org/app', ['ghcr.io/org/app'], /or an alias/],
  ];
  for (const [name, c, repo, aliases, want] of cases) {
    test(name, () => {
      const got = claimsMismatch(c, D, repo, aliases);
      if (want) assert.match(got ?? '', want);
      else assert.equal(got, undefined);
    });
  }
});
