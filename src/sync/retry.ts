/**
 * `dosync retry`: the tags a service failed with (health gate, or `dosync rollback`) are kept in the state so
 * no cycle applies them again; clearing them lets the next cycle try them. Works on the StateStore's memory
 * only (the caller holds the project lock and saves), and checks every request before changing anything.
 */
import { replaceTag } from '../reference/index.js';
import { UserError } from '../util/errors.js';
import type { FailedTag, StateStore } from './state.js';

/** A service as the retry sees it: its compose name, its state key, and the image the compose file names now. */
export interface RetryService {
  name: string;
  key: string;
  image?: string;
}

export interface FailedRow {
  service: string;
  entry: FailedTag;
}

/** Every failed entry of these services, by service name then time (oldest first). */
export function failedRows(store: StateStore, services: readonly RetryService[]): FailedRow[] {
  return [...services]
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((s) => [...(store.get(s.key)?.failed ?? [])]
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
      .map((entry) => ({ service: s.name, entry })));
}

export interface RetryRequest {
  services: readonly RetryService[];
  /** Only this tag (all its digests); otherwise every failed tag of each service. */
  tag?: string;
  /**
   * `--all`: the services are the whole stack, and one without failed tags (or without `tag`) is passed over;
   * when the services were named, each must have something to clear.
   */
  all: boolean;
  /** Recorded in each history entry. */
  at: Date;
}

export interface ClearedService {
  service: string;
  /** The entries removed, oldest first. */
  cleared: FailedTag[];
}

const tagList = (entries: readonly FailedTag[]) => [...new Set(entries.map((e) => e.tag))].join(', ');

/** The image with the retried tag, for the history (the tag alone when the service has no usable image). */
function imageWithTag(image: string | undefined, tag: string): string {
  if (!image) return tag;
  try {
    return replaceTag(image, tag);
  } catch {
    return tag;
  }
}

/**
 * Removes the failed entries the request names and records one `retry` history entry per tag cleared.
 * Throws a UserError, changing nothing, when a named service has no failed tag or not the one asked for, or
 * when `--all --tag T` finds T nowhere. Returns the services changed (none: nothing was failed).
 */
export function clearFailed(store: StateStore, req: RetryRequest): ClearedService[] {
  const plan: Array<{ service: RetryService; remove: FailedTag[] }> = [];
  for (const service of req.services) {
    const failed = store.get(service.key)?.failed ?? [];
    const remove = failed.filter((e) => req.tag === undefined || e.tag === req.tag);
    if (remove.length > 0) {
      plan.push({ service, remove });
    } else if (!req.all) {
      throw new UserError(failed.length === 0
        ? `${service.name} has no failed tag recorded; nothing to retry (\`dosync retry\` without a service lists the failed tags)`
        : `${service.name}: tag ${req.tag} is not recorded as failed (its failed tags: ${tagList(failed)}); pass one of those to --tag, or leave --tag out to clear them all`, { exitCode: 2 }); // a name or tag mistyped: exit 2, as docs/commands.md says
    }
  }
  if (plan.length === 0 && req.all && req.tag !== undefined) {
    throw new UserError(`no service has tag ${req.tag} recorded as failed; \`dosync retry\` without a service lists the failed tags`, { exitCode: 2 });
  }
  const at = req.at.toISOString();
  return plan.map(({ service, remove }) => {
    store.update(service.key, (s) => {
      s.failed = s.failed.filter((e) => !remove.some((r) => r.tag === e.tag && r.digest === e.digest));
      for (const tag of new Set(remove.map((e) => e.tag))) {
        const last = remove.filter((e) => e.tag === tag).sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0];
        const to = imageWithTag(service.image, tag);
        s.history.push({
          from: service.image ?? to, to, at, outcome: 'retry',
          detail: `failed tag ${tag} cleared by dosync retry (it failed ${last.at}: ${last.reason})`,
        });
      }
    });
    return { service: service.name, cleared: [...remove].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)) };
  });
}
