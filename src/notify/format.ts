/**
 * The channel-neutral view of one cycle's events: a title and, per event, a headline, the tag change,
 * the short digest and the image's source/revision labels. Each channel renders this view in its own
 * markup. Pure: no clock, no I/O.
 */
import { parseImageReference } from '../reference/index.js';
import type { NotifyEvent, NotifyEventKind } from './types.js';

export type Severity = 'info' | 'success' | 'warning' | 'error';

export interface EventView {
  kind: NotifyEventKind;
  /** The service, or "dosync" for errors that concern no single service. */
  subject: string;
  project?: string;
  severity: Severity;
  /** Short, no reason: "web updated to 1.27.1". */
  headline: string;
  /** What the tag change reads as: "1.27.0 -> 1.27.1", "latest (new digest)", full images when the repository changed. */
  from?: string;
  to?: string;
  /** `sha256:` and the first 12 hex digits. */
  digest?: string;
  source?: string;
  /** A git SHA is shortened to 12 characters. */
  revision?: string;
  reason?: string;
  cycles?: number;
  /** The unit the service moved with (`a, b (TAG in .env)`). */
  unit?: string;
  at: Date;
}

export interface MessageView {
  title: string;
  /** The dashboard's address (`public_url`). */
  dashboard?: string;
  project?: string;
  severity: Severity;
  events: EventView[];
}

const SEVERITY: Record<NotifyEventKind, Severity> = {
  'update-found': 'info',
  updated: 'success',
  'rolled-back': 'warning',
  'update-failed': 'error',
  'error-persisting': 'error',
  'signature-invalid': 'error',
};
const RANK: Record<Severity, number> = { info: 0, success: 1, warning: 2, error: 3 };

/** The view of one cycle's events, or undefined when there is nothing to say. */
export function buildMessage(events: NotifyEvent[]): MessageView | undefined {
  if (events.length === 0) return undefined;
  const views = events.map(viewOf);
  const projects = new Set(events.map((e) => e.project).filter((p): p is string => !!p));
  const project = projects.size === 1 ? [...projects][0] : undefined;
  const severity = views.reduce<Severity>((worst, v) => (RANK[v.severity] > RANK[worst] ? v.severity : worst), 'info');
  const prefix = `dosync${project ? ` (${project})` : ''}: `;
  const title = prefix + (views.length === 1 ? views[0].headline : counts(events));
  const dashboard = events.find((e) => e.dashboard)?.dashboard;
  return { title, project, severity, events: views, ...(dashboard ? { dashboard } : {}) };
}

const COUNT_WORDS: Record<NotifyEventKind, [string, string]> = {
  'update-found': ['update available', 'updates available'],
  updated: ['updated', 'updated'],
  'update-failed': ['failed', 'failed'],
  'rolled-back': ['rolled back', 'rolled back'],
  'error-persisting': ['persisting error', 'persisting errors'],
  'signature-invalid': ['unverified image', 'unverified images'],
};
const KIND_ORDER: NotifyEventKind[] = ['updated', 'update-found', 'update-failed', 'rolled-back', 'error-persisting', 'signature-invalid'];

function counts(events: NotifyEvent[]): string {
  return KIND_ORDER.flatMap((kind) => {
    const n = events.filter((e) => e.kind === kind).length;
    return n === 0 ? [] : [`${n} ${COUNT_WORDS[kind][n === 1 ? 0 : 1]}`];
  }).join(', ');
}

function viewOf(e: NotifyEvent): EventView {
  const subject = e.service || 'dosync';
  const { from, to } = tagChange(e);
  const view: EventView = {
    kind: e.kind,
    subject,
    project: e.project,
    severity: SEVERITY[e.kind],
    headline: headline(e.kind, subject, from, to, e.cycles),
    from,
    to,
    digest: e.digest ? shortDigest(e.digest) : undefined,
    source: e.source || e.link || undefined,
    revision: e.revision ? shortRevision(e.revision) : undefined,
    reason: e.reason ? oneLine(e.reason) : undefined,
    cycles: e.cycles,
    unit: e.unit,
    at: e.at,
  };
  return view;
}

