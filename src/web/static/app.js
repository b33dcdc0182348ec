/*
 * mxtower NOC dashboard: plain JS and SVG, no build step, no third-party code.
 *
 * Views (location.hash): #/ towers (each tower a panel, each server a bar whose height is its
 * mail flow against its spec and whose colour is its state, the tower's flow graphed beside
 * it); #/node/NAME a server's processes, queues, scan latency, last errors and graphs;
 * #/stuck, #/quarantine, #/suspects, #/signatures, #/tracking the mail pages.
 *
 * Auth: POST /api/v1/login with the token sets an HttpOnly session cookie; the token itself is
 * never stored by the page. Writes carry X-Mxtower-Csrf. Live: polls every 2 s.
 * Everything from the server is put into the page as text (textContent), never as HTML.
 */
'use strict';

const POLL_MS = 2000;
const COLOURS = { green: '#2fb463', yellow: '#e8c33a', red: '#e5484d', purple: '#9b6ce0', blue: '#3d8ef0' };
const SVGNS = 'http://www.w3.org/2000/svg';

let state = { status: null, history: null, res: '1s', lastOk: 0, timer: null, mailCache: {} };

/* ---- DOM helpers --------------------------------------------------------------------------- */

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.appendChild(typeof kid === 'string' || typeof kid === 'number' ? document.createTextNode(String(kid)) : kid);
  }
  return el;
}

function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') el.textContent = v; else el.setAttribute(k, String(v));
  }
  for (const kid of kids.flat()) if (kid) el.appendChild(kid);
  return el;
}

function fmt(n, digits) {
  if (n === null || n === undefined || isNaN(n)) return '-';
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(1) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return Number(n).toFixed(digits === undefined ? (Number.isInteger(n) ? 0 : 1) : digits);
}

function fmtBytes(n) {
  if (!n) return '0 B/s';
  const u = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return n.toFixed(n < 10 && i ? 1 : 0) + ' ' + u[i] + '/s';
}

function fmtAge(sec) {
  if (!sec || sec < 0) return '0 s';
  if (sec < 120) return sec + ' s';
  if (sec < 7200) return Math.round(sec / 60) + ' min';
  if (sec < 172800) return (sec / 3600).toFixed(1) + ' h';
  return (sec / 86400).toFixed(1) + ' d';
}

