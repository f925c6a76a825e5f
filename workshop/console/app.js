// The console's shell: header (time range, live refresh), tabs routed by the location hash
// (#/operations, #/business, #/traces, #/alarms, #/dlq, #/chaos, #/functions; #/traces/<id> is
// one trace), and the refresh loop.

import { api, alarmsShared } from './api.js';
import { Dashboard } from './dashboard.js';
import { AlarmsPanel, DlqPanel, ChaosPanel, FunctionsPanel } from './panels.js';
import { TracesPanel } from './traces.js';
import { h, clear, message, formatTime } from './util.js';

const RANGES = { '5m': 5 * 60_000, '15m': 15 * 60_000, '1h': 60 * 60_000, '3h': 3 * 60 * 60_000 };
const DEFAULT_RANGE = '15m';
const REFRESH_MS = 10_000;

const state = {
  range: DEFAULT_RANGE,
  live: true,
  tab: null,
  dashboards: new Map(), // name -> Dashboard (built the first time its tab is shown)
  bodies: null, // Promise<[{name, body}]>
  refreshing: null,
};

const $ = (sel) => document.querySelector(sel);

function timeRange() {
  const end = Date.now();
  return { start: end - RANGES[state.range], end };
}

// --- header ------------------------------------------------------------------------------------

