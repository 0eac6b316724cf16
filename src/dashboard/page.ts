/**
 * The dashboard's HTML (pure: a status document in, a page out). Server-rendered so that reading works
 * without JavaScript. Two views:
 *   - the list (`/`): one compact row per service (service, current, newest allowed, policy, status)
 *     and the one action that row needs now (Approve); about 340 bytes a service, so 300 services come
 *     to about 100 KiB and the browser lays out only the rows on screen;
 *   - one service (`/service?service=NAME`): details, release notes, every action, history, failed and
 *     skipped tags.
 * Every action is a button of the page's one form (`#act`, which carries the page's CSRF token once) with
 * its own `formaction` URL (`/v1/approve?service=web&tag=1.1.0`): it works without JavaScript (the server
 * answers with a redirect back to the view) and the client script (assets.ts) sends it with fetch instead.
 * The script also follows live progress over server-sent events, re-fetching the view's fragment.
 */
import type { ServiceStatus, StatusDoc } from '../api/status-doc.js';
import { ASSET_VERSION } from './assets.js';

export interface PageModel {
  doc: StatusDoc;
  role: 'admin' | 'readonly';
  csrf: string;
  /** One line to show after a no-JS action (from the redirect's query). */
  message?: string;
  backups?: DashboardBackup[];
}

/** A whole-host page's line about what it cannot look after (a project that did not run, a stack with no file). */
export interface PageNotice { what: string; text: string }

/** One backup in the dashboard's list; `project` on a whole-host dashboard. */
export interface DashboardBackup { name: string; time: string; file: string; project?: string }

const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const when = (iso: string | undefined) => (iso ? `<time datetime="${esc(iso)}">${esc(iso.slice(0, 19).replace('T', ' '))} UTC</time>` : '');
const canAct = (m: PageModel) => m.role === 'admin' && !m.doc.checkOnly;

/** The query that names a service: its project too when it is not the document's (a whole-host daemon). */
function serviceQuery(m: PageModel, s: Pick<ServiceStatus, 'name' | 'project'>): string {
  const q = new URLSearchParams({ service: s.name });
  if (s.project && s.project !== m.doc.project) q.set('project', s.project);
  return q.toString();
}

/** The service a `/service` request names, if the document has it. */
export function findService(doc: StatusDoc, service: string, project?: string): ServiceStatus | undefined {
  return doc.services.find((s) => s.name === service && (project === undefined || project === '' || s.project === project));
}

