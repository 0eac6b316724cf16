// Preload (`node --import ./trace-loads.mjs ...`) that records every module a process loads and writes the
// list to $TRACE_LOADS_OUT at exit: ES modules through a loader hook (it runs off-thread, so the URLs come
// back over a port read synchronously at exit), CommonJS ones from require's shared cache.
import { register, createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';

const { port1, port2 } = new MessageChannel();
register('./trace-loads-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });
port1.unref();
process.on('exit', () => {
  const esm = [];
  for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) esm.push(m.message);
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  writeFileSync(process.env.TRACE_LOADS_OUT, JSON.stringify({ esm, cjs }));
});
