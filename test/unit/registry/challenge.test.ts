import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenges, preferredChallenge, type Challenge } from '../../../src/registry/challenge.js';

const cases: Array<{ name: string; header: string; want: Challenge[] }> = [
  {
    name: 'CNCF htpasswd Basic',
    header: 'Basic realm="dosync-test"',
    want: [{ scheme: 'basic', params: { realm: 'dosync-test' } }],
  },
  {
    name: 'Docker Hub Bearer with a scope containing a comma',
    header: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
    want: [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } }],
  },
  {
    name: 'gcr.io unquoted service',
    header: 'Bearer realm="https://gcr.io/v2/token",service=gcr.io',
    want: [{ scheme: 'bearer', params: { realm: 'https://gcr.io/v2/token', service: 'gcr.io' } }],
  },
  {
    name: 'Artifact Registry realm without service',
    header: 'Bearer realm="https://europe-docker.pkg.dev/v2/token"',
    want: [{ scheme: 'bearer', params: { realm: 'https://europe-docker.pkg.dev/v2/token' } }],
  },
  {
    name: 'ECR Basic with service',
    header: 'Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com"',
    want: [{ scheme: 'basic', params: { realm: 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/', service: 'ecr.amazonaws.com' } }],
  },
  {
    name: 'two challenges in one header (Forgejo)',
    header: 'Bearer realm="https://codeberg.org/v2/token",service="container_registry",scope="*", Basic realm="Codeberg"',
    want: [
      { scheme: 'bearer', params: { realm: 'https://codeberg.org/v2/token', service: 'container_registry', scope: '*' } },
      { scheme: 'basic', params: { realm: 'Codeberg' } },
    ],
  },
  {
    name: 'case-insensitive scheme and parameter names',
    header: 'BEARER Realm="https://r.example/token", SERVICE="r.example"',
    want: [{ scheme: 'bearer', params: { realm: 'https://r.example/token', service: 'r.example' } }],
  },
  {
    name: 'escaped quotes and backslashes inside a quoted value',
    header: 'Basic realm="say \\"hi\\", then \\\\ leave"',
    want: [{ scheme: 'basic', params: { realm: 'say "hi", then \\ leave' } }],
  },
  {
    name: 'whitespace around "=" (BWS) and after commas',
    header: 'Bearer realm = "https://r.example/token" ,  service = r.example',
    want: [{ scheme: 'bearer', params: { realm: 'https://r.example/token', service: 'r.example' } }],
  },
  {
    name: 'token68 challenge followed by a parameterised one (RFC 7235 example shape)',
    header: 'Negotiate abc123==, Basic realm="simple"',
    want: [
      { scheme: 'negotiate', params: {}, token68: 'abc123==' },
      { scheme: 'basic', params: { realm: 'simple' } },
    ],
  },
  {
    name: 'scheme without parameters then another challenge',
    header: 'Negotiate, Bearer realm="https://r.example/token"',
    want: [
      { scheme: 'negotiate', params: {} },
      { scheme: 'bearer', params: { realm: 'https://r.example/token' } },
    ],
  },
  {
    name: 'RFC 7235 section 4.1 example with three challenges',
    header: 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
    want: [
      { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
      { scheme: 'basic', params: { realm: 'simple' } },
    ],
  },
  {
    name: 'error and error_description after a 401 with an expired token',
    header: 'Bearer realm="https://r.example/token",service="r.example",scope="repository:a/b:pull",error="invalid_token"',
    want: [{ scheme: 'bearer', params: { realm: 'https://r.example/token', service: 'r.example', scope: 'repository:a/b:pull', error: 'invalid_token' } }],
  },
  {
    name: 'duplicate parameter: the first wins',
    header: 'Basic realm="one", realm="two"',
    want: [{ scheme: 'basic', params: { realm: 'one' } }],
  },
  {
    name: 'empty list elements are ignored',
    header: ' , Basic realm="x",, ,',
    want: [{ scheme: 'basic', params: { realm: 'x' } }],
  },
  {
    name: 'unterminated quoted string drops only that parameter',
    header: 'Bearer service="r.example", realm="https://r.example/token',
    want: [{ scheme: 'bearer', params: { service: 'r.example' } }],
  },
  {
    name: 'a parameter named like an Object prototype key',
    header: 'Basic constructor="x", toString=y',
    want: [{ scheme: 'basic', params: { constructor: 'x', tostring: 'y' } }],
  },
  {
    name: 'empty header',
    header: '',
    want: [],
  },
];

describe('parseChallenges', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(parseChallenges(c.header), c.want);
    });
  }

  test('several header lines are read in order', () => {
    const got = parseChallenges(['Basic realm="a"', 'Bearer realm="https://b/token"']);
    assert.deepEqual(got.map((c) => c.scheme), ['basic', 'bearer']);
  });

  test('an absent header has no challenges', () => {
    assert.deepEqual(parseChallenges(undefined), []);
  });
});

describe('preferredChallenge', () => {
  test('Bearer is preferred over Basic whatever the order', () => {
    assert.equal(preferredChallenge(parseChallenges('Basic realm="x", Bearer realm="https://t/token"'))?.scheme, 'bearer');
  });
  test('Basic when there is no Bearer', () => {
    assert.equal(preferredChallenge(parseChallenges('Negotiate, Basic realm="x"'))?.scheme, 'basic');
  });
  test('nothing for no challenges', () => {
    assert.equal(preferredChallenge([]), undefined);
  });
});
