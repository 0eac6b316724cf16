import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HookPayloadError, parseRegistryHook, type ParsedHook } from '../../../src/api/hooks.js';

const D = `sha256:${'ab'.repeat(32)}`;

/** Shapes as documented by each registry (abridged to the fields that matter, plus some noise). */
const dockerHub = {
  callback_url: 'https://registry.hub.docker.com/u/svendowideit/testhook/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/',
  push_data: { pushed_at: 1417566161, pusher: 'trustedbuilder', tag: 'latest' },
  repository: { repo_name: 'svendowideit/testhook', name: 'testhook', namespace: 'svendowideit', is_official: false, repo_url: 'https://registry.hub.docker.com/u/svendowideit/testhook/' },
};

function githubPackage(key: 'package' | 'registry_package', packageUrl: string, tag: string, type = 'CONTAINER', action = 'published') {
  return {
    action,
    [key]: {
      id: 10696,
      name: 'hello-world',
      namespace: 'Codertocat',
      ecosystem: 'CONTAINER',
      package_type: type,
      owner: { login: 'Codertocat' },
      package_version: {
        version: D,
        container_metadata: { tag: { name: tag, digest: D }, labels: { source: 'https://github.com/Codertocat/hello-world' } },
        package_url: packageUrl,
      },
      registry: { name: 'GitHub CONTAINER registry', type: 'CONTAINER', url: 'https://CONTAINER.pkg.github.com/Codertocat' },
    },
    repository: { full_name: 'Codertocat/hello-world' },
  };
}

const harbor = {
  type: 'PUSH_ARTIFACT',
  occur_at: 1737446601,
  operator: 'admin',
  event_data: {
    resources: [{ digest: D, tag: 'v1', resource_url: 'harbor.example.com/library/rumput:v1' }],
    repository: { date_created: 1737446600, name: 'rumput', namespace: 'library', repo_full_name: 'library/rumput', repo_type: 'public' },
  },
};

const harborCloudEvents = {
  specversion: '1.0',
  id: '4b2f89a6-548d-4c12-9993-a1f5790b97d2',
  type: 'harbor.artifact.pushed',
  source: '/projects/1/webhook/policies/1',
  datacontenttype: 'application/json',
  data: { resources: [{ digest: D, tag: '2.0', resource_url: 'harbor.example.com:8443/team/api:2.0' }], repository: { name: 'api', namespace: 'team' } },
};

const quay = { repository: 'devtable/ubuntu', namespace: 'devtable', name: 'ubuntu', docker_url: 'quay.io/devtable/ubuntu', homepage: 'https://quay.io/repository/devtable/ubuntu', updated_tags: ['latest', '22.04'] };

const distribution = {
  events: [
    { id: '1', action: 'push', target: { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', repository: 'team/app', digest: D }, request: { host: '127.0.0.1:5000' } },
    { id: '2', action: 'push', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository: 'team/app', digest: D, tag: '1.4.0' }, request: { host: '127.0.0.1:5000' } },
    { id: '3', action: 'pull', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository: 'team/other', tag: '1' }, request: { host: '127.0.0.1:5000' } },
  ],
};

