// apigw console: one page, a view per address. Everything from the
// gateway is set as text (never as HTML): paths, headers and bodies are
// whatever clients sent.
'use strict';

const main = document.getElementById('main');
const live = document.getElementById('live');
const rows = new Map(); // id -> summary, newest first in the table
let stream = null;
let pollTimer = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// show puts a view's parts in place (arrays flattened, absent parts left out).
function show(...parts) {
  main.replaceChildren(...parts.flat(2).filter((p) => p !== null && p !== undefined && p !== false && p !== ''));
}

async function api(path, opts = {}) {
  // Changes go as JSON: the admin listener refuses any other body type,
  // which a form on another site could send.
  const headers = opts.method && opts.method !== 'GET' ? { 'Content-Type': 'application/json' } : {};
  const res = await fetch('/console/api/' + path, { credentials: 'same-origin', ...opts, headers });
  if (res.status === 401) {
    await askToken();
    return api(path, opts);
  }
  const type = res.headers.get('Content-Type') || '';
  const body = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(body && body.message ? body.message : res.status + ' ' + res.statusText);
  return body;
}

function askToken() {
  const dlg = document.getElementById('login');
  return new Promise((resolve) => {
    const form = document.getElementById('login-form');
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const res = await fetch('/console/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: document.getElementById('login-token').value }) });
      if (res.ok) { dlg.close(); resolve(); startStream(); }
      else document.getElementById('login-error').textContent = 'That is not the console\'s token.';
    };
    if (!dlg.open) dlg.showModal();
  });
}

function statusClass(s) { return 's' + String(s)[0]; }
function ms(v) { return v < 10 ? v.toFixed(2) + ' ms' : v.toFixed(0) + ' ms'; }
function size(n) { return n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KB' : (n / 1048576).toFixed(1) + ' MB'; }
function time(t) { return new Date(t).toLocaleTimeString([], { hour12: false }) + '.' + String(new Date(t).getMilliseconds()).padStart(3, '0'); }

// --- the live stream, whatever the view ---
function startStream() {
  if (stream) stream.close();
  stream = new EventSource('/console/api/stream');
  stream.onopen = () => { live.className = 'live on'; live.title = 'live'; };
  stream.onerror = () => { live.className = 'live off'; live.title = 'reconnecting'; };
  stream.addEventListener('exchange', (ev) => {
    const s = JSON.parse(ev.data);
    rows.set(s.id, s);
    const tbody = document.getElementById('requests-body');
    if (tbody) {
      const tr = requestRow(s);
      tr.classList.add('fresh');
      tbody.prepend(tr);
      applyFilter();
      document.getElementById('requests-empty')?.remove();
    }
  });
}

// --- Requests ---
function requestRow(s) {
  const path = s.path + (s.query ? '?' + s.query : '');
  return el('tr', { class: 'row', 'data-id': s.id, 'data-text': [s.method, path, s.route, s.status].join(' ').toLowerCase(), onclick: () => go('/console/requests/' + s.id) },
    el('td', { class: 'mono' }, time(s.time)),
    el('td', {}, s.method),
    el('td', { class: 'wrap mono' }, path, s.replayOf ? el('span', { class: 'tag', title: 'replay of #' + s.replayOf }, ' replay') : null),
    el('td', { class: 'mono hide-narrow' }, s.route || '—'),
    el('td', { class: statusClass(s.status) }, s.status),
    el('td', { class: 'mono' }, ms(s.durationMs)),
    el('td', { class: 'mono hide-narrow' }, size(s.bytes)));
}

function applyFilter() {
  const f = (document.getElementById('filter')?.value || '').toLowerCase();
  for (const tr of document.querySelectorAll('#requests-body tr.row')) tr.hidden = f !== '' && !tr.dataset.text.includes(f);
}

async function viewRequests() {
  const list = await api('exchanges');
  // Exchanges the stream brought while the list was on its way have no
  // table to go to yet: they come first, unless the list has them.
  const listed = new Set(list.map((s) => s.id));
  const newest = list.length ? list[0].id : 0;
  const streamed = [...rows.values()].filter((s) => !listed.has(s.id) && s.id > newest).sort((a, b) => b.id - a.id);
  const tbody = el('tbody', { id: 'requests-body' });
  for (const s of streamed) tbody.append(requestRow(s));
  for (const s of list) { rows.set(s.id, s); tbody.append(requestRow(s)); }
  show(
    el('div', { class: 'toolbar' },
      el('input', { type: 'search', id: 'filter', placeholder: 'filter: method, path, route, status', oninput: applyFilter }),
      el('button', { onclick: async () => { await api('exchanges', { method: 'DELETE' }); rows.clear(); tbody.replaceChildren(); } }, 'Clear')),
    el('div', { class: 'scroll' }, el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'Time'), el('th', {}, 'Method'), el('th', {}, 'Path'), el('th', { class: 'hide-narrow' }, 'Route'), el('th', {}, 'Status'), el('th', {}, 'Duration'), el('th', { class: 'hide-narrow' }, 'Size'))),
      tbody)),
    list.length + streamed.length ? '' : el('p', { id: 'requests-empty', class: 'muted' }, 'No requests yet. They appear here as they happen.'));
}

