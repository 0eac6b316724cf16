/**
 * The dashboard's stylesheet and client script, served by the daemon itself (no CDN: it works offline
 * and makes no third-party request). Hand-written on purpose: about 90 lines of plain browser JavaScript
 * (fetch, FormData, EventSource) do what is needed, where a framework would be the larger part of dosync's
 * download. The script only enhances the server-rendered page; without it every view and form still works.
 */
import { createHash } from 'node:crypto';

export const DASHBOARD_CSS = `
:root{--fg:#1a1a1a;--bg:#fff;--muted:#595959;--line:#c8c8c8;--ok:#0a6b2d;--info:#0b4f8a;--warn:#7a4a00;--bad:#a3141a;--busy:#5a2d91;--focus:#0b4f8a}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.75rem 1rem;border-bottom:1px solid var(--line)}
header h1{margin:0;font-size:1.25rem}header h1 a{color:inherit;text-decoration:none}
.bar{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
main{padding:1rem;max-width:80rem;margin:0 auto}
main:focus{outline:none}
h2{font-size:1.1rem;margin:1rem 0 .5rem;overflow-wrap:anywhere}
h3{margin:1rem 0 .25rem;font-size:1.05rem}
.backups li,.notices li,.reason,#live,.summary,dd{overflow-wrap:anywhere}
/* break-word, not anywhere, in cells: a header word is never split, a long tag still wraps */
td,th{overflow-wrap:break-word}
.b,button{white-space:nowrap}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid var(--line)}
thead th{border-bottom:2px solid var(--muted)}
/* The list: every row the same fixed tracks (the columns line up); rows off screen skip layout. */
.list [role=row]{display:grid;grid-template-columns:minmax(5rem,1.2fr) minmax(4.5rem,.8fr) minmax(5rem,.9fr) minmax(6rem,2fr) minmax(9rem,2.2fr) 7.5rem;gap:0 .75rem;padding:.35rem .5rem;border-bottom:1px solid var(--line)}
.list [role=row][data-service]{content-visibility:auto;contain-intrinsic-size:auto 3.5rem}
.list [role=row]>*{min-width:0;overflow-wrap:anywhere}
.list .head [role=row]{font-weight:600;border-bottom:2px solid var(--muted)}
.list p{margin:0}
.list .group{display:flex;justify-content:space-between;align-items:center;gap:.5rem;flex-wrap:wrap;padding:.35rem .5rem;background:#f2f2f2;font-weight:600}
.list .reason{display:block;margin:0;color:var(--muted);font-size:.9rem}
.list .b{white-space:normal}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .75rem;margin:.5rem 0}
dt{color:var(--muted)}dd{margin:0;min-width:0}
.b{display:inline-block;margin:0;padding:0 .4rem;border-radius:4px;border:1px solid currentColor;font-weight:600}
.ok{color:var(--ok)}.info{color:var(--info)}.warn{color:var(--warn)}.bad{color:var(--bad)}.busy{color:var(--busy)}.b.muted,.muted,.hint,.reason{color:var(--muted)}
.reason{margin:.25rem 0}
.actions{display:flex;flex-wrap:wrap;gap:.4rem;margin:.5rem 0}
form.to-tag{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;max-width:40rem}
form.to-tag input{flex:1 1 8rem;min-width:0}
button,input{font:inherit;min-height:2.5rem}
button{padding:.3rem .8rem;border:1px solid var(--info);border-radius:4px;background:var(--bg);color:var(--info);cursor:pointer}
button.danger{border-color:var(--bad);color:var(--bad)}
button:disabled{opacity:.6}
input{padding:.3rem .5rem;border:1px solid var(--muted);border-radius:4px}
a{color:var(--info)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.scroll{overflow-x:auto}.scroll table{font-size:.9rem}.scroll td{white-space:nowrap}
details{margin:.75rem 0}
summary{cursor:pointer;min-height:2rem}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:var(--bg);padding:.5rem;z-index:1}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.login{max-width:24rem}
.card{display:grid;gap:.5rem;border:1px solid var(--line);border-radius:6px;padding:1rem}
.error{color:var(--bad);font-weight:600}
#live:empty{display:none}
#live{padding:.5rem;border-left:4px solid var(--info);background:#eef4fa}
/* A phone: each row becomes a small block, the cells labelled by CSS (no per-cell markup). */
@media (max-width:40rem){
.list .head{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.list [role=row]{display:block;padding:.5rem 0}
.list [role=row][data-service]{contain-intrinsic-size:auto 9rem}
.list [role=row]>*{display:block}
.list [role=row]>:empty{display:none}
.list [role=cell]:nth-child(2)::before{content:"Current: ";color:var(--muted)}
.list [role=cell]:nth-child(3)::before{content:"Newest allowed: ";color:var(--muted)}
.list [role=cell]:nth-child(4)::before{content:"Policy: ";color:var(--muted)}
}
`;

