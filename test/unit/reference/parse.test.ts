import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseImageReference, replaceTag, formatReference, effectiveTag } from '../../../src/reference/index.js';
import { ConfigError } from '../../../src/util/errors.js';

const D = 'sha256:' + 'a'.repeat(64);

const valid: Array<[string, string, string, string | undefined, string | undefined]> = [
  // input, registry, repository, tag, digest
  ['nginx', 'docker.io', 'library/nginx', undefined, undefined],
  ['nginx:1.27', 'docker.io', 'library/nginx', '1.27', undefined],
  ['library/nginx:latest', 'docker.io', 'library/nginx', 'latest', undefined],
  ['docker.io/nginx', 'docker.io', 'library/nginx', undefined, undefined],
  ['index.docker.io/library/nginx:1', 'docker.io', 'library/nginx', '1', undefined],
  ['index.docker.io/nginx', 'docker.io', 'library/nginx', undefined, undefined],
  ['bitnami/redis:7.2', 'docker.io', 'bitnami/redis', '7.2', undefined],
  ['ghcr.io/org/app:v1.2.3', 'ghcr.io', 'org/app', 'v1.2.3', undefined],
  ['localhost/app', 'localhost', 'app', undefined, undefined],
  ['localhost:5000/team/app:dev', 'localhost:5000', 'team/app', 'dev', undefined],
  ['192.168.1.1:5000/repo:5050', '192.168.1.1:5000', 'repo', '5050', undefined],
  ['192.168.1.1/repo', '192.168.1.1', 'repo', undefined, undefined],
  ['[::1]:5000/repo:tag', '[::1]:5000', 'repo', 'tag', undefined],
  ['[2001:db8::1]/a/b', '[2001:db8::1]', 'a/b', undefined, undefined],
  [`nginx@${D}`, 'docker.io', 'library/nginx', undefined, D],
  [`nginx:1.27@${D}`, 'docker.io', 'library/nginx', '1.27', D],
  [`registry.example.com:443/a/b/c:1.0-alpine@${D}`, 'registry.example.com:443', 'a/b/c', '1.0-alpine', D],
  ['Registry.Example.com/app', 'Registry.Example.com', 'app', undefined, undefined],
  ['UPPER/app:1', 'UPPER', 'app', '1', undefined], // an uppercase first component is a host
  ['my-registry/app', 'docker.io', 'my-registry/app', undefined, undefined], // no dot/colon: a Hub namespace
  ['foo_bar/a.b-c__d:tag_1.x-Y', 'docker.io', 'foo_bar/a.b-c__d', 'tag_1.x-Y', undefined],
  ['123456789012.dkr.ecr.us-east-1.amazonaws.com/frontend:latest', '123456789012.dkr.ecr.us-east-1.amazonaws.com', 'frontend', 'latest', undefined],
  ['us-docker.pkg.dev/proj/repo/img:1', 'us-docker.pkg.dev', 'proj/repo/img', '1', undefined],
  ['a---b/c', 'docker.io', 'a---b/c', undefined, undefined],
  ['quay.io/coreos/etcd:v3.5.0', 'quay.io', 'coreos/etcd', 'v3.5.0', undefined],
  ['minio/minio:RELEASE.2024-06-01T12-00-00Z', 'docker.io', 'minio/minio', 'RELEASE.2024-06-01T12-00-00Z', undefined],
  ['  nginx:1  ', 'docker.io', 'library/nginx', '1', undefined],
];

for (const [input, registry, repository, tag, digest] of valid) {
  test(`parses ${input.trim()}`, () => {
    assert.deepEqual(parseImageReference(input), { registry, repository, tag, digest });
  });
}

const invalid: Array<[string, RegExp]> = [
  ['', /empty/],
  ['NGINX', /lowercase/],
  ['docker.io/Library/nginx', /lowercase/],
  ['ghcr.io/Org/app:1', /lowercase/],
  ['nginx:', /not a valid tag/],
  ['nginx:-bad', /not a valid tag/],
  [`nginx:${'x'.repeat(129)}`, /not a valid tag/],
  ['nginx@sha256:abc', /digest/],
  [`nginx@sha256:${'A'.repeat(64)}`, /64 lowercase hex/],
  ['a'.repeat(64), /image ID/],
  ['ghcr.io/', /not a valid repository/],
  ['foo//bar', /not a valid repository/],
  ['foo/-bar', /not a valid repository/],
  ['foo_/bar', /not a valid repository/],
  ['-host.io/app', /not a valid registry host/],
  [':tag', /missing/],
  ['a b', /not a valid/],
  [`${'a'.repeat(256)}`, /longer than 255/],
];

for (const [input, why] of invalid) {
  test(`rejects ${JSON.stringify(input.slice(0, 40))}`, () => {
    assert.throws(() => parseImageReference(input), (err: unknown) => err instanceof ConfigError && why.test(err.message));
  });
}

test('formatReference gives the fully qualified form', () => {
  assert.equal(formatReference(parseImageReference('nginx:1')), 'docker.io/library/nginx:1');
  assert.equal(formatReference(parseImageReference(`ghcr.io/a/b@${D}`)), `ghcr.io/a/b@${D}`);
});

test('effectiveTag is latest only when neither tag nor digest is given', () => {
  assert.equal(effectiveTag(parseImageReference('nginx')), 'latest');
  assert.equal(effectiveTag(parseImageReference('nginx:1')), '1');
  assert.equal(effectiveTag(parseImageReference(`nginx@${D}`)), undefined);
});

test('replaceTag keeps the spelling the user wrote', () => {
  assert.equal(replaceTag('nginx:1.0', '1.1'), 'nginx:1.1');
  assert.equal(replaceTag('nginx', '1.1'), 'nginx:1.1');
  assert.equal(replaceTag('localhost:5000/team/app:1.0.0', '1.1.0'), 'localhost:5000/team/app:1.1.0');
  assert.equal(replaceTag('localhost:5000/app', '2'), 'localhost:5000/app:2');
  assert.equal(replaceTag('[::1]:5000/repo:tag', 'v2'), '[::1]:5000/repo:v2');
  const D2 = 'sha256:' + 'b'.repeat(64);
  assert.equal(replaceTag(`nginx:1.0@${D}`, '1.1', D2), `nginx:1.1@${D2}`);
  assert.equal(replaceTag(`nginx:1.0@${D}`, '1.1'), 'nginx:1.1');
  assert.throws(() => replaceTag('nginx:1', 'bad tag'), ConfigError);
});