function fmtTime(t) {
  if (!t) return '-';
  return new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

/* ---- API ------------------------------------------------------------------------------------ */

async function api(path, opts) {
  opts = opts || {};
  const headers = { 'Accept': 'application/json' };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['X-Mxtower-Csrf'] = '1';
  }
  const r = await fetch(path, {
    method: opts.method || (opts.body !== undefined ? 'POST' : 'GET'),
    headers, credentials: 'same-origin',
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  if (r.status === 401 && path !== '/api/v1/login') { showLogin(); throw new Error('unauthorized'); }
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const err = new Error((data && data.error) || ('HTTP ' + r.status));
    err.status = r.status;
    throw err;
  }
  return data;
}

/* ---- login ---------------------------------------------------------------------------------- */

function showLogin() {
  stopPolling();
  document.getElementById('login').hidden = false;
  document.getElementById('view').hidden = true;
  document.getElementById('nav').hidden = true;
  document.getElementById('live').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('login-token').focus();
}

function showApp() {
  document.getElementById('login').hidden = true;
  document.getElementById('view').hidden = false;
  document.getElementById('nav').hidden = false;
  document.getElementById('live').hidden = false;
  document.getElementById('logout').hidden = false;
  route();
  startPolling();
}

async function login(ev) {
  ev.preventDefault();
  const input = document.getElementById('login-token');
  const errEl = document.getElementById('login-error');
  errEl.hidden = true;
  try {
    await api('/api/v1/login', { body: { token: input.value.trim() } });
    input.value = '';
    showApp();
  } catch (e) {
    input.value = '';
    errEl.textContent = e.status === 401 ? 'That token is not right.' : 'Login failed: ' + e.message;
    errEl.hidden = false;
  }
}

async function logout() {
  try { await api('/api/v1/logout', { body: {} }); } catch (e) { /* the cookie is gone anyway */ }
  showLogin();
}

/* ---- polling -------------------------------------------------------------------------------- */

function startPolling() {
  stopPolling();
  poll();
  state.timer = setInterval(poll, POLL_MS);
}

function stopPolling() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

async function poll() {
  try {
    const [st, hist] = await Promise.all([
      api('/api/v1/status'),
      api('/api/v1/history?res=' + state.res),
    ]);
    state.status = st;
    state.history = hist;
    state.lastOk = Date.now();
    render();
  } catch (e) {
    if (e.message !== 'unauthorized') markStale();
  }
}

function markStale() {
  const live = document.getElementById('live');
  live.textContent = 'no data';
  live.classList.add('stale');
}

/* ---- charts --------------------------------------------------------------------------------- */

/* A line chart: series [{label, values, colour}], times t[], optional reference line. */
function lineChart(t, series, opts) {
  opts = opts || {};
  const W = 600, H = 170, L = 44, R = 8, T = 10, B = 20;
  let max = opts.min || 1;
  for (const sr of series) for (const v of sr.values) if (v > max) max = v;
  if (opts.ref && opts.ref.value > max) max = opts.ref.value;
  max *= 1.1;
  const n = t.length;
  const t0 = n ? t[0] : 0, t1 = n ? t[n - 1] : 1;
  const x = (tt) => L + (n > 1 ? (tt - t0) / (t1 - t0 || 1) : 1) * (W - L - R);
  const y = (v) => T + (1 - v / max) * (H - T - B);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'linechart' });
  svg.appendChild(s('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: '#0c0f13', stroke: '#2c343d' }));
  for (const f of [0.5, 1]) {
    const yy = y(max / 1.1 * f);
    svg.appendChild(s('line', { x1: L, x2: W - R, y1: yy, y2: yy, stroke: '#2c343d', 'stroke-dasharray': '2 3' }));
    svg.appendChild(s('text', { x: L - 4, y: yy + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#8a96a3',
      text: (opts.format || fmt)(max / 1.1 * f) }));
  }
  if (opts.ref) {
    const yy = y(opts.ref.value);
    svg.appendChild(s('line', { x1: L, x2: W - R, y1: yy, y2: yy, stroke: opts.ref.colour, 'stroke-dasharray': '6 4' }));
    svg.appendChild(s('text', { x: W - R - 2, y: yy - 3, 'text-anchor': 'end', 'font-size': 10,
      fill: opts.ref.colour, text: opts.ref.label }));
  }
  for (const sr of series) {
    if (n < 2) continue;
    const pts = [];
    for (let i = 0; i < n; i++) pts.push(x(t[i]).toFixed(1) + ',' + y(sr.values[i] || 0).toFixed(1));
    svg.appendChild(s('polyline', { points: pts.join(' '), fill: 'none', stroke: sr.colour, 'stroke-width': 1.6,
      'data-series': sr.label }));
  }
  const span = n > 1 ? t1 - t0 : 0;
  svg.appendChild(s('text', { x: L, y: H - 5, 'font-size': 10, fill: '#8a96a3', text: n > 1 ? '-' + fmtAge(span) : 'no data yet' }));
  svg.appendChild(s('text', { x: W - R, y: H - 5, 'text-anchor': 'end', 'font-size': 10, fill: '#8a96a3', text: 'now' }));
  const legend = h('div', { class: 'legend' },
    series.map((sr) => h('span', {}, h('b', { class: 'swatch', text: '\u25a0 ' }), sr.label)));
  legend.querySelectorAll('b').forEach((b, i) => { b.style.color = series[i].colour; });
  return h('div', { class: 'chart' }, opts.title ? h('h2', { text: opts.title }) : null, svg, legend);
}

/* One server as a bar: height = flow / spec (capped at 120 %), colour = state. */
function serverBar(node) {
  const W = 60, H = 160;
  const spec = node.spec_msgs || 1;
  const frac = Math.min(node.flow / spec, 1.2);
  const barH = Math.max(3, frac / 1.2 * (H - 4));
  const yellowY = H - (node.yellow_at / 100) / 1.2 * (H - 4);
  const specY = H - 1 / 1.2 * (H - 4);
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}` },
    s('rect', { x: 0, y: 0, width: W, height: H, fill: '#0c0f13', stroke: '#2c343d' }),
    s('rect', { class: 'bar-fill', x: 6, y: H - barH, width: W - 12, height: barH, fill: COLOURS[node.colour] || '#888' }),
    s('line', { x1: 0, x2: W, y1: specY, y2: specY, stroke: '#d8dee4', 'stroke-dasharray': '4 3' }),
    s('line', { x1: 0, x2: W, y1: yellowY, y2: yellowY, stroke: COLOURS.yellow, 'stroke-dasharray': '2 3', opacity: 0.7 }));
  return h('a', {
    class: 'server bar', href: '#/node/' + encodeURIComponent(node.name),
    'data-node': node.name, 'data-colour': node.colour, title: node.reason,
  },
  svg,
  h('span', { class: 'name', text: node.name }),
  h('span', { class: 'num flow', text: fmt(node.flow, 1) + ' / ' + node.spec_msgs + ' msg/s' }),
  h('span', { class: 'badge b-' + node.colour, text: node.colour }),
  h('span', { class: 'reason bar-reason c-' + node.colour, text: node.reason }));
}

/* ---- views ---------------------------------------------------------------------------------- */

function historySeries(hist, key) { return (hist && hist[key]) || []; }

function viewTowers() {
  const st = state.status, hist = state.history;
  const towers = h('div', { class: 'towers' });
  for (const tower of st.towers) {
    const spec = tower.nodes.reduce((a, n) => a + n.spec_msgs, 0);
    towers.appendChild(h('div', { class: 'tower', 'data-tower': tower.name },
      h('h2', {}, h('span', { text: 'Tower ' + tower.name }),
        h('span', { class: 'dim tower-flow', text: fmt(tower.flow, 1) + ' msg/s of ' + spec })),
      h('div', { class: 'tower-body' },
        h('div', { class: 'bars' }, tower.nodes.map(serverBar)),
        lineChart(historySeries(hist, 't'), [
          { label: 'mail flow msg/s', values: historySeries(hist, 'msgs'), colour: '#56b3f4' },
          { label: 'delivered msg/s', values: historySeries(hist, 'delivered'), colour: '#2fb463' },
        ], { ref: { value: spec, label: 'spec ' + spec, colour: '#8a96a3' }, min: 1 })),
      linkChart(hist)));
  }
  const n = st.node;
  const totals = h('div', { class: 'totals' },
    stat('accepted', n.totals.messages_accepted, 'overview-accepted'),
    stat('rejected', n.totals.messages_rejected),
    stat('quarantined', n.totals.messages_quarantined),
    stat('delivered', n.totals.messages_delivered, 'overview-delivered'),
    stat('queued', n.queues.active + n.queues.deferred),
    stat('oldest', fmtAge(n.queues.oldest_age)));
  return [h('h1', { text: 'Towers' }), totals, towers];
}

/* Bytes in and out of every link (datacentre) of the tower, one pair of lines per link. */
function linkChart(hist) {
  const links = (hist && hist.links) || {};
  const palette = [['#56b3f4', '#e8c33a'], ['#2fb463', '#e5484d'], ['#9b6ce0', '#d8dee4']];
  const series = [];
  Object.keys(links).forEach((name, i) => {
    const c = palette[i % palette.length];
    series.push({ label: name + ' in', values: links[name].in || [], colour: c[0] });
    series.push({ label: name + ' out', values: links[name].out || [], colour: c[1] });
  });
  return h('div', { class: 'tower-links' },
    lineChart(historySeries(hist, 't'), series, { title: 'Bandwidth per link', format: (v) => fmtBytes(v) }));
}

function stat(label, value, id) {
  return h('div', { class: 'stat', id: id || null },
    h('div', { class: 'v', text: typeof value === 'number' ? fmt(value) : value }),
    h('div', { class: 'k', text: label }));
}

function table(cols, rows, empty) {
  if (!rows.length) return h('div', { class: 'empty', text: empty || 'nothing here' });
  return h('table', {},
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { class: c.num ? 'num' : null, text: c.label })))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-id': r.id || null },
      cols.map((c) => {
        const v = c.get ? c.get(r) : r[c.key];
        return h('td', { class: c.num ? 'num' : null }, v instanceof Node ? v : (v === undefined || v === null ? '' : String(v)));
      })))));
}

function viewNode(name) {
  const n = state.status.node;
  if (n.name !== name) return [h('h1', { text: name }), h('p', { class: 'empty', text: 'This node reports elsewhere; open its own dashboard.' })];
  const hist = state.history;
  const t = historySeries(hist, 't');
  const link = hist && hist.links ? Object.keys(hist.links)[0] : n.datacentre;
  const bw = (hist && hist.links && hist.links[link]) || { in: [], out: [] };
  const now = n.now;
  const head = h('div', { class: 'node-head' },
    h('h1', { text: 'Server ' + n.name }),
    h('span', { id: 'node-colour', class: 'badge b-' + n.colour, 'data-colour': n.colour, text: n.colour }),
    h('span', { id: 'node-reason', class: 'c-' + n.colour, text: n.reason }),
    h('span', { class: 'dim', text: 'tower ' + n.tower + ', link ' + n.datacentre }),
    h('button', { id: 'maint-toggle', type: 'button', onclick: () => setMaintenance(!n.maintenance),
      text: n.maintenance ? 'End maintenance' : 'Start maintenance' }));
  const totals = h('div', { class: 'totals' },
    Object.entries(n.totals).map(([k, v]) => h('div', { class: 'stat', id: 'total-' + k },
      h('div', { class: 'v', text: fmt(v) }), h('div', { class: 'k', text: k.replace(/_/g, ' ') }))));
  const procs = table([
    { label: 'process', get: (p) => p.kind + '[' + p.index + ']' },
    { label: 'pid', key: 'pid', num: true },
    { label: 'state', get: (p) => h('span', { class: p.live ? 'c-green' : 'c-red', text: p.live ? 'up' : 'down' }) },
    { label: 'restarts', key: 'restarts', num: true },
    { label: 'up since', get: (p) => fmtTime(p.started) },
    { label: 'last beat', get: (p) => p.heartbeat ? fmtAge(now - p.heartbeat) + ' ago' : '-' },
  ], n.processes, 'no processes (node not running)');
  const q = n.queues;
  const queues = table([
    { label: 'queue', key: 'q' }, { label: 'messages', key: 'n', num: true },
  ], [
    { q: 'active', n: q.active }, { q: 'deferred', n: q.deferred }, { q: 'hold', n: q.hold },
    { q: 'quarantine', n: q.quarantine }, { q: 'unscanned', n: q.unscanned },
    { q: 'oldest message age', n: fmtAge(q.oldest_age) },
  ]);
  const lat = n.latency;
  const latRows = lat.counts.map((c, i) => ({
    b: i < lat.bounds_ms.length ? '\u2264 ' + lat.bounds_ms[i] + ' ms' : '> ' + lat.bounds_ms[lat.bounds_ms.length - 1] + ' ms',
    c, share: lat.count ? (100 * c / lat.count).toFixed(1) + ' %' : '-',
  })).filter((r) => r.c > 0);
  const events = n.events.length
    ? h('ul', { class: 'events' }, n.events.map((e) => h('li', {}, h('span', { class: 'dim', text: fmtTime(e.t) + '  ' }), e.text)))
    : h('div', { class: 'empty', text: 'no events recorded' });
  const resSel = h('select', { id: 'res', onchange: (ev) => { state.res = ev.target.value; poll(); } },
    h('option', { value: '1s', text: 'last 15 minutes (1 s)', selected: state.res === '1s' }),
    h('option', { value: '1m', text: 'last 48 hours (1 min)', selected: state.res === '1m' }));
  return [head, totals,
    h('div', { class: 'toolbar' }, h('span', { class: 'dim', text: 'graphs:' }), resSel),
    h('div', { class: 'grid' },
      h('div', { class: 'card' }, lineChart(t, [
        { label: 'accepted', values: historySeries(hist, 'accepted'), colour: '#56b3f4' },
        { label: 'rejected', values: historySeries(hist, 'rejected'), colour: COLOURS.red },
        { label: 'quarantined', values: historySeries(hist, 'quarantined'), colour: COLOURS.purple },
        { label: 'delivered', values: historySeries(hist, 'delivered'), colour: COLOURS.green },
      ], { title: 'Messages per second', ref: { value: n.spec_msgs, label: 'spec', colour: '#8a96a3' } })),
      h('div', { class: 'card' }, lineChart(t, [
        { label: link + ' in', values: bw.in || [], colour: '#56b3f4' },
        { label: link + ' out', values: bw.out || [], colour: COLOURS.yellow },
      ], { title: 'Bandwidth, link ' + link, format: (v) => fmtBytes(v) })),
      h('div', { class: 'card' }, h('h2', { text: 'Processes' }), procs),
      h('div', { class: 'card' }, h('h2', { text: 'Queues' }), queues,
        lineChart(t, [{ label: 'queued', values: historySeries(hist, 'queue'), colour: '#56b3f4' }], {})),
      h('div', { class: 'card' }, h('h2', { text: 'Scan latency' }),
        h('p', { id: 'latency-avg', text: 'average ' + lat.avg_ms.toFixed(1) + ' ms over ' + fmt(lat.count) + ' scans' }),
        table([{ label: 'bucket', key: 'b' }, { label: 'scans', key: 'c', num: true }, { label: 'share', key: 'share', num: true }], latRows, 'no scans yet'),
        lineChart(t, [{ label: 'avg ms', values: historySeries(hist, 'latency_ms'), colour: COLOURS.purple }], {})),
      h('div', { class: 'card' }, h('h2', { text: 'Last errors and events' }), events)),
  ];
}

async function setMaintenance(on) {
  try { await api('/api/v1/maintenance', { body: { on } }); poll(); } catch (e) { alert('maintenance: ' + e.message); }
}

/* ---- mail pages ----------------------------------------------------------------------------- */

const MAIL_PAGES = {
  stuck: { title: 'Stuck mail at the central location', path: '/api/v1/stuck', key: 'messages',
    cols: [{ label: 'queue id', key: 'id' }, { label: 'sender', key: 'sender' },
      { label: 'recipients', get: (m) => (m.recipients || []).join(', ') },
      { label: 'attempts', key: 'attempts', num: true }, { label: 'last error', key: 'last_error' },
      { label: 'since', get: (m) => fmtTime(m.time) }] },
  quarantine: { title: 'Quarantine', path: '/api/v1/quarantine', key: 'messages',
    cols: [{ label: 'queue id', key: 'id' }, { label: 'sender', key: 'sender' },
      { label: 'recipients', get: (m) => (m.recipients || []).join(', ') },
      { label: 'verdict', key: 'verdict' }, { label: 'reason', key: 'reason' },
      { label: 'when', get: (m) => fmtTime(m.time) },
      { label: '', get: (m) => h('span', {},
        h('button', { class: 'release', type: 'button', 'data-id': m.id, onclick: () => quarantineAct(m.id, 'release'), text: 'Release' }), ' ',
        h('button', { class: 'delete danger', type: 'button', 'data-id': m.id, onclick: () => quarantineAct(m.id, 'delete'), text: 'Delete' })) }] },
  suspects: { title: 'Suspected new viruses', path: '/api/v1/suspects', key: 'suspects', cols: null },
  signatures: { title: 'Signatures', path: '/api/v1/signatures', key: 'signatures', cols: null },
  tracking: { title: 'Message tracking', path: '/api/v1/tracking', key: 'results', cols: null, search: true },
};

function genericCols(rows) {
  const keys = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  return keys.map((k) => ({ label: k.replace(/_/g, ' '), get: (r) => {
    const v = r[k];
    if (k === 'time' || k === 't' || k.endsWith('_time')) return fmtTime(v);
    return Array.isArray(v) ? v.join(', ') : (v && typeof v === 'object' ? JSON.stringify(v) : v);
  } }));
}

async function quarantineAct(id, what) {
  if (what === 'delete' && !confirm('Delete ' + id + ' for good?')) return;
  try {
    await api('/api/v1/quarantine/' + encodeURIComponent(id) + '/' + what, { body: {} });
    flash(what === 'release' ? 'Released ' + id : 'Deleted ' + id);
    loadMail('quarantine');
  } catch (e) { flash(what + ' ' + id + ' failed: ' + e.message, true); }
}

function flash(text, bad) {
  const el = document.getElementById('flash');
  if (!el) return;
  el.textContent = text;
  el.className = bad ? 'error' : 'c-green';
}

async function loadMail(page, query) {
  const def = MAIL_PAGES[page];
  const box = document.getElementById('mail-body');
  if (!box) return;
  let url = def.path;
  if (query) url += '?' + new URLSearchParams(query).toString();
  try {
    const data = await api(url);
    const rows = (data && data[def.key]) || [];
    box.replaceChildren(table(def.cols || genericCols(rows), rows, 'nothing here'));
  } catch (e) {
    box.replaceChildren(h('div', { class: 'empty', text: e.status === 404
      ? 'This page has no data source on this node yet.' : 'Could not load: ' + e.message }));
  }
}

function viewMail(page) {
  const def = MAIL_PAGES[page];
  const parts = [h('h1', { text: def.title }), h('p', { id: 'flash' })];
  if (def.search) {
    const q = h('input', { id: 'track-q', placeholder: 'sender, recipient or queue id', size: 40 });
    const since = h('input', { id: 'track-since', type: 'datetime-local' });
    const until = h('input', { id: 'track-until', type: 'datetime-local' });
    const go = () => {
      const query = {};
      if (q.value) query.q = q.value;
      if (since.value) query.since = Math.floor(new Date(since.value).getTime() / 1000);
      if (until.value) query.until = Math.floor(new Date(until.value).getTime() / 1000);
      loadMail(page, query);
    };
    parts.push(h('form', { class: 'toolbar', onsubmit: (ev) => { ev.preventDefault(); go(); } },
      q, h('span', { class: 'dim', text: 'from' }), since, h('span', { class: 'dim', text: 'to' }), until,
      h('button', { type: 'submit', text: 'Search' })));
  } else {
    parts.push(h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: () => loadMail(page), text: 'Refresh' })));
  }
  parts.push(h('div', { id: 'mail-body', class: 'card' }, h('div', { class: 'empty', text: 'loading...' })));
  return parts;
}

/* ---- routing and rendering ------------------------------------------------------------------ */

function currentRoute() {
  const hsh = location.hash.replace(/^#/, '') || '/';
  const parts = hsh.split('/').filter(Boolean);
  if (parts.length === 0) return { view: 'towers' };
  if (parts[0] === 'node' && parts[1]) return { view: 'node', name: decodeURIComponent(parts[1]) };
  if (MAIL_PAGES[parts[0]]) return { view: 'mail', page: parts[0] };
  return { view: 'towers' };
}

function route() {
  const r = currentRoute();
  document.querySelectorAll('nav a').forEach((a) => {
    const target = a.getAttribute('href').replace(/^#/, '');
    a.classList.toggle('active', (r.view === 'mail' && target === '/' + r.page) || (r.view !== 'mail' && target === '/'));
  });
  if (r.view === 'mail') {
    /* Mail pages are not re-rendered by polling: a form being filled in must stay. */
    document.getElementById('view').replaceChildren(...viewMail(r.page));
    if (!MAIL_PAGES[r.page].search) loadMail(r.page);
    return;
  }
  render();
}

function render() {
  const live = document.getElementById('live');
  if (state.lastOk) {
    live.textContent = 'live ' + new Date(state.lastOk).toISOString().slice(11, 19) + 'Z';
    live.classList.remove('stale');
  }
  const r = currentRoute();
  if (r.view === 'mail' || !state.status) return;
  const view = document.getElementById('view');
  view.replaceChildren(...(r.view === 'node' ? viewNode(r.name) : viewTowers()));
}

async function boot() {
  document.getElementById('login-form').addEventListener('submit', login);
  document.getElementById('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  try {
    await api('/api/v1/nodes');
    showApp();
  } catch (e) {
    if (e.message !== 'unauthorized') showLogin();
  }
}

document.addEventListener('DOMContentLoaded', boot);