// Plain ES2020, no build step; runs in any current browser.
export const DASHBOARD_JS = `(function () {
  'use strict';
  var token = document.querySelector('#act input[name=csrf]');
  if (!token || !token.value) return; // no session (a bearer token's look): the plain page is all there is
  var csrf = token.value;
  var live = document.getElementById('live');
  function say(text) { if (live) live.textContent = text; }
  var refreshing = false, again = false, progress = false;
  // Re-renders the view from its fragment, keeping focus on the same control and open <details>.
  function refresh() {
    var old = document.getElementById('view');
    if (!old) return;
    if (refreshing) { again = true; return; }
    refreshing = true;
    var f = document.activeElement;
    var inView = f && old.contains(f) && f !== old;
    var row = inView && f.closest('[data-service]');
    var key = inView ? [row ? row.getAttribute('data-service') : '', f.tagName, f.textContent, f.getAttribute('formaction') || f.name] : null;
    var open = Array.prototype.map.call(old.querySelectorAll('details'), function (d) { return d.open; });
    fetch(old.getAttribute('data-src'), { credentials: 'same-origin', headers: { Accept: 'text/html' } }).then(function (r) {
      if (r.status === 401 || r.status === 404) { location.reload(); throw new Error('reload'); }
      return r.text();
    }).then(function (html) {
      var box = document.createElement('div');
      box.innerHTML = html;
      var next = box.firstElementChild;
      var cur = document.getElementById('view');
      // Nothing changed (the stream's first event, a repeated one): the page stays as it is, under the pointer too.
      if (!cur || !next || next.outerHTML === cur.outerHTML) return;
      cur.replaceWith(next);
      next.querySelectorAll('details').forEach(function (d, i) { if (open[i]) d.open = true; });
      if (key) {
        var scope = key[0] ? next.querySelector('[data-service="' + CSS.escape(key[0]) + '"]') || next : next;
        var same = Array.prototype.find.call(scope.querySelectorAll(key[1]), function (el) {
          return el.textContent === key[2] && (el.getAttribute('formaction') || el.name) === key[3];
        });
        (same || document.getElementById('main')).focus();
      }
    }).catch(function () {}).finally(function () {
      refreshing = false;
      if (again) { again = false; refresh(); }
    });
  }
  document.addEventListener('submit', function (ev) {
    var form = ev.target, button = ev.submitter;
    if (!form || !form.hasAttribute('data-action')) return;
    var url = (button && button.getAttribute('formaction')) || form.getAttribute('action');
    if (url === '/logout') return; // signing out is a navigation
    ev.preventDefault();
    if (button) button.disabled = true;
    fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': csrf },
      body: new URLSearchParams(new FormData(form)).toString(),
    }).then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); })
      .then(function (res) { say(res.body.message || res.body.error || res.body.reason || (res.status < 300 ? 'Done.' : 'Refused.')); refresh(); })
      .catch(function () { say('The request did not reach dosync.'); })
      .finally(function () { if (button) button.disabled = false; });
  });
  // Live progress: opened after the load event, so the stream never holds up the page.
  function follow() {
    if (!window.EventSource) return;
    var es = new EventSource('/v1/events');
    es.addEventListener('status', function (ev) {
      try {
        var doc = JSON.parse(ev.data);
        var busy = (doc.services || []).filter(function (s) { return s.status && s.status.kind === 'updating'; });
        if (busy.length) { progress = true; say(busy.map(function (s) { return s.name + ': ' + s.status.reason; }).join('; ')); }
        else if (progress) { progress = false; say('No update running now.'); }
      } catch (e) { /* a bad event is ignored */ }
      refresh();
    });
  }
  if (document.readyState === 'complete') follow(); else window.addEventListener('load', follow);
})();
`;

/**
 * The assets' version, in their URLs (`?v=`): the daemon lets a browser keep them for a year, and a new
 * build's page names new URLs. So a page load after the first is one request, not three.
 */
export const ASSET_VERSION = createHash('sha256').update(DASHBOARD_CSS).update(DASHBOARD_JS).digest('hex').slice(0, 12);
export const ASSET_CACHE = 'public, max-age=31536000, immutable';