function head(title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="/assets/dashboard.css?v=${ASSET_VERSION}"><script src="/assets/dashboard.js?v=${ASSET_VERSION}" defer></script></head>`;
}

export function loginPage(opts: { error?: string; disabled?: boolean }): string {
  return `${head('dosync: sign in')}
<body><main id="main" class="login"><h1>dosync</h1>
${opts.disabled ? '<p class="error" role="alert">The dashboard is off until an API token is configured: pass --api-token or set DOSYNC_API_TOKEN.</p>' : `
<form method="post" action="/login" class="card">
<h2>Sign in</h2>
${opts.error ? `<p class="error" role="alert" id="login-error">${esc(opts.error)}</p>` : ''}
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required${opts.error ? ' aria-describedby="login-error"' : ''}>
<button type="submit">Sign in</button>
<p class="hint">The token of <code>--api-token</code> (or <code>api_token_readonly</code> to look without changing anything).</p>
</form>`}
</main></body></html>`;
}

function statusText(s: ServiceStatus): { text: string; tone: string } {
  const st = s.status;
  if (!st) return { text: 'Not checked yet', tone: 'muted' };
  switch (st.kind) {
    case 'up-to-date': return { text: 'Up to date', tone: 'ok' };
    case 'update-available': return { text: `Update available: ${st.tag}`, tone: 'info' };
    case 'pending-approval': return { text: `Waiting for approval: ${st.tag}`, tone: 'warn' };
    case 'held': return { text: `Held${st.hold ? ` (${st.hold})` : ''}: ${st.tag}${st.until ? ` until ${st.until.slice(0, 16).replace('T', ' ')} UTC` : ''}`, tone: 'info' };
    case 'failed-tag': return { text: `${st.tag} failed`, tone: 'bad' };
    case 'updating': return { text: `Updating to ${st.tag}: ${st.step}`, tone: 'busy' };
    case 'rolled-back': return { text: `Rolled back${st.tag ? ` from ${st.tag}` : ''}`, tone: 'bad' };
    case 'skipped': return { text: 'Not managed', tone: 'muted' };
    case 'error': return { text: 'Error', tone: 'bad' };
  }
}

/** The status's reason, unless the badge already says it ("Waiting for approval: 1.1.0" over "waiting for approval"). */
function reasonOf(s: ServiceStatus, badge: string): string {
  const reason = s.status?.reason?.trim() ?? '';
  return reason && !badge.toLowerCase().includes(reason.toLowerCase()) ? reason : '';
}

/**
 * The page's one form: the CSRF token once, and where a no-JS post comes back to. Every action button
 * names it (`form="act"`) and its own URL, so a row costs one button, not a form with hidden fields.
 */
function actForm(m: PageModel, back: string): string {
  return `<form id="act" method="post" action="/v1/check" data-action><input type="hidden" name="csrf" value="${esc(m.csrf)}"><input type="hidden" name="back" value="${esc(back)}"></form>`;
}

function button(path: string, query: string, label: string, opts: { danger?: boolean; describe?: string } = {}): string {
  const url = query ? `${path}?${query}` : path;
  return `<button form="act" formaction="${esc(url)}"${opts.danger ? ' class="danger"' : ''}>${esc(label)}${opts.describe ? `<span class="sr-only"> ${esc(opts.describe)}</span>` : ''}</button>`;
}

function releaseLink(s: ServiceStatus, label: string): string {
  return s.link ? ` <a href="${esc(s.link)}" rel="noopener noreferrer">${label}<span class="sr-only"> of ${esc(s.name)} ${esc(s.availableTag ?? '')}</span></a>` : '';
}

// ------------------------------------------------------------------------------------------------ the list

function serviceRow(m: PageModel, s: ServiceStatus): string {
  const st = statusText(s);
  const q = serviceQuery(m, s);
  const why = reasonOf(s, st.text);
  const reason = why ? ` <span class="reason">${esc(why)}</span>` : '';
  const approve = canAct(m) && s.status?.kind === 'pending-approval' && s.status.tag
    ? button('/v1/approve', `${q}&tag=${encodeURIComponent(s.status.tag)}`, 'Approve', { describe: `${s.name} ${s.status.tag}` }) : '';
  return `<div role="row" data-service="${esc(s.name)}" data-status="${esc(s.status?.kind ?? 'unknown')}"><p role="rowheader"><a href="/service?${esc(q)}">${esc(s.name)}</a></p>`
    + `<p role="cell">${esc(s.currentTag ?? '-')}</p><p role="cell">${esc(s.availableTag ?? s.currentTag ?? '-')}</p><p role="cell">${esc(s.policy ?? '-')}</p>`
    + `<p role="cell"><span class="b ${st.tone}">${esc(st.text)}</span>${reason}</p><p role="cell">${approve}</p></div>`;
}

/**
 * The services as an ARIA table of grid rows rather than a <table>: a row off screen is skipped by layout
 * (content-visibility, which table rows cannot have), which halved chromium's time to the load event with
 * 300 services (bench/dashboard.ts). Every row's grid has the same fixed tracks, so the columns line up.
 */
function serviceTable(m: PageModel): string {
  const d = m.doc;
  if (d.services.length === 0) return `<p class="muted">${d.cycle?.lastAt ? 'No services to show.' : 'No services yet: the first cycle has not finished.'}</p>`;
  // A whole-host document holds several projects: one row group each, headed by its name.
  const groups = new Map<string, ServiceStatus[]>();
  for (const s of d.services) {
    const p = s.project || d.project;
    groups.set(p, [...(groups.get(p) ?? []), s]);
  }
  const several = groups.size > 1;
  const bodies = [...groups].map(([project, list]) => `<div role="rowgroup">${several ? groupHeader(m, project) : ''}\n${list.map((s) => serviceRow(m, s)).join('\n')}</div>`);
  const cols = ['Service', 'Current', 'Newest allowed', 'Policy', 'Status'].map((c) => `<span role="columnheader">${c}</span>`).join('');
  return `<div role="table" class="list" aria-labelledby="h-services"><div role="rowgroup" class="head"><div role="row">${cols}<span role="columnheader"><span class="sr-only">Action</span></span></div></div>${bodies.join('')}</div>`;
}

/** Whole-host page: a project's heading row, with its own pause or resume (the header's acts on every project). */
function groupHeader(m: PageModel, project: string): string {
  const paused = pausedProjects(m).includes(project);
  const q = new URLSearchParams({ project }).toString();
  const toggle = canAct(m) ? (paused ? button('/v1/resume', q, 'Resume project', { describe: project }) : button('/v1/pause', q, 'Pause project', { describe: project })) : '';
  return `<div role="row" class="group" data-project="${esc(project)}"><span role="rowheader">Project ${esc(project)}${paused ? ' <span class="b warn">updates paused</span>' : ''}</span><span role="cell">${toggle}</span></div>`;
}

const pausedProjects = (m: PageModel): string[] => (Array.isArray(m.doc.pausedProjects) ? (m.doc.pausedProjects as string[]) : []);
const projectNames = (m: PageModel): string[] | undefined => (Array.isArray(m.doc.projectNames) ? (m.doc.projectNames as string[]) : undefined);

function summary(m: PageModel): string {
  const d = m.doc;
  const cycle = d.cycle?.running ? 'A cycle is running.' : d.cycle?.lastAt ? `Last cycle ${d.cycle.lastAt.slice(0, 19).replace('T', ' ')} UTC.` : 'No cycle yet.';
  const names = projectNames(m);
  const what = names ? `Whole host: <strong>${names.length}</strong> project${names.length === 1 ? '' : 's'}` : `Project <strong>${esc(d.project)}</strong>`;
  return `<p class="summary">${what}${d.paused ? ' <span class="b warn">updates paused</span>' : ''}${d.checkOnly ? ' <span class="b info">check only</span>' : ''} <span data-role="cycle">${esc(cycle)}</span></p>`;
}

/** The part the client re-fetches on each change: the project line and the services table. */
export function servicesFragment(m: PageModel): string {
  const backups = m.backups && m.backups.length > 0
    ? `<details><summary>Backups (${m.backups.length})</summary><ul class="backups">${m.backups.map((b) => `<li><code>${esc(b.name)}</code> ${when(b.time)} <span class="muted">of ${esc(b.file)}${b.project ? ` (project ${esc(b.project)})` : ''}</span></li>`).join('')}</ul></details>`
    : '';
  const notices = Array.isArray(m.doc.notices) ? (m.doc.notices as PageNotice[]) : [];
  const attention = notices.length > 0
    ? `<section aria-labelledby="h-attention"><h2 id="h-attention">Needs attention (${notices.length})</h2><ul class="notices">${notices.map((n) => `<li><strong>${esc(n.what)}</strong>: ${esc(n.text)}</li>`).join('')}</ul></section>\n`
    : '';
  return `<div id="view" data-src="/fragment/services" data-cycle="${m.doc.cycle?.running ? 'running' : 'idle'}">
${summary(m)}
${attention}<section aria-labelledby="h-services"><h2 id="h-services">Services</h2>
${serviceTable(m)}
</section>${backups}</div>`;
}

function frame(m: PageModel, title: string, back: string, body: string): string {
  const projectActions = m.role === 'admin' ? [
    button('/v1/check', '', 'Check now'),
    ...(m.doc.checkOnly ? [] : [m.doc.paused ? button('/v1/resume', '', projectNames(m) ? 'Resume every project' : 'Resume updates') : button('/v1/pause', '', projectNames(m) ? 'Pause every project' : 'Pause updates')]),
  ].join('') : '<span class="b muted">read-only</span>';
  return `${head(title)}
<body>
<a class="skip" href="#main">Skip to the services</a>
<header><h1><a href="/">dosync</a></h1>${actForm(m, back)}<nav aria-label="Project actions" class="bar">${projectActions}${button('/logout', '', 'Sign out')}</nav></header>
<main id="main" tabindex="-1">
<p id="live" role="status" aria-live="polite">${esc(m.message ?? '')}</p>
${body}
</main></body></html>`;
}

export function dashboardPage(m: PageModel): string {
  return frame(m, projectNames(m) ? 'dosync: whole host' : `dosync: ${m.doc.project}`, '/', servicesFragment(m));
}

// ------------------------------------------------------------------------------------------------ one service

function serviceActions(m: PageModel, s: ServiceStatus): string {
  if (!canAct(m)) return '';
  const st = s.status;
  const q = serviceQuery(m, s);
  const n = s.name;
  const out: string[] = [];
  if (st?.kind === 'pending-approval' && st.tag) out.push(button('/v1/approve', `${q}&tag=${encodeURIComponent(st.tag)}`, 'Approve', { describe: `${n} ${st.tag}` }));
  if (st?.tag && (st.kind === 'pending-approval' || st.kind === 'update-available' || st.kind === 'held')) out.push(button('/v1/skip', `${q}&tag=${encodeURIComponent(st.tag)}`, `Skip ${st.tag}`, { describe: `for ${n}` }));
  if (s.failed.length > 0) out.push(button('/v1/retry', q, 'Retry failed', { describe: `tags of ${n}` }));
  // Roll back undoes the last update while it is what runs (as `dosync rollback SERVICE` does).
  const lastUpdate = s.history.find((h) => h.outcome === 'updated');
  if (lastUpdate && s.currentTag && lastUpdate.to.endsWith(`:${s.currentTag}`) && lastUpdate.from !== lastUpdate.to) out.push(button('/v1/rollback', q, 'Roll back', { danger: true, describe: n }));
  out.push(button('/v1/check', q, 'Check', { describe: n }));
  out.push(s.paused ? button('/v1/resume', q, 'Resume', { describe: n }) : button('/v1/pause', q, 'Pause', { describe: n }));
  // The one form with a field of its own (the tag to go to); it carries the page's token itself.
  const toTag = `<form method="post" action="/v1/update?${esc(q)}" class="to-tag" data-action><input type="hidden" name="csrf" value="${esc(m.csrf)}"><input type="hidden" name="back" value="/service?${esc(q)}">`
    + `<label for="to-tag">Update ${esc(n)} to tag</label><input id="to-tag" name="tag" required pattern="[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,127}" value="${esc(s.availableTag ?? '')}"><button type="submit">Update</button></form>`;
  return `<div class="actions">${out.join('')}</div>${toTag}`;
}

function history(s: ServiceStatus): string {
  if (s.history.length === 0) return '<p class="muted">No updates recorded.</p>';
  const rows = s.history.map((h) => `<tr><td>${when(h.at)}</td><td>${esc(h.outcome)}</td><td>${esc(h.from)}</td><td>${esc(h.to)}</td><td>${esc(h.detail ?? '')}</td></tr>`).join('');
  // The region scrolls on a phone; tabindex lets a keyboard scroll it too.
  return `<div class="scroll" tabindex="0" role="region" aria-labelledby="h-history"><table><thead><tr><th scope="col">When</th><th scope="col">Result</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Detail</th></tr></thead><tbody data-role="history">${rows}</tbody></table></div>`;
}

function tagLists(s: ServiceStatus): string {
  if (s.failed.length === 0 && s.skipped.length === 0) return '<p class="muted">None.</p>';
  const f = s.failed.map((e) => `<li><strong>${esc(e.tag)}</strong> ${when(e.at)}: ${esc(e.reason)}</li>`).join('');
  const k = s.skipped.map((t) => `<li><strong>${esc(t)}</strong>: skipped</li>`).join('');
  return `<ul>${f}${k}</ul>`;
}

/** One service's view, re-fetched by the client on each change. */
export function serviceFragment(m: PageModel, s: ServiceStatus): string {
  const st = statusText(s);
  const q = serviceQuery(m, s);
  const why = reasonOf(s, st.text);
  const reason = why ? `<p class="reason">${esc(why)}</p>` : '';
  const row = (dt: string, dd: string) => `<dt>${dt}</dt><dd>${dd}</dd>`;
  return `<div id="view" data-src="/fragment/service?${esc(q)}" data-service="${esc(s.name)}" data-status="${esc(s.status?.kind ?? 'unknown')}">
<p><a href="/">All services</a></p>
<h2 id="h-service">${esc(s.name)}${s.project && s.project !== m.doc.project ? ` <span class="muted">(project ${esc(s.project)})</span>` : ''}</h2>
<p><span class="b ${st.tone}" data-role="status">${esc(st.text)}</span></p>${reason}
<dl>${row('Current', `<span class="cur">${esc(s.currentTag ?? '-')}</span>`)}${row('Newest allowed', `${esc(s.availableTag ?? s.currentTag ?? '-')}${releaseLink(s, 'release notes')}`)}${row('Policy', esc(s.policy ?? '-'))}${row('Image', esc(s.image ?? '-'))}${row('Last check', when(s.lastCheck) || '-')}${row('Last update', s.lastUpdate ? `${when(s.lastUpdate)} ${esc(s.lastUpdateResult ?? '')}` : '-')}${s.paused ? row('Paused', 'yes (updates of this service wait until resumed)') : ''}${s.signatureUnverified ? row('Signature', esc(s.signatureUnverified)) : ''}</dl>
${serviceActions(m, s)}
<section aria-labelledby="h-history"><h3 id="h-history">History (${s.history.length})</h3>${history(s)}</section>
<section aria-labelledby="h-tags"><h3 id="h-tags">Failed and skipped tags (${s.failed.length + s.skipped.length})</h3>${tagLists(s)}</section>
</div>`;
}

export function servicePage(m: PageModel, s: ServiceStatus): string {
  return frame(m, `dosync: ${s.name}`, `/service?${serviceQuery(m, s)}`, serviceFragment(m, s));
}

/** A `/service` request for a service the document does not have. */
export function noServicePage(m: PageModel, service: string): string {
  return frame(m, 'dosync: no such service', '/', `<div id="view"><p><a href="/">All services</a></p><h2>No service ${esc(service)}</h2><p>This stack has no service of that name (any more).</p></div>`);
}
