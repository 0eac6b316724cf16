/**
 * Dashboard sessions: the API token is exchanged once for a random session id, kept in an HttpOnly,
 * SameSite=Strict cookie that scripts cannot read; each session has its own CSRF token, which every
 * state-changing request made with the cookie must carry (header `X-CSRF-Token` or form field `csrf`).
 * In memory only (a restart signs everyone out), bounded in count and lifetime.
 */
import { randomBytes } from 'node:crypto';
import { safeEqual } from './auth.js';

export type Role = 'admin' | 'readonly';

export interface Session {
  id: string;
  role: Role;
  csrf: string;
  expires: number;
}

export const SESSION_COOKIE = 'dosync_session';
const MAX_SESSIONS = 200;
const LIFETIME_MS = 12 * 3600_000;

export class Sessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  create(role: Role): Session {
    this.sweep();
    // The oldest session goes first when the table is full: signing in can never grow memory without bound.
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const s: Session = { id: randomBytes(32).toString('base64url'), role, csrf: randomBytes(24).toString('base64url'), expires: this.now() + LIFETIME_MS };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The session of a Cookie header, if it is valid. */
  fromCookie(cookieHeader: string | undefined): Session | undefined {
    const id = cookieValue(cookieHeader, SESSION_COOKIE);
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expires <= this.now()) { this.sessions.delete(id); return undefined; }
    return s;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  static csrfValid(session: Session, given: string | undefined): boolean {
    return given !== undefined && given.length > 0 && safeEqual(given, session.csrf);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expires <= now) this.sessions.delete(id);
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

export function sessionCookie(session: Session | undefined, secure: boolean): string {
  const base = `${SESSION_COOKIE}=${session ? session.id : ''}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return session ? `${base}; Max-Age=${Math.floor(LIFETIME_MS / 1000)}` : `${base}; Max-Age=0`;
}