// --- One exchange ---
function headersBlock(h) {
  const dl = el('dl', { class: 'kv' });
  for (const k of Object.keys(h || {}).sort()) for (const v of h[k]) dl.append(el('dt', {}, k), el('dd', {}, v));
  return dl;
}

function bodyBlock(b, what) {
  if (!b || !b.size) return el('p', { class: 'muted' }, 'no ' + what);
  if (b.binary) return el('p', {}, size(b.size) + ' of binary data. First bytes: ', el('code', {}, b.hexHead));
  return el('div', {}, el('pre', { class: 'body' }, b.text),
    b.truncated ? el('p', { class: 'note' }, 'cut: ' + size(b.size) + ' in all, the console keeps the first part') : null);
}

const phaseColors = { routing: '#8aa4e8', policies: '#b6a0e0', auth: '#e7a65a', validation: '#e58ba0', mapping: '#7fcfb8', integration: '#2f5bd3', response: '#5fb36b' };

function phasesBlock(phases, total) {
  const sum = phases.reduce((a, p) => a + p.ms, 0) || 1;
  return el('div', {},
    el('div', { class: 'phases', title: 'time in each stage' }, phases.map((p) => el('span', { style: `width:${(100 * p.ms / sum).toFixed(2)}%;background:${phaseColors[p.name] || '#aaa'}`, title: p.name + ' ' + ms(p.ms) }))),
    el('div', { class: 'legend' }, phases.map((p) => el('span', {}, el('i', { style: `background:${phaseColors[p.name] || '#aaa'}` }), p.name + ' ' + ms(p.ms))), el('span', { class: 'muted' }, 'total ' + ms(total))));
}

