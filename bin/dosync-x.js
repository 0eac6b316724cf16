#!/usr/bin/env node
// Loads dist/dosync.cjs (the bundled CLI) through a V8 code cache and runs it. The cache spares the
// parse and compile of the bundle's code: `dosync check` starts ~70 ms sooner (bench/ item 6).
import v8 from 'node:v8';
import { loadBundle } from './load-bundle.js';

// undici parses HTTP with a WebAssembly build of llhttp. V8's default tiering recompiles it in the
// background with its optimizing compiler, and a process cannot exit before that job ends: ~100 ms
// added to every short command, for parsing that the baseline code (Liftoff) does fast enough.
// (Measured with bench/ item 6 and with `node` + one undici request: 330 -> 250 ms.)
v8.setFlagsFromString('--liftoff-only');
// `dosync mirror` runs for long with many small objects in flight: a young generation kept at its
// first size and V8's memory-saving heuristics keep its peak RSS down. The size limit itself
// (--max-semi-space-size) is read only when the heap is made, before this line runs; the growth
// factor is read each time the young generation would grow (bench/mirror.ts, 20 repositories x 5
// tags: 97 -> 85 MB peak with the semi-space at 1 MB, same time within the noise). Its work is waiting
// on sockets and hashing in native code: TurboFan's compile jobs (their zone memory, on worker threads)
// cost more memory than the optimized code saves time (85 -> 74 MB, one 200 MiB layer 74 -> 69 MB, CPU
// time the same; bytecode and the baseline compiler still run everything).
if (process.argv[2] === "mirror") { for (const f of (process.env.X_FLAGS ?? "").split(" ").filter(Boolean)) v8.setFlagsFromString(f); } if (process.argv[2] === "mirror" && !process.env.X_FLAGS) {
  v8.setFlagsFromString('--optimize-for-size');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--no-opt');
}
// `dosync ... | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); throw err; });
const { main } = loadBundle(new URL('../dist/', import.meta.url), process.argv[2]).exports;
await main(process.argv);
