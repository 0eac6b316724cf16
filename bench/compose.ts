// Times the compose stage on a realistic file and on a large generated one: readStack, setServiceImage
// (which re-parses to verify every candidate) and the safe writer on a real temp dir.
// Run: node --import tsx bench/compose.ts
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStack } from '../src/compose/stack.js';
import { setServiceImage } from '../src/compose/mutate.js';
import { replaceFileSafely } from '../src/compose/writer.js';

function time(label: string, runs: number, fn: (i: number) => unknown): void {
  for (let i = 0; i < Math.min(20, runs); i++) fn(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) fn(i);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
  console.log(`${label.padEnd(52)} ${ms.toFixed(3)} ms/op`);
}

const deep = readFileSync(new URL('../test/unit/compose/fixtures/13-deep.yml', import.meta.url), 'utf8');
const big =
  'x-common: &common\n  restart: unless-stopped\n  labels: {team: core}\nservices:\n' +
  Array.from({ length: 200 }, (_, i) => `  svc-${i}:  # service ${i}\n    <<: *common\n    image: registry.example.com/team/svc-${i}:1.${i}.0\n    ports: ["${10000 + i}:80"]\n    environment:\n      ID: "${i}"\n`).join('');

console.log(`13-deep.yml: ${deep.length} bytes; generated: 200 services, ${big.length} bytes`);
time('readStack 13-deep.yml', 2000, () => readStack([{ path: 'f', text: deep }], {}));
time('setServiceImage 13-deep.yml (app)', 2000, (i) => setServiceImage(deep, 'app', `ghcr.io/acme/platform-app:2024.04.${i}`));
time('readStack 200 services', 100, () => readStack([{ path: 'f', text: big }], {}));
time('setServiceImage 200 services (svc-150)', 100, (i) => setServiceImage(big, 'svc-150', `registry.example.com/team/svc-150:2.0.${i}`));

const dir = await mkdtemp(join(tmpdir(), 'dosync-bench-'));
const file = join(dir, 'docker-compose.yml');
await writeFile(file, deep);
let current = deep;
const runs = 200;
const t0 = process.hrtime.bigint();
for (let i = 0; i < runs; i++) {
  const next = setServiceImage(current, 'app', `ghcr.io/acme/platform-app:2024.05.${i}`);
  await replaceFileSafely(file, next, { expectedOriginal: current, keep: 10 });
  current = next;
}
console.log(`${'mutate + backup + atomic write (fsync) 13-deep.yml'.padEnd(52)} ${(Number(process.hrtime.bigint() - t0) / 1e6 / runs).toFixed(3)} ms/op`);
await rm(dir, { recursive: true, force: true });