async function viewExchange(id) {
  let e;
  try { e = await api('exchanges/' + id); } catch (err) { show(el('p', { class: 'error' }, err.message)); return; }
  const line = e.method + ' ' + e.path + (e.query ? '?' + e.query : '') + ' ' + e.proto;
  const out = el('pre', { id: 'curl', hidden: '' });
  const editor = el('div', { id: 'editor', hidden: '' });
  const result = el('p', { id: 'replay-result' });
  async function replay(edit) {
    result.textContent = 'sending…';
    try {
      const r = await api('exchanges/' + e.id + '/replay', edit ? { method: 'POST', body: JSON.stringify(edit) } : { method: 'POST' });
      result.replaceChildren('Replayed: ' + r.status + ' ', r.id ? el('a', { href: '/console/requests/' + r.id, onclick: (ev) => { ev.preventDefault(); go('/console/requests/' + r.id); } }, 'open #' + r.id) : '');
    } catch (err) { result.replaceChildren(el('span', { class: 'error' }, err.message)); }
  }
  function openEditor() {
    const hdrs = headerLines(e.request.headers);
    const method = el('input', { type: 'text', id: 'edit-method', value: e.method, size: 8 });
    const path = el('input', { type: 'text', id: 'edit-path', value: e.path + (e.query ? '?' + e.query : ''), style: 'flex:1 1 300px' });
    const headers = el('textarea', { id: 'edit-headers', rows: 6 }); headers.value = hdrs;
    const body = el('textarea', { id: 'edit-body', rows: 8 }); body.value = e.request.body.binary ? '' : (e.request.body.text || '');
    editor.replaceChildren(el('div', { class: 'toolbar' }, method, path), el('p', { class: 'note' }, 'Headers, one per line. A masked value is sent as it was recorded.'), headers, el('p', { class: 'note' }, 'Body'), body,
      el('div', { class: 'toolbar' }, el('button', { class: 'primary', id: 'send-edited', onclick: () => {
        replay({ method: method.value, path: path.value, headers: parseHeaders(headers.value), body: body.value });
      } }, 'Send edited')));
    editor.hidden = false;
  }
  show(
    el('div', { class: 'toolbar' },
      el('a', { href: '/console/', onclick: (ev) => { ev.preventDefault(); go('/console/'); } }, '← requests'),
      el('span', { class: 'mono' }, '#' + e.id), e.replayOf ? el('span', { class: 'tag' }, 'replay of #' + e.replayOf) : null,
      el('button', { class: 'primary', id: 'replay', onclick: () => replay(null) }, 'Replay'),
      el('button', { id: 'edit', onclick: openEditor }, 'Edit and replay'),
      el('button', { id: 'copy-curl', onclick: async () => { const t = await api('exchanges/' + e.id + '/curl'); out.textContent = t; out.hidden = false; try { await navigator.clipboard.writeText(t); } catch (_) { /* shown instead */ } } }, 'Copy as curl')),
    result, editor, out,
    el('h2', {}, el('span', { class: 'mono' }, line), ' → ', el('span', { class: statusClass(e.status) }, e.status), el('span', { class: 'muted' }, ' in ' + ms(e.durationMs))),
    e.phases.length ? phasesBlock(e.phases, e.durationMs) : null,
    el('dl', { class: 'kv' },
      el('dt', {}, 'route'), el('dd', {}, e.route || '— (none matched)'),
      e.operationId ? [el('dt', {}, 'operation'), el('dd', {}, e.operationId)] : null,
      el('dt', {}, 'integration'), el('dd', {}, e.integration || '—'),
      el('dt', {}, 'time'), el('dd', {}, new Date(e.time).toISOString()),
      el('dt', {}, 'client'), el('dd', {}, e.clientIp),
      el('dt', {}, 'request id'), el('dd', {}, e.requestId),
      e.auth ? [el('dt', {}, 'authorizer'), el('dd', { id: 'auth' }, e.auth + (e.authContext ? ' ' + JSON.stringify(e.authContext) : ''))] : null,
      e.sws ? [el('dt', {}, 'security profile'), el('dd', { id: 'sws' }, e.sws.action + (e.sws.rule ? ' by rule ' + e.sws.rule : ' (default action)') +
        (e.sws.wafRules ? '; WAF rules ' + e.sws.wafRules.join(', ') : '') + (e.sws.arlRule ? '; rate limiter rule ' + e.sws.arlRule : '') +
        (e.sws.dryRuns ? '; dry runs ' + e.sws.dryRuns.join(', ') : '') + (e.sws.arlDryRuns ? '; rate limiter dry runs ' + e.sws.arlDryRuns.join(', ') : ''))] : null,
      e.error ? [el('dt', {}, 'error'), el('dd', { class: 'error', id: 'error' }, e.error)] : null),
    e.details ? el('div', {}, el('h2', {}, 'Validation'), el('pre', { id: 'details' }, JSON.stringify(e.details, null, 2))) : null,
    el('div', { class: 'grid' },
      el('section', { id: 'request' }, el('h2', {}, 'Request'), headersBlock(e.request.headers), el('h2', {}, 'Request body'), bodyBlock(e.request.body, 'body')),
      el('section', { id: 'response' }, el('h2', {}, 'Response'), headersBlock(e.response.headers), el('h2', {}, 'Response body'), bodyBlock(e.response.body, 'body'))),
    e.upstream ? el('section', { id: 'upstream' }, el('h2', {}, 'Backend'), el('p', { class: 'mono' }, e.upstream.kind + ': ' + e.upstream.target),
      e.upstream.event ? [el('h2', {}, 'Function event'), bodyBlock(e.upstream.event, 'event')] : null,
      e.upstream.answer ? [el('h2', {}, 'Function answer'), bodyBlock(e.upstream.answer, 'answer')] : null) : null);
}