function headline(kind: NotifyEventKind, subject: string, from: string | undefined, to: string | undefined, cycles: number | undefined): string {
  switch (kind) {
    case 'update-found':
      return to ? `${subject}: ${to} available` : `${subject}: update available`;
    case 'updated':
      return to ? `${subject} updated to ${to}` : `${subject} updated`;
    case 'update-failed':
      return to ? `${subject}: update to ${to} failed` : `${subject}: update failed`;
    case 'rolled-back':
      return from ? `${subject} rolled back to ${from}` : `${subject} rolled back`;
    case 'error-persisting':
      return cycles ? `${subject}: failing for ${cycles} cycles` : `${subject}: failing`;
    case 'signature-invalid':
      return `${subject}: running image does not verify`;
  }
}

/** "1.27.0 -> 1.27.1", "latest (new digest)" or the single side known; '' when neither is. */
export function changeText(view: Pick<EventView, 'from' | 'to' | 'digest'>, arrow = '->'): string {
  const { from, to } = view;
  if (from && to) return from === to ? `${to}${view.digest ? ' (new digest)' : ''}` : `${from} ${arrow} ${to}`;
  return to ?? from ?? '';
}

/** One plain-text line per event: headline's facts plus the reason. */
export function eventLine(v: EventView, arrow = '->'): string {
  const change = changeText(v, arrow);
  const what: Record<NotifyEventKind, string> = {
    'update-found': `update available${change ? ` ${change}` : ''}`,
    updated: `updated${change ? ` ${change}` : ''}`,
    'update-failed': `update${change ? ` ${change}` : ''} failed`,
    'rolled-back': `rolled back${v.from ? ` to ${v.from}` : ''}${v.to && v.to !== v.from ? ` (${v.to} failed)` : ''}`,
    'error-persisting': `failing${v.cycles ? ` for ${v.cycles} cycles` : ''}`,
    'signature-invalid': `running image${v.from ? ` ${v.from}` : ''} does not verify (not redeployed)`,
  };
  return `${v.subject}: ${what[v.kind]}${v.unit ? ` (with its unit ${v.unit})` : ''}${v.reason ? `: ${v.reason}` : ''}`;
}

/** "digest sha256:0123456789ab", "source https://...", "revision 0123456789ab", each only when known. */
export function detailParts(v: EventView): Array<{ name: 'digest' | 'source' | 'revision'; value: string }> {
  const parts: Array<{ name: 'digest' | 'source' | 'revision'; value: string }> = [];
  if (v.digest) parts.push({ name: 'digest', value: v.digest });
  if (v.source) parts.push({ name: 'source', value: v.source });
  if (v.revision) parts.push({ name: 'revision', value: v.revision });
  return parts;
}

/** The whole message as plain text (ntfy, Gotify, e-mail, fallbacks): one line per event, details indented. */
export function plainText(m: MessageView): string {
  const body = m.events
    .map((v) => {
      const details = detailParts(v).map((d) => `${d.name} ${d.value}`).join(', ');
      return details ? `${eventLine(v)}\n  ${details}` : eventLine(v);
    })
    .join('\n');
  return m.dashboard ? `${body}\ndashboard: ${m.dashboard}` : body;
}

export function shortDigest(digest: string): string {
  const m = /^([a-z0-9]+):([a-f0-9]+)$/i.exec(digest);
  return m ? `${m[1]}:${m[2].slice(0, 12)}` : digest;
}

function shortRevision(revision: string): string {
  return /^[0-9a-f]{40,64}$/i.test(revision) ? revision.slice(0, 12) : revision;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 299)}…` : flat;
}

/** Tags when the repository stays the same (the usual case); whole images when it changed. */
function tagChange(e: NotifyEvent): { from?: string; to?: string } {
  const fromRef = parse(e.fromImage);
  const toRef = parse(e.toImage);
  if (fromRef && toRef && `${fromRef.registry}/${fromRef.repository}` !== `${toRef.registry}/${toRef.repository}`) {
    return { from: e.fromImage, to: e.toImage };
  }
  const tagOf = (ref: ReturnType<typeof parse>, raw?: string): string | undefined =>
    ref ? (ref.tag ?? (ref.digest ? shortDigest(ref.digest) : 'latest')) : raw;
  return { from: e.fromTag ?? tagOf(fromRef, e.fromImage), to: e.toTag ?? tagOf(toRef, e.toImage) };
}

function parse(image: string | undefined): ReturnType<typeof parseImageReference> | undefined {
  if (!image) return undefined;
  try {
    return parseImageReference(image);
  } catch {
    return undefined;
  }
}
