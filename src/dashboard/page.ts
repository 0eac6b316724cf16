/**
 * The dashboard's HTML (pure: a status document in, a page out). Server-rendered so that reading works
 * without JavaScript; every action is a plain form that also works without it (the server answers a
 * form post with a redirect back). The client script (assets.ts) only enhances: actions without reload,
 * and live progress over server-sent events, re-fetching the `services` fragment rendered here.
 */
import type { ServiceStatus, StatusDoc } from '../api/status-doc.js';

export interface PageModel {
  doc: StatusDoc;
  role: 'admin' | 'readonly';
  csrf: string;
  /** One line to show after a no-JS action (from the redirect's query). */
  message?: string;
  backups?: Array<{ name: string; time: string; file: string }>;
  /** Whole host (issue-18b): the project this part of the page shows; its forms carry it, its ids are prefixed with it. */
  project?: string;
}

const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const when = (iso: string | undefined) => (iso ? `<time datetime="${esc(iso)}">${esc(iso.slice(0, 19).replace('T', ' '))} UTC</time>` : '');
const idOf = (m: Pick<PageModel, 'project'>, name: string) => `svc-${m.project ? `${m.project}--` : ''}${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;

function head(title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="/assets/dashboard.css"><script src="/assets/dashboard.js" defer></script></head>`;
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

function actionForm(m: PageModel, path: string, label: string, fields: Record<string, string | undefined>, opts: { danger?: boolean; describe?: string } = {}): string {
  const hidden = Object.entries({ ...fields, project: m.project }).filter(([, v]) => v !== undefined).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
  return `<form method="post" action="${esc(path)}" class="action" data-action><input type="hidden" name="csrf" value="${esc(m.csrf)}">${hidden}<button type="submit"${opts.danger ? ' class="danger"' : ''}>${esc(label)}${opts.describe ? `<span class="sr-only"> ${esc(opts.describe)}</span>` : ''}</button></form>`;
}

function serviceActions(m: PageModel, s: ServiceStatus): string {
  if (m.role !== 'admin' || m.doc.checkOnly) return '';
  const st = s.status;
  const out: string[] = [];
  const n = s.name;
  if (st?.kind === 'pending-approval') out.push(actionForm(m, '/v1/approve', 'Approve', { service: n, tag: st.tag }, { describe: `${n} ${st.tag}` }));
  if (st?.tag && (st.kind === 'pending-approval' || st.kind === 'update-available' || st.kind === 'held')) out.push(actionForm(m, '/v1/skip', `Skip ${st.tag}`, { service: n, tag: st.tag }, { describe: `for ${n}` }));
  if (s.failed.length > 0) out.push(actionForm(m, '/v1/retry', 'Retry failed', { service: n }, { describe: `tags of ${n}` }));
  // Roll back undoes the last update while it is what runs (as `dosync rollback SERVICE` does).
  const lastUpdate = s.history.find((h) => h.outcome === 'updated');
  if (lastUpdate && s.currentTag && lastUpdate.to.endsWith(`:${s.currentTag}`) && lastUpdate.from !== lastUpdate.to) out.push(actionForm(m, '/v1/rollback', 'Roll back', { service: n }, { danger: true, describe: n }));
  out.push(actionForm(m, '/v1/check', 'Check', { service: n }, { describe: n }));
  out.push(s.paused ? actionForm(m, '/v1/resume', 'Resume', { service: n }, { describe: n }) : actionForm(m, '/v1/pause', 'Pause', { service: n }, { describe: n }));
  const tagId = `${idOf(m, n)}-tag`;
  out.push(`<form method="post" action="/v1/update" class="action to-tag" data-action><input type="hidden" name="csrf" value="${esc(m.csrf)}"><input type="hidden" name="service" value="${esc(n)}">${m.project ? `<input type="hidden" name="project" value="${esc(m.project)}">` : ''}`
    + `<label for="${tagId}">Update ${esc(n)} to tag</label><input id="${tagId}" name="tag" required pattern="[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,127}" value="${esc(s.availableTag ?? '')}"><button type="submit">Update</button></form>`);
  return `<div class="actions">${out.join('')}</div>`;
}

