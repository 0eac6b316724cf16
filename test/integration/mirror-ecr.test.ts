/**
 * `create_repositories: true` for ECR targets. ECR cannot be reached from here: its API is a local
 * protocol fixture that speaks what the AWS SDK sends (awsJson1_1, `X-Amz-Target`
 * `AmazonEC2ContainerRegistry_V20150921.CreateRepository`, SigV4 verified), reached through the
 * SDK's own endpoint setting (AWS_ENDPOINT_URL_ECR). The mirror side runs against a real registry.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { RegistryClient } from '../../src/registry/client.js';
import { createLogger } from '../../src/util/logger.js';
import { ConfigError } from '../../src/util/errors.js';
import { MirrorState, createMirrorRuntime, oneShotTask, parseMirrorConfig, runTask } from '../../src/mirror/index.js';
import { closeFixtures, fixture, json, sigV4Valid } from '../helpers/protocol-fixtures.js';
import { setupClient, startRegistry, type TestRegistry } from '../helpers/mirror-registries.js';
import { pushTinyImage } from '../helpers/tiny-images.js';

const KEY_ID = 'AKIAI20MIRRORKEY0001';
const SECRET = 'i20MirrorSecret/With+Special=Chars';
const ECR_HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const quiet = () => createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
const registries: TestRegistry[] = [];

after(async () => {
  await closeFixtures();
  for (const r of registries) await r.stop();
});

test('CreateRepository once per repository and process; an existing one is fine; errors name the repository', async () => {
  const existing = new Set<string>(['team/already']);
  const api = await fixture((req, res) => {
    if (!sigV4Valid(req, SECRET).ok) return json(res, 403, { __type: 'InvalidSignatureException', message: 'signature mismatch' });
    if (req.headers['x-amz-target'] !== 'AmazonEC2ContainerRegistry_V20150921.CreateRepository') return json(res, 400, { __type: 'UnknownOperationException' });
    const body = JSON.parse(req.body) as { repositoryName: string; registryId?: string };
    if (body.repositoryName === 'team/forbidden') return json(res, 400, { __type: 'AccessDeniedException', message: 'not allowed' }, { 'content-type': 'application/x-amz-json-1.1' });
    if (existing.has(body.repositoryName)) return json(res, 400, { __type: 'RepositoryAlreadyExistsException', message: `The repository with name '${body.repositoryName}' already exists` }, { 'content-type': 'application/x-amz-json-1.1' });
    existing.add(body.repositoryName);
    json(res, 200, { repository: { repositoryName: body.repositoryName, registryId: body.registryId, repositoryUri: `${ECR_HOST}/${body.repositoryName}` } }, { 'content-type': 'application/x-amz-json-1.1' });
  });
  const env = { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_ENDPOINT_URL_ECR: api.origin };
  const { state } = createMirrorRuntime({}, { env, logger: quiet() });
  assert.equal(await state.ensureRepository({ registry: ECR_HOST, repository: 'team/app' }), 'created');
  assert.equal(await state.ensureRepository({ registry: ECR_HOST, repository: 'team/app' }), 'created');
  assert.equal(await state.ensureRepository({ registry: ECR_HOST, repository: 'team/already' }), 'exists');
  const calls = api.seen.map((r) => JSON.parse(r.body) as { repositoryName: string; registryId: string });
  assert.deepEqual(calls, [{ repositoryName: 'team/app', registryId: '123456789012' }, { repositoryName: 'team/already', registryId: '123456789012' }]);
  assert.equal(sigV4Valid(api.seen[0]!, SECRET).region, 'eu-west-1');
  await assert.rejects(state.ensureRepository({ registry: ECR_HOST, repository: 'team/forbidden' })!, (err: Error) => {
    assert.match(err.message, /ECR CreateRepository/);
    assert.match(err.message, /team\/forbidden/);
    assert.ok(!err.message.includes(SECRET));
    return true;
  });
});

test('the task creates each target repository before its first push, and not in a dry run', async () => {
  const src = await startRegistry();
  const dst = await startRegistry();
  registries.push(src, dst);
  await pushTinyImage(setupClient(), { registry: src.host, repository: 'i20-ecr/app' }, '1.0');
  const created: string[] = [];
  const client = new RegistryClient();
  const state = new MirrorState(client, {
    createRepository: async (repo) => {
      // The repository must not have been pushed to yet.
      assert.equal(await client.headManifest(repo, '1.0'), null);
      created.push(`${repo.registry}/${repo.repository}`);
      return 'created';
    },
  });
  // runTask takes the task as parsed; the file's check that the target is ECR is tested below.
  const t = { ...oneShotTask({ source: `${src.host}/i20-ecr/app`, target: `${dst.host}/i20-ecr/app`, tags: '1.0' }), createRepositories: true };
  const plan = await runTask(t, { client, state, logger: quiet(), dryRun: true });
  assert.equal(plan.planned, 1);
  assert.deepEqual(created, []);
  const s = await runTask(t, { client, state, logger: quiet() });
  assert.equal(s.copied, 1, JSON.stringify(s.items));
  assert.deepEqual(created, [`${dst.host}/i20-ecr/app`]);
});

test('create_repositories on a target that is not ECR is a one-line error naming the field', () => {
  assert.throws(() => parseMirrorConfig('tasks: [{ source: ghcr.io/org, target: registry.example.com/m, create_repositories: true, images: [{ from: app }] }]', 'mirror.yaml'),
    (err: Error) => err instanceof ConfigError && /^mirror\.yaml: tasks\[0\]\.create_repositories: registry\.example\.com is not a private ECR registry/.test(err.message) && !err.message.includes('\n'));
  const ok = parseMirrorConfig(`tasks: [{ source: ghcr.io/org, target: ${ECR_HOST}/mirror, create_repositories: true, images: [{ from: app }] }]`, 'mirror.yaml');
  assert.equal(ok.tasks[0]!.createRepositories, true);
});
