#!/usr/bin/env node
// `dosync ... | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); throw err; });
const { main } = await import('../dist/dosync.js');
await main(process.argv);
