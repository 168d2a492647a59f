#include "live/status_page.hpp"

namespace orch::live {

const std::string& status_page_html() {
  static const std::string html = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>orch status</title>
<style>
:root{--bg:#0f1419;--fg:#e6e6e6;--panel:#1a2129;--line:#2a333d;--line2:#1f262e;--ok:#4cd17b;--warn:#f0c24b;--bad:#ff6b6b;--off:#8a949e;--chart:#5aa9ff}
@media (prefers-color-scheme: light){:root{--bg:#fafbfc;--fg:#1b1f24;--panel:#e9edf1;--line:#d0d7de;--line2:#e4e8ec;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--off:#6e7781;--chart:#0969da}}
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:var(--bg);color:var(--fg)}
header{padding:12px 20px;background:var(--panel);display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center}
h1{font-size:18px;margin:0} h2{font-size:15px;margin:18px 0 6px}
main{padding:0 20px 20px;display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:20px}
table{border-collapse:collapse;width:100%} td,th{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left} td{overflow-wrap:anywhere}
.ok,.healthy,.up{color:var(--ok)}.degraded,.starting{color:var(--warn)}.down,.unhealthy{color:var(--bad)}.off{color:var(--off)}
.wide{grid-column:1/3;min-width:0} .why{color:var(--off);font-size:12px;overflow-wrap:anywhere}
#events{font:12px ui-monospace,monospace;max-height:70vh;overflow:auto}
#events div{padding:2px 0;border-bottom:1px solid var(--line2);overflow-wrap:anywhere}
.badge{padding:2px 8px;border-radius:10px;background:var(--line)}
#charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
.card{background:var(--panel);border-radius:6px;padding:8px 10px}
.card .head{display:flex;justify-content:space-between;gap:8px;flex-wrap:wrap}
.card .sub{color:var(--off);font-size:12px}
svg.chart{display:block;width:100%;height:64px;margin-top:4px}
svg.chart .line{fill:none;stroke:var(--chart);stroke-width:1.5;vector-effect:non-scaling-stroke}
svg.chart .down{fill:var(--bad)} svg.chart .base{stroke:var(--line);stroke-width:1;vector-effect:non-scaling-stroke}
#totals span{display:inline-block;margin-right:14px}
@media (max-width:700px){main{grid-template-columns:minmax(0,1fr);padding:0 10px 10px}.wide{grid-column:1}header{padding:10px}td,th{padding:4px}}
</style></head><body>
<header><h1>orch</h1><span id="overall" class="badge">…</span><span id="meta"></span><span id="live" class="badge">connecting</span></header>
<main>
<section><h2>Services</h2><table id="services"><tr><th>service</th><th>status</th><th>HTTP</th><th>time</th><th>24 h</th><th>7 d</th></tr></table></section>
<section><h2>Components</h2><table id="components"><tr><th>component</th><th>status</th><th>detail</th></tr></table></section>
<section class="wide" id="history"><h2>Response time, last 24 h</h2><div id="charts"></div><p id="totals"></p></section>
<section><h2>Containers</h2><table id="containers"><tr><th>container</th><th>service</th><th>state</th><th>health</th></tr></table></section>
<section><h2>Quarantine</h2><table id="quarantine"><tr><th>container</th><th>since</th><th>reason</th></tr></table></section>
<section><h2>Silences</h2><table id="silences"><tr><th>service</th><th>until (UTC)</th><th>reason</th><th>source</th></tr></table></section>
<section class="wide"><h2>Heals, quarantines, rollbacks</h2><table id="timeline"><tr><th>time (UTC)</th><th>event</th><th>subject</th><th>detail</th></tr></table></section>
<section class="wide" id="events"><h2>Events</h2><div id="list"></div></section>
</main>
<script>
const qs = new URLSearchParams(location.search); const token = qs.get('token');
const withToken = (u) => token ? u + (u.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token) : u;
const esc = (s) => String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const pct = (v) => v === null || v === undefined ? '–' : (Math.floor(v * 100) / 100).toFixed(2) + '%';
const utc = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const dur = (s) => s >= 86400 ? Math.floor(s / 86400) + 'd ' + Math.floor(s % 86400 / 3600) + 'h' : s >= 3600 ? Math.floor(s / 3600) + 'h ' + Math.floor(s % 3600 / 60) + 'm' : s >= 60 ? Math.floor(s / 60) + 'm' : s + 's';
// Why a service is not up: its error, or the conditions that failed.
const reason = (v) => v.error || (v.failed_conditions && v.failed_conditions.length ? v.failed_conditions.join(', ') + ' failed' : '');
// An event as a sentence a person reads at a glance; the type stays in the tooltip.
function sentence(d) {
  const x = d.data || {}, who = d.subject || x.container || x.service || '';
  const att = x.attempt ? `, attempt ${x.attempt}` : '';
  const sig = (c) => c > 128 && c < 160 ? ` (signal ${c - 128}${c === 137 ? ', killed' : c === 143 ? ', terminated' : ''})` : '';
  switch (d.type) {
    case 'heal.restarted': return `orch restarted ${who} (${x.reason || 'failing'}${att})`;
    case 'heal.failed': return `orch could not restart ${who}: ${x.error || x.reason || ''}`;
    case 'heal.quarantined': return `orch stopped healing ${who}: ${x.reason || 'restarted too often'} — lift with orch heal --reset ${who}`;
    case 'heal.recovered': return `${who} is healthy again after a heal`;
    case 'heal.reset': return `the quarantine of ${who} was lifted: healing resumes`;
    case 'heal.left_alone': return `orch left ${who} alone (${x.reason || 'failed'}): ${x.why || ''}`;
    case 'container.started': return `${who} started`;
    case 'container.died': return `${who} exited with code ${x.exit_code ?? '?'}${sig(x.exit_code)}`;
    case 'container.oom': return `${who} ran out of memory (OOM)`;
    case 'container.unhealthy': return `${who} turned unhealthy`;
    case 'container.healthy': return `${who} is healthy`;
    case 'service.down': return `service ${who} is down${x.error ? ': ' + x.error : ''}`;
    case 'service.up': return `service ${who} is up${x.response_ms !== undefined ? ' (' + x.response_ms + ' ms)' : ''}`;
    case 'service.degraded': return `service ${who} is degraded${x.failed_conditions && x.failed_conditions.length ? ': ' + x.failed_conditions.join(', ') + ' failed' : ''}`;
    case 'rollback.started': return `rolling back ${who}${x.to ? ' to ' + x.to : ''}`;
    case 'rollback.succeeded': return `${who} was rolled back${x.to ? ' to ' + x.to : ''}`;
    case 'rollback.failed': return `the rollback of ${who} failed: ${x.error || ''}`;
    case 'content.published': return `${who} was published`;
    case 'content.unpublished': return `${who} was unpublished`;
    case 'content.deleted': return `${who} was deleted`;
    case 'ingest.succeeded': return `${who} was converted and indexed`;
    case 'ingest.failed': return `ingesting ${who} failed${x.stage ? ' at ' + x.stage : ''}${x.final ? ' (dead-lettered)' : ', will retry'}: ${x.error || ''}`;
    case 'synctest.passed': return `the sync test passed${x.took_ms ? ' in ' + x.took_ms + ' ms' : ''}`;
    case 'synctest.failed': return `the sync test failed${x.failed_stage ? ' at ' + x.failed_stage : ''}`;
  }
  return `${d.type} ${who} ` + Object.entries(x).filter(([k, v]) => v !== null && v !== '').map(([k, v]) => k + '=' + (typeof v === 'object' ? JSON.stringify(v) : v)).join(' ');
}
// One response-time chart: the mean of each slot as a line, slots where the service was not up
// as red bars below it; scaled to the slowest slot (its value is in the caption).
function chart(name, s, since, until) {
  const W = 300, H = 60, pts = s.series || [];
  const max = Math.max(1, ...pts.map(p => p.max_ms));
  const x = (t) => ((t - since) / (until - since) * W).toFixed(1), y = (ms) => (H - 2 - ms / max * (H - 6)).toFixed(1);
  const slot = W / 96;  // the series' slot width (history::summary's 96 slots over since..until)
  const down = pts.filter(p => p.up < 1).map(p => `<rect class="down" x="${x(p.t)}" y="${H - 4}" width="${Math.max(1.5, slot).toFixed(1)}" height="4" opacity="${(0.4 + 0.6 * (1 - p.up)).toFixed(2)}"/>`).join('');
  const line = pts.length ? `<polyline class="line" points="${pts.map(p => x(p.t) + ',' + y(p.ms)).join(' ')}"/>` : '';
  const last = s.last ? `${esc(s.last.state)} · ${s.last.response_ms} ms` : 'no probe yet';
  return `<div class="card"><div class="head"><b>${esc(name)}</b><span><span class="${s.uptime_24h === 100 ? 'ok' : s.uptime_24h === null ? 'off' : s.uptime_24h >= 99 ? 'degraded' : 'down'}">${pct(s.uptime_24h)}</span> 24 h · ${pct(s.uptime_7d)} 7 d</span></div>` +
    `<svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${esc(name)} response time" data-service="${esc(name)}" data-points="${pts.length}" data-max-ms="${max}" data-down="${pts.filter(p => p.up < 1).length}">` +
    `<line class="base" x1="0" y1="${H - 1}" x2="${W}" y2="${H - 1}"/>${line}${down}</svg>` +
    `<div class="sub">${esc(last)} · slowest ${max} ms · ${s.probes} probes since ${esc(utc(since).slice(5, 16))}</div></div>`;
}
async function refresh() {
  try {
    const [h, st] = await Promise.all([fetch('/health'), fetch(withToken('/status'))].map(p => p.then(r => r.json())));
    const s = h.components.services || {}; const hs = (st.history && st.history.services) || {};
    // The headline counts ("down · 2/3 up"): a bare "down" does not say how much is.
    const names = Object.keys(s), upCount = names.filter(n => s[n].status === 'ok' || s[n].status === 'up').length;
    const o = document.getElementById('overall'); o.textContent = h.status + (names.length ? ` · ${upCount}/${names.length} up` : ''); o.className = 'badge ' + h.status;
    document.getElementById('meta').textContent = 'v' + h.version + ' · up ' + dur(h.uptime_s);
    document.getElementById('services').innerHTML = '<tr><th>service</th><th>status</th><th>HTTP</th><th>time</th><th>24 h</th><th>7 d</th></tr>' +
      Object.entries(s).map(([n, v]) => `<tr><td>${esc(n)}</td><td class="${esc(v.status)}">${esc(v.status)}${reason(v) ? `<div class="why">${esc(reason(v))}</div>` : ''}</td><td>${esc(v.status_code ?? '')}</td><td>${esc(v.response_ms ?? '')} ms</td><td>${pct((hs[n] || {}).uptime_24h)}</td><td>${pct((hs[n] || {}).uptime_7d)}</td></tr>`).join('');
    document.getElementById('components').innerHTML = '<tr><th>component</th><th>status</th><th>detail</th></tr>' +
      Object.entries(h.components).filter(([n]) => n !== 'services').map(([n, v]) =>
        `<tr><td>${esc(n)}</td><td class="${esc(v.status)}">${esc(v.status)}</td><td>${esc(v.error || v.endpoint || v.kind || '')}${v.outbox_depth ? ' · outbox ' + v.outbox_depth : ''}</td></tr>`).join('') +
      (st.pipeline ? `<tr><td>pipeline</td><td class="${st.pipeline.dead_letters ? 'degraded' : 'ok'}">queue ${esc(st.pipeline.queue_depth ?? '–')}</td><td>${esc(st.pipeline.in_progress)} in progress · <span id="dead">${esc(st.pipeline.dead_letters)}</span> dead letters</td></tr>` : '');
    if (st.history) {
      const until = st.history.now_ms, since = until - st.history.window_ms;
      document.getElementById('charts').innerHTML = Object.entries(hs).map(([n, v]) => chart(n, v, v.series_from_ms ?? since, until)).join('');
      const t = {}; (st.history.hourly || []).forEach(hr => Object.entries(hr.counters).forEach(([k, v]) => t[k] = (t[k] || 0) + v));
      const n = (k) => Math.round(t[k] || 0);
      document.getElementById('totals').innerHTML = `<span>webhooks ${n('webhooks.accepted')} accepted · ${n('webhooks.refused')} refused</span>` +
        `<span>pipeline jobs ${n('jobs.succeeded')} succeeded · ${n('jobs.dead_lettered')} dead-lettered${t['jobs.timed'] ? ' · mean ' + (t['jobs.seconds'] / t['jobs.timed']).toFixed(2) + ' s' : ''}</span>` +
        `<span>heals ${n('heals')} · quarantines ${n('quarantines')} · rollbacks ${n('rollbacks')}</span>`;
      const tl = (st.history.timeline || []).slice(-50).reverse();
      document.getElementById('timeline').innerHTML = '<tr><th>time (UTC)</th><th>event</th><th>subject</th><th>detail</th></tr>' +
        (tl.length ? tl.map(e => `<tr><td>${esc(utc(e.time_ms))}</td><td class="${/failed|quarantined/.test(e.type) ? 'down' : /succeeded|recovered/.test(e.type) ? 'ok' : 'degraded'}">${esc(e.type)}</td><td>${esc(e.subject)}</td><td>${esc((e.data && (e.data.reason || e.data.error || e.data.to)) || '')}</td></tr>`).join('')
                   : '<tr><td colspan="4" class="ok">none in the last 24 h</td></tr>');
    } else {
      document.getElementById('charts').innerHTML = `<p class="off">${esc(st.history_error || 'no history')}</p>`;
    }
    const containers = st.containers;
    document.getElementById('containers').innerHTML = '<tr><th>container</th><th>service</th><th>state</th><th>health</th></tr>' +
      (containers ? containers.map(c => `<tr><td>${esc(c.name)}</td><td>${esc(c.service)}</td><td class="${c.state === 'running' ? 'ok' : 'down'}">${esc(c.state)}</td><td class="${esc(c.health)}">${esc(c.health || '-')}</td></tr>`).join('')
                    : `<tr><td colspan="4" class="off">${esc(st.containers_error || 'Docker not reachable')}</td></tr>`);
    const q = Object.entries(st.quarantine || {});
    document.getElementById('quarantine').innerHTML = '<tr><th>container</th><th>since</th><th>reason</th></tr>' +
      (q.length ? q.map(([n, v]) => `<tr><td class="down">${esc(n)}</td><td>${esc(v.since_ms ? new Date(v.since_ms).toISOString().slice(0, 19) + 'Z' : '')}</td><td>${esc(v.reason ?? '')}</td></tr>`).join('')
                : '<tr><td colspan="3" class="ok">none</td></tr>');
    const si = st.silences || [];
    document.getElementById('silences').innerHTML = '<tr><th>service</th><th>until (UTC)</th><th>reason</th><th>source</th></tr>' +
      (si.length ? si.map(v => `<tr><td class="degraded">${esc(v.service)}</td><td>${esc(utc(v.until_ms))}</td><td>${esc(v.reason)}</td><td>${esc(v.source)}${v.source === 'silence' ? ' ' + esc(v.id) : ''}</td></tr>`).join('')
                 : '<tr><td colspan="4" class="ok">none</td></tr>');
  } catch (e) { document.getElementById('overall').textContent = 'unreachable'; }
}
// Events that change what the page shows refresh it, at most once a second.
let pending = null;
const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 1000); };
function addEvent(e) {
  const d = JSON.parse(e.data); const div = document.createElement('div');
  div.className = 'event'; div.title = d.type; div.dataset.type = d.type;
  div.innerHTML = `${esc((d.time || '').slice(11, 23))} ${esc(sentence(d))}`;
  const list = document.getElementById('list'); list.prepend(div); while (list.children.length > 200) list.lastChild.remove();
  if (/^(service|heal|container|rollback)\./.test(d.type) || d.type === 'ingest.failed') soon();
}
const es = new EventSource(withToken('/events?last_event_id=0-0'));
es.onopen = () => { const l = document.getElementById('live'); l.textContent = 'live'; l.className = 'badge ok'; };
es.onerror = () => { const l = document.getElementById('live'); l.textContent = 'reconnecting'; l.className = 'badge degraded'; };
es.onmessage = addEvent;
['content.published','content.unpublished','content.deleted','content.changed','ingest.started','ingest.succeeded','ingest.failed',
 'container.started','container.died','container.oom','container.unhealthy','container.healthy','heal.restarted','heal.failed',
 'heal.quarantined','heal.recovered','heal.reset','heal.left_alone','service.up','service.down','service.degraded','rollback.started','rollback.succeeded',
 'rollback.failed','synctest.passed','synctest.failed'].forEach(t => es.addEventListener(t, addEvent));
refresh(); setInterval(refresh, 5000);
</script></body></html>
)html";
  return html;
}

const std::string& login_page_html() {
  // Asked for instead of a bare JSON 401: the token goes into the address (?token=), which the
  // page then sends with its own requests (EventSource cannot send headers).
  static const std::string html = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>orch status: sign in</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#0f1419;color:#e6e6e6}
@media (prefers-color-scheme: light){body{background:#fafbfc;color:#1b1f24}}
form{display:grid;gap:10px;max-width:360px;padding:24px} input,button{font:inherit;padding:8px} .note{color:#8a949e;font-size:13px}</style></head>
<body><form method="get" action="/"><h1>orch</h1>
<label for="token">This status page needs orch's API token (<code>ORCH_API_TOKEN</code>).</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Open the status page</button>
<p class="note" id="why"></p></form>
<script>if (new URLSearchParams(location.search).has('token')) document.getElementById('why').textContent = 'That token was not accepted.';</script>
</body></html>
)html";
  return html;
}

}  // namespace orch::live