// --- Routes ---
// headerLines and parseHeaders turn headers into the editor's "Name: value"
// lines and back.
function headerLines(h) { return Object.entries(h || {}).flatMap(([k, vs]) => vs.map((v) => k + ': ' + v)).join('\n'); }
function parseHeaders(text) {
  const h = {};
  for (const l of text.split('\n')) { const i = l.indexOf(':'); if (i > 0) (h[l.slice(0, i).trim()] ||= []).push(l.slice(i + 1).trim()); }
  return h;
}

// tryPanel composes a request for one operation from the spec (as
// `apigw test` makes its first case), lets it be edited, and sends it
// through the gateway.
function tryPanel(panel, name) {
  let seed = 0;
  const result = el('p', { id: 'try-result' });
  const method = el('input', { type: 'text', id: 'try-method', size: 8 });
  const path = el('input', { type: 'text', id: 'try-path', style: 'flex:1 1 300px' });
  const headers = el('textarea', { id: 'try-headers', rows: 5 });
  const body = el('textarea', { id: 'try-body', rows: 8 });
  const title = el('span', { class: 'mono' }, name);
  const caseName = el('span', { class: 'muted', id: 'try-case' });
  async function load() {
    result.textContent = '';
    try {
      const x = await api('try?operation=' + encodeURIComponent(name) + '&seed=' + seed);
      method.value = x.method; path.value = x.path; headers.value = headerLines(x.headers); body.value = x.body || '';
      title.textContent = x.operation;
      caseName.textContent = x.note ? x.case + ' (' + x.note + ')' : x.case;
    } catch (err) { result.replaceChildren(el('span', { class: 'error' }, err.message)); }
  }
  async function send() {
    result.textContent = 'sending…';
    try {
      const r = await api('send', { method: 'POST', body: JSON.stringify({ method: method.value, path: path.value, headers: parseHeaders(headers.value), body: body.value }) });
      result.replaceChildren('Sent: ' + r.status + ' ', r.id ? el('a', { id: 'try-open', href: '/console/requests/' + r.id, onclick: (ev) => { ev.preventDefault(); go('/console/requests/' + r.id); } }, 'open #' + r.id) : '');
    } catch (err) { result.replaceChildren(el('span', { class: 'error' }, err.message)); }
  }
  panel.replaceChildren(el('h2', {}, 'Try ', title, ' ', caseName),
    el('div', { class: 'toolbar' }, method, path), el('p', { class: 'note' }, 'Headers, one per line. Credentials are made up: put a real one here.'), headers,
    el('p', { class: 'note' }, 'Body'), body,
    el('div', { class: 'toolbar' }, el('button', { class: 'primary', id: 'try-send', onclick: send }, 'Send'),
      el('button', { id: 'try-another', onclick: () => { seed++; load(); } }, 'Another example'),
      el('button', { onclick: () => { panel.hidden = true; } }, 'Close')),
    result);
  panel.hidden = false;
  panel.scrollIntoView({ block: 'nearest' });
  return load();
}

