import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planImageEdit, versionStart, type ImageEdit } from '../../../src/compose/image-source.js';
import { setEnvVariable, setImageDefault, setServiceImage } from '../../../src/compose/mutate.js';
import { readStack, type EnvFileText } from '../../../src/compose/stack.js';
import { ConfigError } from '../../../src/util/errors.js';

describe('versionStart', () => {
  const rows: Array<[string, string]> = [
    ['nginx', ''],
    ['nginx:1.25', '1.25'],
    ['localhost:5000/team/app:dev', 'dev'],
    ['localhost:5000/team/app', ''],
    ['192.168.1.1:5000/repo:5050', '5050'],
    ['[::1]:5000/repo:tag', 'tag'],
    ['nginx@sha256:abc', '@sha256:abc'],
    ['nginx:1.2@sha256:abc', '1.2@sha256:abc'],
  ];
  for (const [image, version] of rows) test(image, () => assert.equal(image.slice(versionStart(image)), version));
});

interface Row {
  name: string;
  compose: string;
  env?: Record<string, string>;
  envFiles?: EnvFileText[];
  service?: string;
  newImage: string;
  /** The edit, without the site bookkeeping (site, partRaw, newText, offset) that the unit tests of units.ts cover. */
  edit: Record<string, unknown>;
}

const rows: Row[] = [
  {
    name: 'literal tag',
    compose: 'services:\n  web:\n    image: reg/app:1.0.0 # c\n',
    newImage: 'reg/app:1.1.0',
    edit: { kind: 'compose-image', file: 'c.yml', service: 'web', newRaw: 'reg/app:1.1.0' },
  },
  {
    name: 'literal tag after a registry variable keeps the variable',
    compose: 'services:\n  web:\n    image: ${REGISTRY:-docker.io}/team/app:1.0\n',
    newImage: 'docker.io/team/app:1.1',
    edit: { kind: 'compose-image', file: 'c.yml', service: 'web', newRaw: '${REGISTRY:-docker.io}/team/app:1.1' },
  },
  {
    name: 'tag in .env',
    compose: 'services:\n  web:\n    image: "reg/app:${APP_TAG}"\n',
    envFiles: [{ path: '/s/.env', text: '# tags\nAPP_TAG=1.0.0\n' }],
    newImage: 'reg/app:1.0.1',
    edit: { kind: 'env-variable', envFile: '/s/.env', name: 'APP_TAG', value: '1.0.1' },
  },
  {
    name: 'whole image in an env file',
    compose: 'services:\n  web:\n    image: ${IMAGE}\n',
    envFiles: [{ path: 'prod.env', text: 'IMAGE=nginx:1.25.3\n' }],
    newImage: 'nginx:1.26.0',
    edit: { kind: 'env-variable', envFile: 'prod.env', name: 'IMAGE', value: 'nginx:1.26.0' },
  },
  {
    name: 'variable followed by a literal suffix',
    compose: 'services:\n  web:\n    image: node:${NODE}-alpine\n',
    envFiles: [{ path: '.env', text: 'NODE=20.11\n' }],
    newImage: 'node:20.12-alpine',
    edit: { kind: 'env-variable', envFile: '.env', name: 'NODE', value: '20.12' },
  },
  {
    name: 'a longer tag grows the variable, not the literal',
    compose: 'services:\n  web:\n    image: node:${NODE}-alpine\n',
    envFiles: [{ path: '.env', text: 'NODE=20.9\n' }],
    newImage: 'node:20.10-alpine',
    edit: { kind: 'env-variable', envFile: '.env', name: 'NODE', value: '20.10' },
  },
  {
    name: 'appended patch component',
    compose: 'services:\n  web:\n    image: app:${TAG}\n',
    envFiles: [{ path: '.env', text: 'TAG=1.2\n' }],
    newImage: 'app:1.2.1',
    edit: { kind: 'env-variable', envFile: '.env', name: 'TAG', value: '1.2.1' },
  },
  {
    name: 'default used because nothing sets the variable',
    compose: "services:\n  web:\n    image: 'reg/app:${APP_TAG:-1.0.0}'\n",
    newImage: 'reg/app:1.1.0',
    edit: { kind: 'image-default', file: 'c.yml', service: 'web', variable: 'APP_TAG', value: '1.1.0' },
  },
  {
    name: 'image inherited through extends is changed where it is written',
    compose: 'services:\n  base:\n    image: app:1\n  web:\n    extends: base\n',
    service: 'web',
    newImage: 'app:2',
    edit: { kind: 'compose-image', file: 'c.yml', service: 'base', newRaw: 'app:2' },
  },
];

