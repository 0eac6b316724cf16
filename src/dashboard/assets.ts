/**
 * The dashboard's stylesheet and client script, served by the daemon itself (no CDN: it works offline
 * and makes no third-party request). Hand-written on purpose: about 80 lines of plain browser JavaScript
 * (fetch, FormData, EventSource) do what is needed, where a framework would be the larger part of dosync's
 * download. The script only enhances the server-rendered page; without it every view and form still works.
 */

export const DASHBOARD_CSS = `
:root{--fg:#1a1a1a;--bg:#fff;--muted:#595959;--line:#c8c8c8;--ok:#0a6b2d;--info:#0b4f8a;--warn:#7a4a00;--bad:#a3141a;--busy:#5a2d91;--focus:#0b4f8a}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.75rem 1rem;border-bottom:1px solid var(--line)}
header h1{margin:0;font-size:1.25rem}
.bar{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
main{padding:1rem;max-width:70rem;margin:0 auto}
main:focus{outline:none}
h2{font-size:1.1rem;margin:1rem 0 .5rem}
h3{margin:0 0 .25rem;font-size:1.05rem;overflow-wrap:anywhere}
.backups li,.reason,#live,.summary{overflow-wrap:anywhere}
.services{list-style:none;padding:0;margin:0;display:grid;gap:.75rem;grid-template-columns:repeat(auto-fill,minmax(min(100%,22rem),1fr))}
.svc article{border:1px solid var(--line);border-radius:6px;padding:.75rem}
/* 300 cards: the browser lays out only those on screen */
.svc{content-visibility:auto;contain-intrinsic-size:auto 22rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .75rem;margin:.5rem 0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere;min-width:0}
.badge{display:inline-block;margin:0;padding:.1rem .5rem;border-radius:4px;border:1px solid currentColor;font-weight:600}
.badge.ok{color:var(--ok)}.badge.info{color:var(--info)}.badge.warn{color:var(--warn)}.badge.bad{color:var(--bad)}.badge.busy{color:var(--busy)}.badge.muted,.muted,.hint{color:var(--muted)}
.reason{margin:.25rem 0;color:var(--muted)}
.actions{display:flex;flex-wrap:wrap;gap:.4rem;margin:.5rem 0}
form.action{display:inline}
form.to-tag{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;width:100%}
form.to-tag input{flex:1 1 8rem;min-width:0}
button,input{font:inherit;min-height:2.5rem}
button{padding:.3rem .8rem;border:1px solid var(--info);border-radius:4px;background:var(--bg);color:var(--info);cursor:pointer}
button.danger{border-color:var(--bad);color:var(--bad)}
button:disabled{opacity:.6}
input{padding:.3rem .5rem;border:1px solid var(--muted);border-radius:4px}
a{color:var(--info)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.2rem .4rem;border-bottom:1px solid var(--line);white-space:nowrap}
details{margin:.3rem 0}
summary{cursor:pointer;min-height:2rem}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:var(--bg);padding:.5rem;z-index:1}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.login{max-width:24rem}
.card{display:grid;gap:.5rem;border:1px solid var(--line);border-radius:6px;padding:1rem}
.error{color:var(--bad);font-weight:600}
#live:empty{display:none}
#live{padding:.5rem;border-left:4px solid var(--info);background:#eef4fa}
`;

// Plain ES2020, no build step; runs in any current browser.
export const DASHBOARD_JS = `(function () {
  'use strict';
  var csrf = document.body && document.body.getAttribute('data-csrf');
  if (!csrf) return;
  var live = document.getElementById('live');
  function say(text) { if (live) live.textContent = text; }
  function openDetails() {
    var open = [];
    document.querySelectorAll('#services li.svc').forEach(function (li) {
      li.querySelectorAll('details').forEach(function (d, i) { if (d.open) open.push(li.id + ':' + i); });
    });
    return open;
  }
  var refreshing = false, again = false, progress = false;
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    var focused = document.activeElement;
    var focusKey = focused && focused.closest && focused.closest('li.svc') ? [focused.closest('li.svc').id, focused.tagName, focused.textContent, focused.name] : null;
    var open = openDetails();
    fetch('/fragment/services', { credentials: 'same-origin', headers: { Accept: 'text/html' } }).then(function (r) {
      if (r.status === 401) { location.reload(); throw new Error('signed out'); }
      return r.text();
    }).then(function (html) {
      var old = document.getElementById('services');
      var box = document.createElement('div');
      box.innerHTML = html;
      var next = box.firstElementChild;
      if (!old || !next) return;
      old.replaceWith(next);
      open.forEach(function (key) {
        var parts = key.split(':');
        var li = document.getElementById(parts[0]);
        var d = li && li.querySelectorAll('details')[Number(parts[1])];
        if (d) d.open = true;
      });
      if (focusKey) {
        var li2 = document.getElementById(focusKey[0]);
        var same = li2 && Array.prototype.find.call(li2.querySelectorAll(focusKey[1]), function (el) { return el.textContent === focusKey[2] && el.name === focusKey[3]; });
        (same || li2 || document.getElementById('main')).focus();
      }
    }).catch(function () {}).finally(function () {
      refreshing = false;
      if (again) { again = false; refresh(); }
    });
  }
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form || !form.hasAttribute('data-action')) return;
    ev.preventDefault();
    var buttons = form.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.getAttribute('action'), {
      method: 'POST', credentials: 'same-origin',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': csrf },
      body: new URLSearchParams(new FormData(form)).toString(),
    }).then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); })
      .then(function (res) { say(res.body.message || res.body.error || res.body.reason || (res.status < 300 ? 'Done.' : 'Refused.')); refresh(); })
      .catch(function () { say('The request did not reach dosync.'); })
      .finally(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  });
  if (window.EventSource) {
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
})();
`;