function routesTable(routes, panel) {
  const tbody = el('tbody', { class: 'routes' });
  for (const r of routes) {
    const policies = [r.security && 'auth: ' + r.security, r.validates && 'validates ' + r.validates, r.cors && 'CORS', r.rateLimit && 'rate limit ' + r.rateLimit, r.mapping && 'maps ' + r.mapping].filter(Boolean);
    const name = r.operationId || r.method + ' ' + r.path;
    const tryable = panel && !r.method.startsWith('WS-') && !r.shadowed;
    tbody.append(el('tr', { 'data-text': [r.method, r.path, r.operationId, r.integration, r.target, policies.join(' ')].join(' ').toLowerCase() },
      el('td', {}, r.method), el('td', { class: 'mono' }, r.path), el('td', { class: 'hide-narrow' }, r.operationId || ''),
      el('td', {}, r.integration), el('td', { class: 'wrap mono' }, r.target || ''),
      el('td', { class: 'wrap' }, policies.map((p) => el('span', { class: 'tag' }, p))),
      el('td', {}, tryable ? el('button', { class: 'try', 'data-operation': name, title: 'compose a request from the spec and send it', onclick: () => tryPanel(panel, name) }, 'Try') : '')));
  }
  return el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Method'), el('th', {}, 'Path'), el('th', { class: 'hide-narrow' }, 'Operation'), el('th', {}, 'Integration'), el('th', {}, 'Bound to'), el('th', {}, 'Policies'), el('th', {}, ''))), tbody));
}

async function viewRoutes() {
  const r = await api('routes');
  const filter = el('input', { type: 'search', id: 'route-filter', placeholder: 'filter routes', oninput: () => {
    const f = filter.value.toLowerCase();
    for (const tr of document.querySelectorAll('tbody.routes tr')) tr.hidden = f !== '' && !tr.dataset.text.includes(f);
  } });
  const panel = el('section', { id: 'try', hidden: '' });
  show(el('div', { class: 'toolbar' }, filter), el('p', { class: 'muted' }, r.spec + (r.builtAt ? ', built ' + new Date(r.builtAt).toLocaleString() : '')), panel, routesTable(r.routes, panel),
    r.canary ? [el('h2', {}, 'Canary release (' + r.canary.weight + '% of requests)'), routesTable(r.canary.routes)] : null,
    (r.domains || []).map((d) => [el('h2', {}, 'Domain ' + d.hosts.join(', ') + (d.tls ? ' (TLS)' : '')), routesTable(d.routes)]));
}

// --- Spec ---
async function viewSpec() {
  const render = async () => {
    const s = await api('spec');
    show(
      el('dl', { class: 'kv' }, el('dt', {}, 'spec'), el('dd', {}, s.file), el('dt', {}, 'bindings'), el('dd', {}, s.config || '—'),
        el('dt', {}, 'loaded'), el('dd', {}, s.loadedAt && !s.loadedAt.startsWith('0001') ? new Date(s.loadedAt).toLocaleString() : '—')),
      s.errors.length ? el('section', { id: 'spec-errors' },
        el('h2', { class: 'error' }, 'The last reload failed' + (s.failedAt ? ' at ' + new Date(s.failedAt).toLocaleTimeString() : '') + '; the previous spec keeps serving'),
        el('ul', {}, s.errors.map((e) => el('li', { class: 'mono' }, e.text))))
        : el('p', { class: 's2', id: 'spec-ok' }, 'The spec loaded without errors.'));
  };
  await render();
  pollTimer = setInterval(() => render().catch(() => {}), 1000);
}

// --- Functions ---
function age(t) {
  const s = Math.max(0, (Date.now() - new Date(t)) / 1000);
  return s < 60 ? s.toFixed(0) + ' s' : s < 3600 ? (s / 60).toFixed(0) + ' min' : (s / 3600).toFixed(1) + ' h';
}

