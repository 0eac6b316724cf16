import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readStack, type Stack } from '../../../src/compose/stack.js';
import { planImageEdit } from '../../../src/compose/image-source.js';
import { applyEdits, imagesAfterEdits, stackUnits, unitOf } from '../../../src/compose/units.js';

/** A stack of in-memory files: `/p/compose.yml` first, the rest reachable through include: / extends: file:. */
function stackOf(files: Record<string, string>, env: Record<string, string> = {}): { stack: Stack; texts: Map<string, string> } {
  const texts = new Map(Object.entries(files).map(([k, v]) => [`/p/${k}`, v]));
  const envFiles = texts.has('/p/.env') ? [{ path: '/p/.env', text: texts.get('/p/.env')! }] : [];
  const stack = readStack([{ path: '/p/compose.yml', text: texts.get('/p/compose.yml')! }], env, { envFiles, readFile: (p) => texts.get(p) });
  return { stack, texts };
}

/** Plans `service` onto `newImage`, applies the edit and reads the stack again: the images that changed. */
function moved(files: Record<string, string>, service: string, newImage: string) {
  const { stack, texts } = stackOf(files);
  const edit = planImageEdit(stack.services.find((s) => s.name === service)!, newImage);
  const changed = applyEdits(texts, [edit]);
  const after = stackOf(Object.fromEntries([...texts].map(([k, v]) => [k.slice(3), changed.get(k) ?? v])));
  const images = Object.fromEntries(after.stack.services.filter((s) => s.image !== stack.services.find((x) => x.name === s.name)?.image).map((s) => [s.name, s.image]));
  return { images, predicted: Object.fromEntries(imagesAfterEdits(stack.services, [edit])), unit: unitOf(stackUnits(stack), service)!, changed };
}

describe('update units', () => {
  const rows: Array<{ name: string; files: Record<string, string>; service: string; newImage: string; members: string[]; via?: RegExp }> = [
    {
      name: 'a .env variable shared by two repositories',
      files: { 'compose.yml': 'services:\n  n8n:\n    image: n8nio/n8n:${V}\n  runner:\n    image: n8nio/runners:${V}\n  db:\n    image: postgres:16\n', '.env': 'V=1.0.0\n' },
      service: 'n8n', newImage: 'n8nio/n8n:1.1.0', members: ['n8n', 'runner'], via: /V in \.env/,
    },
    {
      name: 'a merge-key anchor with three inheritors',
      files: { 'compose.yml': 'x-app: &app\n  image: app:1.0\n  restart: always\nservices:\n  a: {<<: *app}\n  b:\n    <<: *app\n    command: b\n  c:\n    <<: *app\n  d:\n    image: app:1.0\n' },
      service: 'b', newImage: 'app:1.1', members: ['a', 'b', 'c'], via: /x-app\.image in compose\.yml/,
    },
    {
      name: 'an aliased image scalar',
      files: { 'compose.yml': 'services:\n  a:\n    image: &img app:1.0\n  b:\n    image: *img\n' },
      service: 'b', newImage: 'app:1.1', members: ['a', 'b'],
    },
    {
      name: 'extends in the same file',
      files: { 'compose.yml': 'services:\n  base:\n    image: app:1.0\n  web:\n    extends: base\n  api:\n    extends: base\n    image: api:1.0\n' },
      service: 'web', newImage: 'app:1.1', members: ['base', 'web'],
    },
    {
      name: 'extends: file:',
      files: { 'compose.yml': 'services:\n  web:\n    extends: {file: common.yml, service: app}\n  worker:\n    extends: {file: common.yml, service: app}\n    command: work\n', 'common.yml': 'services:\n  app:\n    image: app:1.0\n' },
      service: 'worker', newImage: 'app:1.1', members: ['web', 'worker'], via: /common\.yml/,
    },
    {
      name: 'an include:d file with its own .env',
      files: { 'compose.yml': 'include:\n  - sub/compose.yml\nservices:\n  web:\n    image: web:1.0\n', 'sub/compose.yml': 'services:\n  cache:\n    image: redis:${REDIS}\n', 'sub/.env': 'REDIS=7.2\n' },
      service: 'cache', newImage: 'redis:7.4', members: ['cache'],
    },
    {
      name: 'a registry prefix variable does not tie services together',
      files: { 'compose.yml': 'services:\n  a:\n    image: ${REG}/a:1.0\n  b:\n    image: ${REG}/b:1.0\n', '.env': 'REG=localhost:5000\n' },
      service: 'a', newImage: 'localhost:5000/a:1.1', members: ['a'],
    },
    {
      name: 'look-alike names on different tags are separate units',
      files: { 'compose.yml': 'services:\n  web-a:\n    image: web:1.0.0\n  web-b:\n    image: web:1.0.5\n' },
      service: 'web-a', newImage: 'web:1.0.6', members: ['web-a'],
    },
  ];
  for (const r of rows) {
    test(r.name, () => {
      const m = moved(r.files, r.service, r.newImage);
      assert.deepEqual(Object.keys(m.images).sort(), [...r.members].sort(), 'the images that really change');
      assert.deepEqual(m.predicted, m.images, 'imagesAfterEdits predicts them');
      assert.deepEqual([...m.unit.services].sort(), [...r.members].sort(), 'the unit lists them');
      if (r.via) assert.match(m.unit.label, r.via);
      assert.equal(m.changed.size, 1, 'one file is written');
    });
  }

  test('a variable also used as a build arg is reported as a dependent', () => {
    const { stack } = stackOf({ 'compose.yml': 'services:\n  server:\n    image: temporal/server:${TV}\n  tools:\n    image: temporal/tools:${TV}\n    build:\n      context: .\n      args: {TEMPORAL_VERSION: "${TV}"}\n', '.env': 'TV=1.2.0\n' });
    const unit = unitOf(stackUnits(stack), 'server')!;
    assert.deepEqual(unit.services, ['server', 'tools']);
    assert.deepEqual(unit.dependents, [{ file: '/p/compose.yml', path: 'services.tools.build.args.TEMPORAL_VERSION' }]);
  });

  test('two edits of one file are applied from the end backwards', () => {
    const { stack, texts } = stackOf({ 'compose.yml': 'services:\n  web-1:\n    image: web:1.0\n  web-2:\n    image: web:1.0\n' });
    const edits = stack.services.map((s) => planImageEdit(s, 'web:1.10'));
    const changed = applyEdits(texts, edits);
    assert.equal(changed.get('/p/compose.yml'), 'services:\n  web-1:\n    image: web:1.10\n  web-2:\n    image: web:1.10\n');
  });
});