function history(s: ServiceStatus): string {
  if (s.history.length === 0) return '<p class="muted">No updates recorded.</p>';
  const rows = s.history.map((h) => `<tr><td>${when(h.at)}</td><td>${esc(h.outcome)}</td><td>${esc(h.from)}</td><td>${esc(h.to)}</td><td>${esc(h.detail ?? '')}</td></tr>`).join('');
  return `<div class="scroll"><table><caption class="sr-only">Updates of ${esc(s.name)}</caption><thead><tr><th scope="col">When</th><th scope="col">Result</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Detail</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function failed(s: ServiceStatus): string {
  if (s.failed.length === 0 && s.skipped.length === 0) return '';
  const f = s.failed.map((e) => `<li><strong>${esc(e.tag)}</strong> ${when(e.at)}: ${esc(e.reason)}</li>`).join('');
  const k = s.skipped.map((t) => `<li><strong>${esc(t)}</strong>: skipped</li>`).join('');
  return `<details><summary>Failed and skipped tags (${s.failed.length + s.skipped.length})</summary><ul>${f}${k}</ul></details>`;
}

function serviceCard(m: PageModel, s: ServiceStatus): string {
  const st = statusText(s);
  const reason = s.status?.reason ? `<p class="reason">${esc(s.status.reason)}</p>` : '';
  const link = s.link ? ` <a href="${esc(s.link)}" rel="noopener noreferrer">release notes<span class="sr-only"> of ${esc(s.name)} ${esc(s.availableTag ?? '')}</span></a>` : '';
  return `<li class="svc" id="${idOf(m, s.name)}" data-service="${esc(s.name)}" data-status="${esc(s.status?.kind ?? 'unknown')}">
<article aria-labelledby="${idOf(m, s.name)}-h"><h3 id="${idOf(m, s.name)}-h">${esc(s.name)}</h3>
<p class="badge ${st.tone}" data-role="status">${esc(st.text)}</p>${reason}
<dl><dt>Current</dt><dd data-role="current">${esc(s.currentTag ?? '-')}</dd><dt>Newest allowed</dt><dd data-role="newest">${esc(s.availableTag ?? s.currentTag ?? '-')}${link}</dd>
<dt>Policy</dt><dd>${esc(s.policy ?? '-')}</dd><dt>Last check</dt><dd>${when(s.lastCheck) || '-'}</dd></dl>
${serviceActions(m, s)}
<details data-role="history"><summary>History (${s.history.length})</summary>${history(s)}</details>
${failed(s)}
</article></li>`;
}

/** The part the client re-fetches on each change: the services list and the project line. */
export function servicesFragment(m: PageModel): string {
  const d = m.doc;
  if (Array.isArray(d.projects)) return hostFragment(m, d.projects as Array<StatusDoc & { error?: string }>);
  const cycle = d.cycle?.running ? 'A cycle is running.' : d.cycle?.lastAt ? `Last cycle ${d.cycle.lastAt.slice(0, 19).replace('T', ' ')} UTC.` : 'No cycle yet.';
  const backups = m.backups && m.backups.length > 0
    ? `<section aria-labelledby="h-backups"><h2 id="h-backups">Backups</h2><ul class="backups">${m.backups.map((b) => `<li><code>${esc(b.name)}</code> ${when(b.time)} <span class="muted">of ${esc(b.file)}</span></li>`).join('')}</ul></section>`
    : '';
  return `<div id="services" data-cycle="${d.cycle?.running ? 'running' : 'idle'}">
<p class="summary">Project <strong>${esc(d.project)}</strong>${d.paused ? ' <span class="badge warn">updates paused</span>' : ''}${d.checkOnly ? ' <span class="badge info">check only</span>' : ''} <span data-role="cycle">${esc(cycle)}</span></p>
<section aria-labelledby="h-services"><h2 id="h-services">Services</h2>
${d.services.length === 0 ? '<p class="muted">No services yet: the first cycle has not finished.</p>' : `<ul class="services">${d.services.map((s) => serviceCard(m, s)).join('\n')}</ul>`}
</section>${backups}</div>`;
}

/** Whole host (issue-18b): one section per project, each with its own pause and check, in the one `#services`. */
function hostFragment(m: PageModel, projects: Array<StatusDoc & { error?: string }>): string {
  const d = m.doc;
  const cycle = d.cycle?.running ? 'A cycle is running.' : d.cycle?.lastAt ? `Last cycle ${d.cycle.lastAt.slice(0, 19).replace('T', ' ')} UTC.` : 'No cycle yet.';
  const sections = projects.map((p) => {
    const pm: PageModel = { ...m, doc: p, project: p.project };
    const h = `h-${idOf(pm, '')}`;
    const actions = m.role === 'admin' && !p.checkOnly ? `<div class="actions">${actionForm(pm, '/v1/check', 'Check', {}, { describe: p.project })}${p.paused ? actionForm(pm, '/v1/resume', 'Resume updates', {}, { describe: `of ${p.project}` }) : actionForm(pm, '/v1/pause', 'Pause updates', {}, { describe: `of ${p.project}` })}</div>` : '';
    return `<section class="project" data-project="${esc(p.project)}" aria-labelledby="${h}"><h2 id="${h}">Project ${esc(p.project)}${p.paused ? ' <span class="badge warn">updates paused</span>' : ''}</h2>${actions}
${p.error ? `<p class="error">${esc(p.error)}</p>` : ''}${p.services.length === 0 ? '<p class="muted">No services checked yet.</p>' : `<ul class="services">${p.services.map((s) => serviceCard(pm, s)).join('\n')}</ul>`}</section>`;
  });
  return `<div id="services" data-cycle="${d.cycle?.running ? 'running' : 'idle'}">
<p class="summary"><strong>${projects.length}</strong> projects${d.checkOnly ? ' <span class="badge info">check only</span>' : ''} <span data-role="cycle">${esc(cycle)}</span></p>
${projects.length === 0 ? '<p class="muted">No projects yet: the first cycle has not finished.</p>' : sections.join('\n')}</div>`;
}

export function dashboardPage(m: PageModel): string {
  const admin = m.role === 'admin';
  const projectActions = admin ? [
    actionForm(m, '/v1/check', 'Check now', {}),
    ...(m.doc.checkOnly || Array.isArray(m.doc.projects) ? [] : [m.doc.paused ? actionForm(m, '/v1/resume', 'Resume updates', {}) : actionForm(m, '/v1/pause', 'Pause updates', {})]),
  ].join('') : '<span class="badge muted">read-only</span>';
  return `${head(`dosync: ${Array.isArray(m.doc.projects) ? 'whole host' : m.doc.project}`)}
<body data-csrf="${esc(m.csrf)}">
<a class="skip" href="#main">Skip to the services</a>
<header><h1>dosync</h1><nav aria-label="Project actions" class="bar">${projectActions}
<form method="post" action="/logout" class="action"><input type="hidden" name="csrf" value="${esc(m.csrf)}"><button type="submit">Sign out</button></form></nav></header>
<main id="main" tabindex="-1">
<p id="live" role="status" aria-live="polite">${esc(m.message ?? '')}</p>
${servicesFragment(m)}
</main></body></html>`;
}