function setupHeader() {
  const params = new URLSearchParams(location.search);
  const apiUrl = params.get('api');
  if (apiUrl && /^https?:\/\//.test(apiUrl)) showApiUrl(apiUrl);
  else {
    api.about().then((a) => {
      if (a && typeof a.api === 'string' && /^https?:\/\//.test(a.api)) showApiUrl(a.api);
    }).catch(() => {});
  }

  const saved = params.get('range') || sessionStorage.getItem('console.range');
  if (saved && RANGES[saved]) state.range = saved;
  for (const b of document.querySelectorAll('#range button')) {
    b.addEventListener('click', () => {
      state.range = b.dataset.range;
      sessionStorage.setItem('console.range', state.range);
      markRange();
      refresh();
    });
  }
  markRange();

  const live = $('#live');
  live.checked = state.live;
  live.addEventListener('change', () => {
    state.live = live.checked;
    if (state.live) refresh();
  });
  $('#refresh').addEventListener('click', () => refresh());
}

function showApiUrl(url) {
  const el = $('#api-url');
  clear(el).append('API ', h('a', { href: url, target: '_blank', rel: 'noopener' }, url));
  el.hidden = false;
}

function markRange() {
  for (const b of document.querySelectorAll('#range button')) {
    b.setAttribute('aria-pressed', String(b.dataset.range === state.range));
  }
  document.body.dataset.range = state.range;
}

// --- tabs ----------------------------------------------------------------------------------------

const panels = {};

function tabFromHash() {
  const name = decodeURIComponent(location.hash.replace(/^#\/?/, '').split(/[/?]/)[0] || '');
  if (['traces', 'alarms', 'dlq', 'chaos', 'functions'].includes(name)) return name;
  if (name && document.getElementById(`dashboard-${name}`)) return `dashboard-${name}`;
  return 'dashboard-operations';
}

function show(tab) {
  state.tab = tab;
  for (const s of document.querySelectorAll('.tab-panel')) s.hidden = s.id !== tab;
  for (const a of document.querySelectorAll('#tabs a')) {
    if (a.dataset.tab === tab) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.body.dataset.tab = tab;
  document.body.classList.toggle('on-dashboard', tab.startsWith('dashboard-'));
  refresh();
}

// --- dashboards ----------------------------------------------------------------------------------

function loadBodies() {
  if (!state.bodies) {
    state.bodies = api.dashboards().then((list) => {
      list = Array.isArray(list) ? list : [];
      for (const d of list) ensureDashboardSection(d.name);
      return list;
    });
    state.bodies.catch(() => {
      state.bodies = null; // ask again on the next refresh
    });
  }
  return state.bodies;
}

/** A dashboard the page does not know yet gets its own section and tab. */
function ensureDashboardSection(name) {
  const id = `dashboard-${name}`;
  if (document.getElementById(id)) return;
  $('#main').append(h('section', { id, class: 'tab-panel dashboard', dataset: { dashboard: name }, hidden: true }));
  const before = document.querySelector('#tabs a[data-tab="traces"]');
  const label = name.charAt(0).toUpperCase() + name.slice(1);
  before.before(h('a', { href: `#/${encodeURIComponent(name)}`, dataset: { tab: id } }, label));
  if (tabFromHash() === id && state.tab !== id) show(id);
}

async function refreshDashboard(tab) {
  const section = document.getElementById(tab);
  const name = section.dataset.dashboard;
  let dash = state.dashboards.get(name);
  if (!dash) {
    let bodies;
    try {
      bodies = await loadBodies();
    } catch (e) {
      clear(section).append(h('div', { class: 'panel-error', role: 'alert' }, `Cannot load the dashboards: ${message(e)}`));
      return;
    }
    const entry = bodies.find((d) => d.name === name);
    if (!entry) {
      clear(section).append(h('div', { class: 'panel-error', role: 'alert' }, `The stack serves no dashboard named "${name}".`));
      return;
    }
    if (state.tab !== tab || state.dashboards.has(name)) {
      dash = state.dashboards.get(name);
      if (!dash) return;
    } else {
      const grid = h('div', { class: 'dash-holder' });
      clear(section).append(grid);
      dash = new Dashboard(name, entry.body, grid, timeRange);
      dash.render();
      state.dashboards.set(name, dash);
    }
  }
  await dash.refresh();
}

// --- badges --------------------------------------------------------------------------------------

async function refreshBadges() {
  const [alarms, dlq, chaos] = await Promise.allSettled([alarmsShared(), api.dlq(), api.chaos()]);
  const badge = (el, text, cls) => {
    el.hidden = !text;
    el.textContent = text || '';
    el.className = `count ${cls || ''}`;
  };
  if (alarms.status === 'fulfilled') {
    const n = Object.values(alarms.value.alarms || {}).filter((a) => a.state === 'ALARM').length;
    badge($('#alarm-count'), n ? String(n) : '', 'danger');
  }
  if (dlq.status === 'fulfilled') {
    const n = Array.isArray(dlq.value) ? dlq.value.length : 0;
    badge($('#dlq-count'), n ? String(n) : '', 'danger');
  }
  if (chaos.status === 'fulfilled') {
    const live = chaos.value.live || {};
    badge($('#chaos-badge'), live.state === 'on' ? 'ON' : chaos.value.armed ? '' : 'disarmed',
      live.state === 'on' ? 'danger' : 'muted');
  }
}

// --- refresh loop --------------------------------------------------------------------------------

/** Refreshes the tab on show and every 10 s while live; one round at a time. */
function refresh() {
  if (state.refreshing) {
    state.again = true;
    return state.refreshing;
  }
  const tab = state.tab;
  state.refreshing = (async () => {
    const work = [refreshBadges()];
    if (tab.startsWith('dashboard-')) work.push(refreshDashboard(tab));
    else if (panels[tab]) work.push(panels[tab].refresh());
    await Promise.allSettled(work);
    $('#updated').textContent = `Updated ${formatTime(Date.now())}`;
  })().finally(() => {
    state.refreshing = null;
    if (state.again) {
      state.again = false;
      refresh();
    }
  });
  return state.refreshing;
}

function start() {
  setupHeader();
  panels.alarms = new AlarmsPanel($('#alarms'));
  panels.dlq = new DlqPanel($('#dlq'), () => refreshBadges());
  panels.chaos = new ChaosPanel($('#chaos'), () => refreshBadges());
  panels.functions = new FunctionsPanel($('#functions'));
  panels.traces = new TracesPanel($('#traces'), () => RANGES[state.range] / 60_000);
  window.addEventListener('hashchange', () => show(tabFromHash()));
  if (!location.hash) history.replaceState(null, '', '#/operations');
  show(tabFromHash());
  loadBodies().catch(() => {});
  setInterval(() => {
    if (state.live && !document.hidden) refresh();
  }, REFRESH_MS);
}

start();