async function viewFunctions() {
  let selected = new URLSearchParams(location.search).get('id');
  const render = async () => {
    const procs = await api('functions');
    if (!selected && procs.length) selected = procs[0].functionId;
    const tbody = el('tbody', { id: 'functions-body' });
    for (const p of procs) {
      tbody.append(el('tr', { class: 'row' + (p.functionId === selected ? ' active' : ''), 'data-id': p.functionId, onclick: () => { selected = p.functionId; render(); } },
        el('td', { class: 'mono' }, p.functionId), el('td', { class: 'wrap mono' }, p.handler || p.command.join(' ')),
        el('td', { class: 'mono hide-narrow' }, p.pid || '—'), el('td', { class: p.state === 'running' ? 's2' : 'muted' }, p.state),
        el('td', {}, p.restarts), el('td', {}, p.invocations)));
    }
    const cur = procs.find((p) => p.functionId === selected);
    const log = el('pre', { id: 'function-output', class: 'log' });
    for (const l of (cur ? cur.output : [])) log.append(el('span', { class: l.stream === 'stderr' ? 'error' : '' }, time(l.time) + ' ' + l.text + '\n'));
    const keepBottom = (() => { const old = document.getElementById('function-output'); return !old || old.scrollTop + old.clientHeight >= old.scrollHeight - 4; })();
    show(procs.length ? el('div', { class: 'scroll' }, el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'Function'), el('th', {}, 'Handler'), el('th', { class: 'hide-narrow' }, 'PID'), el('th', {}, 'State'), el('th', {}, 'Restarts'), el('th', {}, 'Invocations'))), tbody))
      : el('p', { class: 'muted' }, 'No local function processes (runtime or command bindings) yet.'),
    cur ? [el('h2', {}, 'Output of ' + cur.functionId + ' (stdout, stderr in red)'), log] : null);
    if (keepBottom) log.scrollTop = log.scrollHeight;
  };
  await render();
  pollTimer = setInterval(() => render().catch(() => {}), 1000);
}

// --- Gateways (the control plane's) ---
async function viewGateways() {
  let selected = new URLSearchParams(location.search).get('id');
  const render = async () => {
    const gws = await api('gateways' + (selected ? '?id=' + encodeURIComponent(selected) : ''));
    if (gws === null) {
      show(el('p', { class: 'muted', id: 'gateways-off' }, 'No control plane: set control_plane.listen in the bindings to create gateways through the cloud\'s API (docs/control-plane.md).'));
      return;
    }
    if (!selected && gws.length) { selected = gws[0].id; return render(); }
    const tbody = el('tbody', { id: 'gateways-body' });
    for (const g of gws) {
      tbody.append(el('tr', { class: 'row' + (g.id === selected ? ' active' : ''), 'data-id': g.id, onclick: () => { selected = g.id; render(); } },
        el('td', { class: 'mono' }, g.id), el('td', {}, g.name || '—'), el('td', { class: 'mono wrap' }, [g.domain].concat(g.domains || []).join(' ')),
        el('td', { class: g.errors ? 'error' : g.status === 'ACTIVE' ? 's2' : 'muted' }, g.errors ? 'ERROR' : g.status),
        el('td', { class: 'hide-narrow' }, g.routes), el('td', { class: 'hide-narrow' }, age(g.created_at))));
    }
    const cur = gws.find((g) => g.id === selected);
    const detail = cur ? el('section', { id: 'gateway-detail' },
      el('h2', {}, 'Operations of ' + cur.id),
      el('ul', { id: 'gateway-operations' }, (cur.operations || []).map((o) => el('li', { class: o.error ? 'error' : '' },
        time(o.created_at) + ' ' + o.description + ' ', el('span', { class: 'mono muted' }, o.id), o.error ? ' — ' + o.error : ''))),
      cur.errors ? [el('h2', { class: 'error' }, 'Its spec does not build with the current bindings; it serves its last snapshot'),
        el('ul', { id: 'gateway-errors' }, cur.errors.map((e) => el('li', { class: 'mono' }, e)))] : null) : null;
    show(gws.length ? el('div', { class: 'scroll' }, el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'ID'), el('th', {}, 'Name'), el('th', {}, 'Domains'), el('th', {}, 'Status'), el('th', { class: 'hide-narrow' }, 'Routes'), el('th', { class: 'hide-narrow' }, 'Age'))), tbody))
      : el('p', { class: 'muted', id: 'gateways-none' }, 'No gateways yet: create one with an SDK, yc, Terraform or the REST API (docs/control-plane.md).'), detail);
  };
  await render();
  pollTimer = setInterval(() => render().catch(() => {}), 1000);
}

