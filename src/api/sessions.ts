/**
 * Dashboard sessions: the API token is exchanged once for a random session id, kept in an HttpOnly,
 * SameSite=Strict cookie that scripts cannot read; each session has its own CSRF token, which every
 * state-changing request made with the cookie must carry (header `X-CSRF-Token` or form field `csrf`).
 * Bounded in count and lifetime. With a file (`<state-dir>/dashboard-sessions.json`, mode 0600) they
 * survive a daemon restart: the file holds only a SHA-256 of each id (a copy of the file cannot sign in),
 * the role, the CSRF token (useless without the cookie) and the expiry, which a restart keeps.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { z } from 'zod';
import { safeEqual } from './auth.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export type Role = 'admin' | 'readonly';

export interface Session {
  /** SHA-256 of the id: how the table and the file know the session. */
  key: string;
  role: Role;
  csrf: string;
  expires: number;
}

export const SESSION_COOKIE = 'dosync_session';
export const MAX_SESSIONS = 200;
const LIFETIME_MS = 12 * 3600_000;

const keyOf = (id: string) => createHash('sha256').update(id).digest('base64url');
const fileSchema = z.object({
  sessions: z.array(z.object({ key: z.string().min(1), role: z.enum(['admin', 'readonly']), csrf: z.string().min(16), expires: z.number() })),
});

export class Sessions {
  private readonly sessions = new Map<string, Session>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly file?: string,
    private readonly onSaveError?: (err: unknown) => void,
  ) {}

  /** The table kept in `file` (expired and unreadable entries dropped; a missing or broken file is an empty table). */
  static async open(file: string | undefined, opts: { now?: () => number; onSaveError?: (err: unknown) => void } = {}): Promise<Sessions> {
    const s = new Sessions(opts.now ?? Date.now, file, opts.onSaveError);
    if (!file) return s;
    const text = await fsp.readFile(file, 'utf8').catch(() => undefined);
    let parsed: z.infer<typeof fileSchema> | undefined;
    try {
      parsed = text ? fileSchema.parse(JSON.parse(text)) : undefined;
    } catch {
      parsed = undefined; // sessions are disposable: a broken file signs everyone out, nothing more
    }
    const now = s.now();
    for (const e of (parsed?.sessions ?? []).filter((e) => e.expires > now).slice(-MAX_SESSIONS)) s.sessions.set(e.key, { ...e });
    return s;
  }

  /** A new session; `id` (the cookie's value) is known here only, the table keeps its hash. */
  create(role: Role): { id: string; session: Session } {
    this.sweep();
    // The oldest session goes first when the table is full: signing in can never grow memory without bound.
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    const session: Session = { key: keyOf(id), role, csrf: randomBytes(24).toString('base64url'), expires: this.now() + LIFETIME_MS };
    this.sessions.set(session.key, session);
    this.save();
    return { id, session };
  }

  /** The session of a Cookie header, if it is valid. */
  fromCookie(cookieHeader: string | undefined): Session | undefined {
    const id = cookieValue(cookieHeader, SESSION_COOKIE);
    if (!id) return undefined;
    const key = keyOf(id);
    const s = this.sessions.get(key);
    if (!s) return undefined;
    if (s.expires <= this.now()) { this.sessions.delete(key); this.save(); return undefined; }
    return s;
  }

  end(key: string): void {
    if (this.sessions.delete(key)) this.save();
  }

  /** Resolves when every change so far is on disk. */
  flush(): Promise<void> {
    return this.saving;
  }

  static csrfValid(session: Session, given: string | undefined): boolean {
    return given !== undefined && given.length > 0 && safeEqual(given, session.csrf);
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, s] of this.sessions) if (s.expires <= now) this.sessions.delete(key);
  }

  /** Writes are chained (one at a time, the last one wins) and atomic; a failed write is logged, never thrown at a request. */
  private save(): void {
    const file = this.file;
    if (!file) return;
    this.saving = this.saving.then(async () => {
      const body = JSON.stringify({ sessions: [...this.sessions.values()] });
      await writeFileAtomic(file, `${body}\n`, { mode: 0o600 });
      await fsp.chmod(file, 0o600); // an older file of another mode is made private too
    }).catch((err: unknown) => this.onSaveError?.(err));
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie of a new session (its id), or the one that ends it (undefined). */
export function sessionCookie(id: string | undefined, secure: boolean): string {
  const base = `${SESSION_COOKIE}=${id ?? ''}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return id ? `${base}; Max-Age=${Math.floor(LIFETIME_MS / 1000)}` : `${base}; Max-Age=0`;
}