function apply(edit: ImageEdit, files: Map<string, string>): void {
  if (edit.kind === 'compose-image') files.set(edit.file, setServiceImage(files.get(edit.file)!, edit.service, edit.newRaw));
  else if (edit.kind === 'image-default') files.set(edit.file, setImageDefault(files.get(edit.file)!, edit.service, edit.variable, edit.value));
  else files.set(edit.envFile, setEnvVariable(files.get(edit.envFile)!, edit.name, edit.value));
}

describe('planImageEdit', () => {
  for (const r of rows) {
    test(r.name, () => {
      const read = (files: Map<string, string>) =>
        readStack([{ path: 'c.yml', text: files.get('c.yml')! }], r.env ?? {}, { envFiles: (r.envFiles ?? []).map((e) => ({ path: e.path, text: files.get(e.path)! })) });
      const files = new Map<string, string>([['c.yml', r.compose], ...(r.envFiles ?? []).map((e) => [e.path, e.text] as [string, string])]);
      const service = read(files).services.find((s) => s.name === (r.service ?? 'web'))!;
      const edit = planImageEdit(service, r.newImage);
      const { site: _site, partRaw: _raw, newText, offset: _offset, ...shown } = edit as ImageEdit & { offset?: number };
      assert.deepEqual(shown, r.edit);
      if (edit.kind === 'compose-image') assert.ok(edit.newRaw.includes(newText));
      else assert.equal(newText, edit.value);
      // Applying the edit with the mutators and reading the stack again yields the new image.
      apply(edit, files);
      assert.equal(read(files).services.find((s) => s.name === (r.service ?? 'web'))!.image, r.newImage);
    });
  }

  const refusals: Array<{ name: string; compose: string; env?: Record<string, string>; envFiles?: EnvFileText[]; newImage: string; message: RegExp }> = [
    { name: 'tag set in dosync\'s environment', compose: 'services:\n  web:\n    image: app:${TAG}\n', env: { TAG: '1' }, newImage: 'app:2', message: /\$\{TAG\}, which is set in dosync's environment/ },
    { name: 'change spans two variables', compose: 'services:\n  web:\n    image: app:${MAJOR}.${MINOR}\n', env: { MAJOR: '1', MINOR: '9' }, newImage: 'app:2.0', message: /spans several variables or literal parts/ },
    { name: 'variable used twice', compose: 'services:\n  web:\n    image: ${T}/app:${T}\n', envFiles: [{ path: '.env', text: 'T=a\n' }], newImage: 'a/app:b', message: /used more than once/ },
    { name: 'nested default', compose: 'services:\n  web:\n    image: ${IMAGE:-app:${X:-}1}\n', newImage: 'app:2', message: /contains other variables/ },
    { name: 'alternative', compose: 'services:\n  web:\n    image: app:${DEV:+dev}\n', env: { DEV: 'y' }, newImage: 'app:prod', message: /alternative of \$\{DEV:\+\.\.\.\}/ },
    { name: 'build-only service', compose: 'services:\n  web:\n    build: .\n', newImage: 'app:2', message: /has no image: written in a compose file/ },
  ];
  for (const r of refusals) {
    test(`refuses: ${r.name}`, () => {
      const service = readStack([{ path: 'c.yml', text: r.compose }], r.env ?? {}, { envFiles: r.envFiles }).services[0];
      assert.throws(() => planImageEdit(service, r.newImage), (e: unknown) => e instanceof ConfigError && r.message.test(e.message));
    });
  }
});
