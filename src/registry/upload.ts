/**
 * Stream helpers for blob copies: a pass-through that checks a blob's digest and size while it
 * flows (so a layer is never held in memory and a corrupt one never reaches the target), and a
 * splitter into fixed-size chunks for registries that take uploads only in PATCH pieces.
 */
import { createHash, getHashes } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { RegistryError } from '../util/errors.js';
import { streamed } from '../util/gc-pacer.js';

const HASHES = new Set(getHashes());

/** `sha256:<hex>` -> node's hash name, or undefined when it cannot be checked here. */
export function digestAlgorithm(digest: string): string | undefined {
  const algo = digest.slice(0, digest.indexOf(':'));
  return /^sha(256|384|512)$/.test(algo) && HASHES.has(algo) ? algo : undefined;
}

/** The digest of bytes, in the algorithm of `like` (sha256 by default). */
export function digestOf(bytes: Buffer, like = 'sha256:'): string {
  const algo = digestAlgorithm(like) ?? 'sha256';
  return `${algo}:${createHash(algo).update(bytes).digest('hex')}`;
}

/**
 * A blob's digest and size checked chunk by chunk, where the chunks are handled anyway (no stream of
 * its own: a streamed upload hashes in the same loop that forwards the chunk).
 */
export class DigestCheck {
  private readonly hash;
  private bytes = 0;

  constructor(private readonly digest: string, private readonly size: number | undefined, private readonly where: string) {
    const algo = digestAlgorithm(digest);
    if (!algo) throw new RegistryError(`${where}: cannot verify digest ${digest} (only sha256/sha384/sha512)`);
    this.hash = createHash(algo);
  }

  get bytesSeen(): number {
    return this.bytes;
  }

  /** Hashes the next chunk; the error when the source sent more than its declared size. */
  add(chunk: Buffer): RegistryError | undefined {
    this.bytes += chunk.length;
    streamed(chunk.length);
    if (this.size !== undefined && this.bytes > this.size) return new RegistryError(`${this.where}: the source sent more than the ${this.size} bytes its manifest declares`);
    this.hash.update(chunk);
    return undefined;
  }

  /** After the last chunk: the error when the bytes are not the declared size or do not hash to the digest. */
  finish(): RegistryError | undefined {
    const actual = `${this.digest.slice(0, this.digest.indexOf(':'))}:${this.hash.digest('hex')}`;
    if (this.size !== undefined && this.bytes !== this.size) return new RegistryError(`${this.where}: the source sent ${this.bytes} bytes, its manifest declares ${this.size}`);
    if (actual !== this.digest) return new RegistryError(`${this.where}: the bytes received hash to ${actual}, not ${this.digest}; nothing was pushed`);
    return undefined;
  }
}

/**
 * A pass-through that fails (before its last byte is passed on) when the content does not hash to
 * `digest` or its length is not `size`. Piped into an upload, the failure aborts the request, so the
 * registry never completes an upload of wrong bytes.
 */
export class VerifyingStream extends Transform {
  private readonly check: DigestCheck;
  private held: Buffer | undefined;

  constructor(digest: string, size: number | undefined, where: string) {
    super();
    this.check = new DigestCheck(digest, size, where);
  }

  get bytesSeen(): number {
    return this.check.bytesSeen;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const tooMany = this.check.add(chunk);
    if (tooMany) {
      done(tooMany);
      return;
    }
    // The newest chunk is held back until the next one arrives, so the final bytes are passed on
    // only after the digest is known to be right (an upload of wrong bytes can never complete).
    const previous = this.held;
    this.held = chunk;
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    const wrong = this.check.finish();
    if (wrong) done(wrong);
    else done(null, this.held);
  }
}

/**
 * Reads a stream as chunks of exactly `size` bytes (the last one shorter), after dropping its first
 * `skip` bytes (what a resumed upload's target already has); at most one chunk is buffered.
 */
export async function* chunksOf(stream: Readable, size: number, skip = 0): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  let toSkip = skip;
  for await (const data of stream) {
    let buf = Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array);
    if (toSkip > 0) {
      const dropped = Math.min(toSkip, buf.length);
      toSkip -= dropped;
      buf = buf.subarray(dropped);
    }
    while (buf.length > 0) {
      const take = Math.min(size - length, buf.length);
      parts.push(buf.subarray(0, take));
      length += take;
      buf = buf.subarray(take);
      if (length === size) {
        yield Buffer.concat(parts, length);
        parts = [];
        length = 0;
      }
    }
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

