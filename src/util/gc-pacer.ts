/**
 * Paces garbage collection to the bytes a blob copy streams. Every chunk read from a socket is a
 * new Buffer whose memory lives outside the JS heap; V8 collects such memory only once about 64 MB
 * of it has piled up since the last full collection (its external-memory soft limit), so a process
 * streaming at wire speed carries ~40-60 MB of dead Buffers (measured: 110 MB peak RSS for one
 * 200 MB layer, against 70 MB for the same process idle). A young-generation collection every few
 * MB streamed frees them while they are still young, for well under a millisecond each. There is no
 * V8 flag for the external limit, hence the exposed `gc` (idle-gc.ts's, never offered to other code).
 */
import { v8Gc } from './idle-gc.js';

/** A young-generation collection every MINOR_EVERY bytes, a full one every MAJOR_EVERY (what was promoted meanwhile). */
const MINOR_EVERY = 2 * 1024 * 1024;
const MAJOR_EVERY = 128 * 1024 * 1024;
let sinceMinor = 0;
let sinceMajor = 0;

/** Counts bytes streamed by any blob copy of the process. */
export function streamed(bytes: number): void {
  sinceMinor += bytes;
  sinceMajor += bytes;
  if (sinceMinor < MINOR_EVERY) return;
  sinceMinor = 0;
  const gc = v8Gc();
  if (!gc) return;
  if (sinceMajor >= MAJOR_EVERY) {
    sinceMajor = 0;
    gc({ type: 'major' });
  } else {
    gc({ type: 'minor' });
  }
}
