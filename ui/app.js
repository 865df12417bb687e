// The minimal page (incidents, pools, targets): reads the swas API with a token kept in session storage.
const state = { token: null, selected: null };

function takeTokenFromUrl() {
  const match = /token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem('swas-token', decodeURIComponent(match[1]));
    history.replaceState(
      null,
      '',
      location.pathname + location.hash.replace(/[#&]?token=[^&]+/, '').replace(/^#?$/, ''),
    );
  }
  return sessionStorage.getItem('swas-token');
}

async function api(path) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${state.token}` } });
  if (response.status === 401) {
    sessionStorage.removeItem('swas-token');
    showLogin();
    throw new Error('the token was refused');
  }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children)
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const badge = (text) => el('span', { class: `badge ${text}` }, text);
const clock = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '—');

function renderPools(pools) {
  const box = document.getElementById('pools');
  if (pools.length === 0) return;
  box.replaceChildren(
    ...pools.map((pool) => {
      if (pool.error)
        return el('p', { class: 'pool' }, `${pool.loadBalancer}: `, badge('down'), ` ${pool.error}`);
      const rows = pool.members.map((m) =>
        el(
          'tr',
          {},
          el('td', {}, m.name),
          el('td', {}, badge(m.admin)),
          el('td', {}, badge(m.operational)),
          el('td', {}, m.weight),
          el('td', {}, m.throttlePercent === null ? '—' : `${m.throttlePercent}%`),
          el('td', {}, m.activeSessions),
          el('td', {}, m.totalSessions),
        ),
      );
      return el(
        'div',
        { class: 'pool' },
        el('strong', {}, `${pool.loadBalancer} / ${pool.name}`),
        el(
          'table',
          { 'data-pool': pool.name },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ...['member', 'admin', 'health', 'weight', 'slow start', 'sessions', 'total'].map((h) =>
                el('th', {}, h),
              ),
            ),
          ),
          el('tbody', {}, ...rows),
        ),
      );
    }),
  );
}

// Prometheus reports a target never scraped with the zero time of Go.
const scrapedAt = (rfc3339) => (rfc3339.startsWith('0001-') ? null : Date.parse(rfc3339));

function renderTargets(targets) {
  const byJob = new Map();
  for (const t of targets) byJob.set(t.scrapePool, [...(byJob.get(t.scrapePool) ?? []), t]);
  const up = targets.filter((t) => t.health === 'up').length;
  document.getElementById('targets-summary').textContent =
    targets.length === 0 ? '' : `${up} of ${targets.length} up`;
  if (targets.length === 0) return;
  document.getElementById('targets').replaceChildren(
    ...[...byJob.keys()].sort().map((job) => {
      const rows = byJob
        .get(job)
        .sort((a, b) => a.scrapeUrl.localeCompare(b.scrapeUrl))
        .map((t) => {
          const at = scrapedAt(t.lastScrape);
          return el(
            'tr',
            { 'data-health': t.health, 'data-url': t.scrapeUrl },
            el('td', {}, t.scrapeUrl),
            el('td', {}, badge(t.health)),
            el('td', {}, at === null ? 'never' : clock(at)),
            el('td', {}, at === null ? '—' : `${Math.round(t.lastScrapeDuration * 1000)} ms`),
            // Text nodes only: an error can quote the scraped body, which the target controls.
            el('td', { class: t.lastError ? 'error' : 'muted' }, t.lastError || '—'),
          );
        });
      return el(
        'div',
        { class: 'job' },
        el('strong', {}, `job ${job}`),
        el(
          'table',
          { 'data-job': job },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ...['target', 'health', 'last scrape', 'duration', 'last error'].map((h) => el('th', {}, h)),
            ),
          ),
          el('tbody', {}, ...rows),
        ),
      );
    }),
  );
}

function renderIncidents(incidents) {
  const body = document.querySelector('#incidents tbody');
  document.getElementById('no-incidents').hidden = incidents.length > 0;
  body.replaceChildren(
    ...incidents.map((i) => {
      const row = el(
        'tr',
        { 'data-id': i.id, class: state.selected === i.id ? 'selected' : '' },
        el('td', {}, i.id),
        el('td', {}, badge(i.status)),
        el('td', {}, i.title),
        el('td', {}, clock(i.openedAt)),
        el('td', {}, clock(i.resolvedAt)),
      );
      row.addEventListener('click', () => {
        state.selected = i.id;
        void refresh();
      });
      return row;
    }),
  );
}

function renderDetail(detail) {
  document.getElementById('detail').hidden = false;
  document
    .getElementById('detail-title')
    .replaceChildren(
      `Incident #${detail.incident.id}: ${detail.incident.title} `,
      badge(detail.incident.status),
    );
  document
    .getElementById('timeline')
    .replaceChildren(
      ...detail.timeline.map((t) =>
        el(
          'li',
          { 'data-kind': t.kind },
          el('time', {}, clock(t.at)),
          el('span', { class: 'kind' }, t.kind),
          t.message,
        ),
      ),
    );
  document
    .getElementById('runs')
    .replaceChildren(
      ...detail.runs.map(({ run, steps }) =>
        el(
          'div',
          { class: 'run', 'data-run': run.id },
          el('strong', {}, run.runbook),
          ' ',
          badge(run.status),
          run.error ? el('p', { class: 'muted' }, run.error) : '',
          el(
            'ol',
            {},
            ...steps.map((s) =>
              el(
                'li',
                {},
                badge(s.status),
                ' ',
                s.name,
                s.error ? ` — ${s.error}` : s.result?.message ? ` — ${s.result.message}` : '',
              ),
            ),
          ),
        ),
      ),
    );
}

async function refresh() {
  try {
    const [{ incidents }, { pools }, { data: targets }] = await Promise.all([
      api('/api/v1/incidents?limit=50'),
      api('/api/v1/pools'),
      api('/api/v1/targets'),
    ]);
    renderPools(pools);
    renderTargets(targets.activeTargets);
    renderIncidents(incidents);
    state.selected ??= incidents[0]?.id ?? null;
    if (state.selected !== null) renderDetail(await api(`/api/v1/incidents/${state.selected}`));
    document.getElementById('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    document.getElementById('status').textContent = `cannot reach swas: ${error.message}`;
  }
}

function showLogin() {
  document.getElementById('app').hidden = true;
  document.getElementById('login').hidden = false;
}

document.getElementById('login').addEventListener('submit', (event) => {
  event.preventDefault();
  state.token = document.getElementById('token').value.trim();
  sessionStorage.setItem('swas-token', state.token);
  start();
});

function start() {
  document.getElementById('login').hidden = true;
  document.getElementById('app').hidden = false;
  void refresh();
  setInterval(refresh, 1000);
}

state.token = takeTokenFromUrl();
if (state.token) start();
else showLogin();