const cases: Array<[string, unknown, string | undefined, ParsedHook]> = [
  ['Docker Hub', dockerHub, undefined, { source: 'dockerhub', images: ['docker.io/svendowideit/testhook:latest'] }],
  ['Docker Hub official image', { push_data: { tag: '1.27' }, repository: { repo_name: 'nginx' } }, undefined, { source: 'dockerhub', images: ['docker.io/library/nginx:1.27'] }],
  ['GitHub package event', githubPackage('package', 'ghcr.io/Codertocat/hello-world:v1.2.3', 'v1.2.3'), 'package', { source: 'github', images: ['ghcr.io/codertocat/hello-world:v1.2.3'] }],
  ['GitHub registry_package event', githubPackage('registry_package', 'ghcr.io/codertocat/cadence/api:sha-33cefd3', 'sha-33cefd3'), 'registry_package', { source: 'github', images: ['ghcr.io/codertocat/cadence/api:sha-33cefd3'] }],
  ['GitHub untagged push (empty tag)', githubPackage('package', 'ghcr.io/Codertocat/hello-world:', ''), 'package', { source: 'github', images: ['ghcr.io/codertocat/hello-world'] }],
  ['GitHub package_url without a colon', githubPackage('package', 'ghcr.io/codertocat/hello-world', 'edge'), 'package', { source: 'github', images: ['ghcr.io/codertocat/hello-world:edge'] }],
  ['GitHub payload without the header', githubPackage('package', 'ghcr.io/o/app:1', '1'), undefined, { source: 'github', images: ['ghcr.io/o/app:1'] }],
  ['GitHub ping', { zen: 'Keep it logically awesome.', hook_id: 1 }, 'ping', { source: 'github', images: [], ping: true }],
  ['GitHub push event', { ref: 'refs/heads/main' }, 'push', { source: 'github', images: [], ignored: 'GitHub event "push" is not a package event' }],
  ['GitHub npm package', githubPackage('package', 'npm.pkg.github.com/x', '1', 'npm'), 'package', { source: 'github', images: [], ignored: 'GitHub package of type "npm" is not a container image' }],
  ['GitHub package deleted', githubPackage('package', 'ghcr.io/o/app:1', '1', 'CONTAINER', 'deleted'), 'package', { source: 'github', images: [], ignored: 'GitHub package action "deleted"' }],
  ['Harbor', harbor, undefined, { source: 'harbor', images: ['harbor.example.com/library/rumput:v1'] }],
  ['Harbor CloudEvents', harborCloudEvents, undefined, { source: 'harbor', images: ['harbor.example.com:8443/team/api:2.0'] }],
  ['Harbor pull', { ...harbor, type: 'PULL_ARTIFACT' }, undefined, { source: 'harbor', images: [], ignored: 'Harbor event "PULL_ARTIFACT" is not a push' }],
  ['Quay', quay, undefined, { source: 'quay', images: ['quay.io/devtable/ubuntu:latest', 'quay.io/devtable/ubuntu:22.04'] }],
  ['Quay, tags as a map', { ...quay, updated_tags: { latest: D } }, undefined, { source: 'quay', images: ['quay.io/devtable/ubuntu:latest'] }],
  ['distribution notifications', distribution, undefined, { source: 'distribution', images: ['127.0.0.1:5000/team/app:1.4.0'] }],
  ['distribution, only blobs', { events: [distribution.events[0]] }, undefined, { source: 'distribution', images: [], ignored: 'no manifest push among the events' }],
  ['generic image', { image: 'ghcr.io/acme/web:2.0.1' }, undefined, { source: 'generic', images: ['ghcr.io/acme/web:2.0.1'] }],
  ['generic images, deduplicated and normalised', { images: ['nginx:1', 'docker.io/library/nginx:1', 'redis'] }, undefined, { source: 'generic', images: ['docker.io/library/nginx:1', 'docker.io/library/redis'] }],
  ['generic with a digest', { image: `127.0.0.1:5000/x@${D}` }, undefined, { source: 'generic', images: [`127.0.0.1:5000/x@${D}`] }],
];

for (const [name, body, event, expected] of cases) {
  test(`parses ${name}`, () => {
    assert.deepEqual(parseRegistryHook(body, event), expected);
  });
}

const invalid: Array<[string, unknown, RegExp]> = [
  ['an array', [1, 2], /must be a JSON object/],
  ['a string', 'nginx', /must be a JSON object/],
  ['an unknown object', { hello: 'world' }, /unrecognised payload/],
  ['a bad generic reference', { image: 'UPPER/Case:tag!' }, /no valid image reference in the generic payload/],
  ['generic image not a string', { image: 42 }, /"image" must be a string/],
  ['Docker Hub without repo_name', { push_data: { tag: 'x' }, repository: {} }, /without repository.repo_name/],
  ['GitHub package without package_url', { action: 'published', package: { package_type: 'CONTAINER', package_version: {} } }, /without package_version.package_url/],
  ['Harbor push without resource URLs', { type: 'PUSH_ARTIFACT', event_data: { resources: [{ tag: 'v1' }] } }, /no valid image reference in the harbor payload/],
];

for (const [name, body, message] of invalid) {
  test(`rejects ${name}`, () => {
    assert.throws(() => parseRegistryHook(body), (err: unknown) => err instanceof HookPayloadError && message.test(err.message));
  });
}
