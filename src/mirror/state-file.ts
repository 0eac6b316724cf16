/**
 * The mirror's small state file, kept across runs: where each blob is known to be (registry ->
 * digest -> repositories, so a layer already in another repository of the target is mounted, as
 * skopeo's blob-info cache does), and the upload sessions under way (so a run killed mid-blob
 * continues where the target stopped). Digests are immutable, so a location never goes stale in
 * meaning; a blob deleted since is found by the mount being refused, and the copy streams instead.
 *
 * Bounded: at most MAX_DIGESTS digests per file (the least recently used go first) and
 * MAX_REPOS_PER_DIGEST repositories each. Written atomically; writes are coalesced (one in
 * flight, the newest content next), so a burst of updates costs one or two writes.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.js';

const MAX_DIGESTS = 50_000;
const MAX_REPOS_PER_DIGEST = 8;
const MAX_SESSIONS = 1_000;

const fileSchema = z.object({
  version: z.literal(1),
  /** `registry` -> `digest` -> repositories. */
  blobs: z.record(z.record(z.array(z.string()))).default({}),
  /** `registry/repository@digest` -> the session's URL and when it was last moved on. */
  uploads: z.record(z.object({ url: z.string(), offset: z.number().int().nonnegative(), at: z.number() })).default({}),
});

export interface UploadSession {
  url: string;
  /** Bytes the target had accepted then. */
  offset: number;
  /** ms since the epoch of the last chunk the target accepted. */
  at: number;
}

export class MirrorStateFile {
  /** `registry\u0000digest` -> repositories; Map order is recency (oldest first). */
  private readonly blobs = new Map<string, string[]>();
  private readonly uploads = new Map<string, UploadSession>();
  private writing: Promise<void> | undefined;
  private dirty = false;
  private lastError: Error | undefined;

  private constructor(readonly path: string | undefined) {}

  /** A state that lives only as long as the process (no file). */
  static inMemory(): MirrorStateFile {
    return new MirrorStateFile(undefined);
  }

  /**
   * Reads `path`; a missing file is an empty state. A file that is not a state (corrupt, another
   * version) is set aside as empty too, with a warning: it holds only hints, never what to copy.
   */
  static async open(path: string, warn: (msg: string) => void = () => undefined): Promise<MirrorStateFile> {
    const state = new MirrorStateFile(path);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return state;
      throw err;
    }
    let parsed;
    try {
      parsed = fileSchema.safeParse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      warn(`${path}: not a mirror state file (version 1); starting with an empty one (it only holds blob locations and upload sessions)`);
      return state;
    }
    for (const [registry, digests] of Object.entries(parsed.data.blobs)) {
      for (const [digest, repos] of Object.entries(digests)) state.blobs.set(key(registry, digest), repos.slice(0, MAX_REPOS_PER_DIGEST));
    }
    for (const [k, s] of Object.entries(parsed.data.uploads)) state.uploads.set(k, s);
    return state;
  }

  /** Repositories of `registry` known to hold `digest`, most recent first. */
  locations(registry: string, digest: string): string[] {
    return this.blobs.get(key(registry, digest)) ?? [];
  }

  remember(registry: string, repository: string, digest: string): void {
    const k = key(registry, digest);
    const repos = this.blobs.get(k) ?? [];
    if (repos[0] === repository) return;
    this.blobs.delete(k);
    this.blobs.set(k, [repository, ...repos.filter((r) => r !== repository)].slice(0, MAX_REPOS_PER_DIGEST));
    while (this.blobs.size > MAX_DIGESTS) this.blobs.delete(this.blobs.keys().next().value!);
    this.changed();
  }

  /** A location that turned out wrong (the mount was refused): not offered again. */
  forget(registry: string, repository: string, digest: string): void {
    const k = key(registry, digest);
    const repos = this.blobs.get(k);
    if (!repos?.includes(repository)) return;
    const rest = repos.filter((r) => r !== repository);
    if (rest.length > 0) this.blobs.set(k, rest);
    else this.blobs.delete(k);
    this.changed();
  }

  session(upload: string): UploadSession | undefined {
    return this.uploads.get(upload);
  }

  sessions(): Array<[string, UploadSession]> {
    return [...this.uploads];
  }

  setSession(upload: string, url: string, offset: number, now = Date.now()): void {
    this.uploads.delete(upload);
    this.uploads.set(upload, { url, offset, at: now });
    while (this.uploads.size > MAX_SESSIONS) this.uploads.delete(this.uploads.keys().next().value!);
    this.changed();
  }

  dropSession(upload: string): void {
    if (this.uploads.delete(upload)) this.changed();
  }

  /** Resolves when everything changed so far is on disk; rejects with the last write error. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.dirty) await this.write();
    if (this.lastError) {
      const err = this.lastError;
      this.lastError = undefined;
      throw err;
    }
  }

  private changed(): void {
    this.dirty = true;
    if (!this.writing && this.path) void this.write();
  }

  private write(): Promise<void> {
    if (!this.path) {
      this.dirty = false;
      return Promise.resolve();
    }
    this.dirty = false;
    const text = this.serialise();
    this.writing = writeFileAtomic(this.path, text)
      .catch((err: Error) => {
        // A full or read-only disk costs only the hints: the copy goes on, the caller of flush() hears of it.
        this.lastError = err;
      })
      .finally(() => {
        this.writing = undefined;
        if (this.dirty) void this.write();
      });
    return this.writing;
  }

  private serialise(): string {
    const blobs: Record<string, Record<string, string[]>> = {};
    for (const [k, repos] of this.blobs) {
      const [registry, digest] = k.split('\u0000') as [string, string];
      (blobs[registry] ??= {})[digest] = repos;
    }
    return `${JSON.stringify({ version: 1, blobs, uploads: Object.fromEntries(this.uploads) })}\n`;
  }
}

function key(registry: string, digest: string): string {
  return `${registry}\u0000${digest}`;
}
