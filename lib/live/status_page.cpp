#include "live/status_page.hpp"

namespace orch::live {

const std::string& status_page_html() {
  static const std::string html = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>orch status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#0f1419;color:#e6e6e6}
header{padding:12px 20px;background:#1a2129;display:flex;gap:16px;align-items:center}
h1{font-size:18px;margin:0} h2{font-size:15px;margin:18px 0 6px}
main{padding:0 20px 20px;display:grid;grid-template-columns:1fr 1fr;gap:20px}
table{border-collapse:collapse;width:100%} td,th{padding:4px 8px;border-bottom:1px solid #2a333d;text-align:left}
.ok,.healthy{color:#4cd17b}.degraded,.starting{color:#f0c24b}.down,.unhealthy{color:#ff6b6b}.off{color:#8a949e}
#events{font:12px ui-monospace,monospace;max-height:70vh;overflow:auto;grid-column:1/3}
#events div{padding:2px 0;border-bottom:1px solid #1f262e}
.badge{padding:2px 8px;border-radius:10px;background:#2a333d}
</style></head><body>
<header><h1>orch</h1><span id="overall" class="badge">…</span><span id="meta"></span><span id="live" class="badge">connecting</span></header>
<main>
<section><h2>Services</h2><table id="services"><tr><th>service</th><th>status</th><th>HTTP</th><th>time</th></tr></table></section>
<section><h2>Components</h2><table id="components"><tr><th>component</th><th>status</th><th>detail</th></tr></table></section>
<section><h2>Containers</h2><table id="containers"><tr><th>container</th><th>service</th><th>state</th><th>health</th></tr></table></section>
<section><h2>Quarantine</h2><table id="quarantine"><tr><th>container</th><th>since</th><th>reason</th></tr></table></section>
<section id="events"><h2>Events</h2><div id="list"></div></section>
</main>
<script>
const qs = new URLSearchParams(location.search); const token = qs.get('token');
const withToken = (u) => token ? u + (u.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token) : u;
const esc = (s) => String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
async function refresh() {
  try {
    const [h, st] = await Promise.all([fetch('/health'), fetch(withToken('/status'))].map(p => p.then(r => r.json())));
    const o = document.getElementById('overall'); o.textContent = h.status; o.className = 'badge ' + h.status;
    document.getElementById('meta').textContent = 'v' + h.version + ' · up ' + h.uptime_s + ' s';
    const s = h.components.services || {};
    document.getElementById('services').innerHTML = '<tr><th>service</th><th>status</th><th>HTTP</th><th>time</th></tr>' +
      Object.entries(s).map(([n, v]) => `<tr><td>${esc(n)}</td><td class="${esc(v.status)}">${esc(v.status)}</td><td>${esc(v.status_code ?? '')}</td><td>${esc(v.response_ms ?? '')} ms</td></tr>`).join('');
    document.getElementById('components').innerHTML = '<tr><th>component</th><th>status</th><th>detail</th></tr>' +
      Object.entries(h.components).filter(([n]) => n !== 'services').map(([n, v]) =>
        `<tr><td>${esc(n)}</td><td class="${esc(v.status)}">${esc(v.status)}</td><td>${esc(v.error || v.endpoint || v.kind || '')}${v.outbox_depth ? ' · outbox ' + v.outbox_depth : ''}</td></tr>`).join('');
    document.getElementById('containers').innerHTML = '<tr><th>container</th><th>service</th><th>state</th><th>health</th></tr>' +
      (st.containers ? st.containers.map(c => `<tr><td>${esc(c.name)}</td><td>${esc(c.service)}</td><td class="${c.state === 'running' ? 'ok' : 'down'}">${esc(c.state)}</td><td class="${esc(c.health)}">${esc(c.health || '-')}</td></tr>`).join('')
                    : `<tr><td colspan="4" class="off">${esc(st.containers_error || 'Docker not reachable')}</td></tr>`);
    const q = Object.entries(st.quarantine || {});
    document.getElementById('quarantine').innerHTML = '<tr><th>container</th><th>since</th><th>reason</th></tr>' +
      (q.length ? q.map(([n, v]) => `<tr><td class="down">${esc(n)}</td><td>${esc(v.since_ms ? new Date(v.since_ms).toISOString().slice(0, 19) + 'Z' : '')}</td><td>${esc(v.reason ?? '')}</td></tr>`).join('')
                : '<tr><td colspan="3" class="ok">none</td></tr>');
  } catch (e) { document.getElementById('overall').textContent = 'unreachable'; }
}
function addEvent(e) {
  const d = JSON.parse(e.data); const div = document.createElement('div');
  const extra = Object.entries(d.data || {}).filter(([k, v]) => v !== null && v !== '').map(([k, v]) => k + '=' + (typeof v === 'object' ? JSON.stringify(v) : v)).join(' ');
  div.className = 'event'; div.innerHTML = `${esc((d.time || '').slice(11, 23))} <b>${esc(d.type)}</b> ${esc(d.subject)} ${esc(extra)}`;
  const list = document.getElementById('list'); list.prepend(div); while (list.children.length > 200) list.lastChild.remove();
  if (/^(service|heal|container)\./.test(d.type)) refresh();
}
const es = new EventSource(withToken('/events?last_event_id=0-0'));
es.onopen = () => { const l = document.getElementById('live'); l.textContent = 'live'; l.className = 'badge ok'; };
es.onerror = () => { const l = document.getElementById('live'); l.textContent = 'reconnecting'; l.className = 'badge degraded'; };
es.onmessage = addEvent;
['content.published','content.unpublished','content.deleted','content.changed','ingest.started','ingest.succeeded','ingest.failed',
 'container.started','container.died','container.oom','container.unhealthy','container.healthy','heal.restarted','heal.failed',
 'heal.quarantined','heal.recovered','service.up','service.down','service.degraded','rollback.started','rollback.succeeded',
 'rollback.failed','synctest.passed','synctest.failed'].forEach(t => es.addEventListener(t, addEvent));
refresh(); setInterval(refresh, 5000);
</script></body></html>
)html";
  return html;
}

}  // namespace orch::live