// --- WebSocket ---
async function viewWebSocket() {
  let selected = null;
  let after = 0;
  const messages = el('div', { id: 'ws-messages' });
  const detail = el('section', { id: 'ws-detail', hidden: '' });
  const text = el('input', { type: 'text', id: 'ws-text', placeholder: 'a text message', style: 'flex:1 1 240px' });
  const note = el('span', { id: 'ws-note', class: 'note' });
  detail.append(el('h2', { id: 'ws-title' }),
    el('div', { class: 'toolbar' }, text,
      el('button', { class: 'primary', id: 'ws-send', onclick: async () => {
        try { await api('websocket/' + selected + '/send', { method: 'POST', body: JSON.stringify({ text: text.value }) }); text.value = ''; note.textContent = 'sent'; } catch (err) { note.textContent = err.message; }
      } }, 'Send'),
      el('button', { id: 'ws-disconnect', onclick: async () => {
        try { await api('websocket/' + selected + '/disconnect', { method: 'POST' }); note.textContent = 'disconnected (1000)'; } catch (err) { note.textContent = err.message; }
      } }, 'Disconnect'), note),
    messages);
  const table = el('tbody', { id: 'ws-body' });
  const render = async () => {
    const conns = await api('websocket');
    table.replaceChildren(...conns.map((c) => el('tr', { class: 'row' + (c.id === selected ? ' active' : ''), 'data-id': c.id, onclick: () => {
      selected = c.id; after = 0; messages.replaceChildren(); note.textContent = '';
      document.getElementById('ws-title').textContent = 'Connection ' + c.id + ' on ' + c.path; detail.hidden = false; render();
    } },
      el('td', { class: 'mono' }, c.id), el('td', { class: 'mono' }, c.path), el('td', { class: 'mono hide-narrow' }, c.replica || 'this one'),
      el('td', {}, age(c.connectedAt)), el('td', {}, c.messagesIn + ' / ' + size(c.bytesIn)), el('td', {}, c.messagesOut + ' / ' + size(c.bytesOut)))));
    if (!conns.length) table.append(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No open connections.')));
    if (selected) {
      for (const m of await api('websocket/' + selected + '/messages?after=' + after)) {
        after = m.seq;
        messages.append(el('div', { class: 'mono msg ' + (m.in ? 'in' : 'out') }, time(m.time) + (m.in ? ' ← client: ' : ' → client: ') + (m.type === 'text' ? m.text : '[binary ' + size(m.size) + '] ' + m.hexHead) + (m.truncated ? ' …' : '')));
      }
    }
  };
  show(el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Connection'), el('th', {}, 'Path'), el('th', { class: 'hide-narrow' }, 'Replica'), el('th', {}, 'Age'), el('th', {}, 'From client'), el('th', {}, 'To client'))), table)), detail);
  await render();
  pollTimer = setInterval(() => render().catch(() => {}), 1000);
}

// --- Navigation ---
function go(path) { history.pushState(null, '', path); route(); }

async function route() {
  clearInterval(pollTimer);
  const path = location.pathname.replace(/\/+$/, '') || '/console';
  const view = path === '/console' ? 'requests' : path.split('/')[2];
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === view || (view === 'requests' && a.dataset.view === 'requests'));
  try {
    if (view === 'requests' && path.split('/')[3]) await viewExchange(path.split('/')[3]);
    else if (view === 'routes') await viewRoutes();
    else if (view === 'spec') await viewSpec();
    else if (view === 'functions') await viewFunctions();
    else if (view === 'websocket') await viewWebSocket();
    else if (view === 'gateways') await viewGateways();
    else await viewRequests();
  } catch (err) {
    show(el('p', { class: 'error' }, err.message));
  }
}

for (const a of document.querySelectorAll('nav a, a.brand')) a.addEventListener('click', (ev) => { ev.preventDefault(); go(a.getAttribute('href')); });
window.addEventListener('popstate', route);
startStream();
// A page kept in the back/forward cache keeps its stream open unless it
// is closed here: six such pages take every connection the browser
// allows one host over HTTP/1.1, and the seventh load waits forever.
window.addEventListener('pagehide', () => { if (stream) { stream.close(); stream = null; } });
window.addEventListener('pageshow', (ev) => { if (ev.persisted) startStream(); });
route();
