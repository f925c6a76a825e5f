// The Traces page, X-Ray's in the local stack. #/traces: the service map over the trace list
// and its filters (order id, function, errors only, minimum duration); #/traces/<trace id or
// order id>: one trace's waterfall, the selected span and the trace's log lines. The filters
// and the selected span live in the hash, so every view is a link and Back works.

import { api } from './api.js';
import {
  h, clear, errorBox, formatTime, relative, formatDuration, formatClock, message,
} from './util.js';
import { panelHeader } from './panels.js';
import { ServiceMap } from './service-map.js';
import { Waterfall, spanDetail, clearDetail, kindChip, KIND_LABELS } from './waterfall.js';

const FILTERS = ['order_id', 'function', 'error', 'min_duration_ms'];
const LIST_LIMIT = 100;

/** What the hash asks of the page: {view: 'list', filter} or {view: 'trace', id, span}. */
export function parseRoute(hash) {
  const raw = String(hash || '').replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const rest = path.split('/').slice(1).join('/');
  if (rest) {
    let id = rest;
    try {
      id = decodeURIComponent(rest);
    } catch {
      // A hand-typed id with a stray %: use it as typed.
    }
    return { view: 'trace', id: id.trim(), span: params.get('span') || '' };
  }
  const filter = {};
  for (const k of FILTERS) {
    const v = (params.get(k) || '').trim();
    if (v) filter[k] = v;
  }
  return { view: 'list', filter };
}

export function listHash(filter = {}) {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (filter[k]) q.set(k, filter[k]);
  const text = q.toString();
  return `#/traces${text ? `?${text}` : ''}`;
}

export function traceHash(id, span = '') {
  return `#/traces/${encodeURIComponent(id)}${span ? `?span=${encodeURIComponent(span)}` : ''}`;
}

const orderHref = (orderId) => listHash({ order_id: orderId });

function pills(items, cls, href) {
  if (!items || !items.length) return h('span', { class: 'muted' }, '–');
  return h('span', { class: 'pills' }, items.map((t) => (href
    ? h('a', { class: `pill ${cls}`, href: href(t), title: t }, t.length > 13 ? `${t.slice(0, 8)}…` : t)
    : h('span', { class: `pill ${cls}`, title: t }, t))));
}

function errorBadge(t) {
  return t.errors
    ? h('span', { class: 'chip state-alarm', title: `${t.errors} failed span${t.errors === 1 ? '' : 's'}` }, h('span', { class: 'dot' }), `${t.errors} error${t.errors === 1 ? '' : 's'}`)
    : h('span', { class: 'chip state-ok' }, h('span', { class: 'dot' }), 'OK');
}

/** Who wrote a log line: its function, else the stack part (API Gateway, the queue). */
function logSource(line) {
  if (line.function_name) return line.function_name;
  if (String(line.kind || '').startsWith('apigw')) return 'API Gateway';
  const target = String(line.target || '');
  return target ? target.split('::').pop() : '–';
}

export class TracesPanel {
  /** `minutes()`: the header's time range, which the list and the map cover. */
  constructor(section, minutes) {
    this.section = section;
    this.minutes = minutes;
    this.filter = {};
    this.listSig = null;
    this.current = null; // {id, sig, view, spans}
    this.selected = '';
    this.lastListHash = '#/traces';

    this.openForm = h('form', { class: 'trace-open', id: 'trace-open', role: 'search' },
      h('label', { class: 'visually-hidden', for: 'trace-open-id' }, 'Trace id or order id'),
      h('input', { id: 'trace-open-id', name: 'id', type: 'search', placeholder: 'Trace id (either form) or order id', autocomplete: 'off', size: 36 }),
      h('button', { type: 'submit', class: 'btn' }, 'Open'));
    this.openForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const id = this.openForm.elements.id.value.trim();
      if (id) location.hash = traceHash(id);
    });

    this.mapHolder = h('div', { id: 'service-map', class: 'map-holder' });
    this.mapError = h('div', { hidden: true });
    this.map = new ServiceMap(this.mapHolder, {
      onFunction: (name) => this.apply({ ...this.filter, function: this.filter.function === name ? '' : name }),
    });
    this.mapTitle = h('h3', {}, 'Service map');
    this.form = this.buildFilters();
    this.listHolder = h('div', { id: 'traces-list' });
    this.listTitle = h('h3', {}, 'Traces');
    this.listView = h('div', { id: 'traces-list-view' },
      h('div', { class: 'card' }, this.mapTitle,
        h('p', { class: 'muted card-hint' }, 'Who calls whom in the time range: requests, error rate and p99 on each arrow; a red arrow had errors. Select a function to list its traces.'),
        this.mapError, this.mapHolder),
      h('div', { class: 'card' }, this.listTitle, this.form, this.listHolder));
    this.traceView = h('div', { id: 'trace-view', hidden: true });
    this.waterfall = new Waterfall({ onSelect: (id) => this.select(id, { fromUser: true }) });

    clear(section).append(
      panelHeader('Traces', 'Every request through the stack as spans (local X-Ray): the service map, recent traces, and one trace\'s waterfall with its log lines.', this.openForm),
      this.listView, this.traceView);
  }

  buildFilters() {
    this.functionSelect = h('select', { name: 'function', id: 'traces-function' }, h('option', { value: '' }, 'All functions'));
    const form = h('form', { id: 'traces-filters', class: 'filters', role: 'search', 'aria-label': 'Trace filters' },
      h('label', { class: 'field' }, h('span', {}, 'Order id'),
        h('input', { name: 'order_id', id: 'traces-order', type: 'search', placeholder: 'e.g. 7300ff3e-…', autocomplete: 'off', size: 38 })),
      h('label', { class: 'field' }, h('span', {}, 'Function'), this.functionSelect),
      h('label', { class: 'field' }, h('span', {}, 'Minimum duration (ms)'),
        h('input', { name: 'min_duration_ms', id: 'traces-min-duration', type: 'number', min: 0, step: 'any', placeholder: '0', inputmode: 'decimal' })),
      h('label', { class: 'check' }, h('input', { name: 'error', id: 'traces-errors', type: 'checkbox', value: 'true' }), ' Errors only'),
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'btn primary', id: 'traces-apply' }, 'Apply'),
        h('button', { type: 'button', class: 'btn', id: 'traces-clear', onclick: () => this.apply({}) }, 'Clear')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.apply(this.formFilter());
    });
    // A choice applies at once; typed values on Enter or Apply.
    for (const el of [this.functionSelect, form.elements.error]) el.addEventListener('change', () => this.apply(this.formFilter()));
    return form;
  }

  formFilter() {
    const f = this.form.elements;
    const min = f.min_duration_ms.value.trim();
    return {
      order_id: f.order_id.value.trim(),
      function: f.function.value,
      error: f.error.checked ? 'true' : '',
      min_duration_ms: min && Number(min) > 0 ? min : '',
    };
  }

  apply(filter) {
    const next = listHash(filter);
    if (location.hash === next) this.refresh();
    else location.hash = next;
  }

  fillForm(filter) {
    const f = this.form.elements;
    f.order_id.value = filter.order_id || '';
    f.min_duration_ms.value = filter.min_duration_ms || '';
    f.error.checked = filter.error === 'true';
    this.setFunctions(this.functionNames || [], filter.function || '');
  }

  setFunctions(names, selected) {
    const all = [...new Set([...names, ...(selected ? [selected] : [])])].sort();
    const sig = JSON.stringify([all, selected]);
    if (sig === this.functionsSig) return;
    this.functionsSig = sig;
    clear(this.functionSelect).append(h('option', { value: '' }, 'All functions'),
      ...all.map((n) => h('option', { value: n, selected: n === selected }, n)));
    this.functionSelect.value = selected;
  }

  async refresh() {
    const route = parseRoute(location.hash);
    this.section.dataset.view = route.view;
    this.listView.hidden = route.view !== 'list';
    this.traceView.hidden = route.view !== 'trace';
    if (route.view === 'list') await this.refreshList(route.filter);
    else await this.refreshTrace(route.id, route.span);
  }

  // --- the list ------------------------------------------------------------------------------

  async refreshList(filter) {
    const hash = listHash(filter);
    if (hash !== this.lastListHash || !this.formFilled) {
      this.fillForm(filter);
      this.formFilled = true;
    }
    this.filter = filter;
    this.lastListHash = hash;
    const minutes = this.minutes();
    const [map, list] = await Promise.allSettled([
      api.serviceMap(minutes),
      api.traces({ ...filter, minutes, limit: LIST_LIMIT }),
    ]);
    if (parseRoute(location.hash).view !== 'list') return;
    this.mapTitle.textContent = `Service map (last ${minutes} min)`;
    if (map.status === 'fulfilled') {
      this.mapError.hidden = true;
      this.map.render(map.value, filter.function || '');
    } else {
      clear(this.mapError).append(errorBox(`Cannot read the service map: ${message(map.reason)}`));
      this.mapError.hidden = false;
    }
    const traces = list.status === 'fulfilled' && Array.isArray(list.value) ? list.value : null;
    const fromMap = map.status === 'fulfilled' && Array.isArray(map.value.nodes)
      ? map.value.nodes.filter((n) => n.kind === 'function').map((n) => n.name) : [];
    this.functionNames = [...new Set([...fromMap, ...(traces || []).flatMap((t) => t.functions || [])])];
    this.setFunctions(this.functionNames, filter.function || '');
    if (!traces) {
      this.listSig = null;
      clear(this.listHolder).append(errorBox(`Cannot read the traces: ${message(list.reason)}`));
      return;
    }
    this.renderList(traces, filter, minutes);
  }

  renderList(traces, filter, minutes) {
    // What the list shows, for links and tests: the hash of its filters.
    this.listHolder.dataset.filter = listHash(filter);
    const sig = JSON.stringify([traces, filter, minutes]);
    if (sig === this.listSig) return;
    this.listSig = sig;
    const focusedId = document.activeElement && this.listHolder.contains(document.activeElement)
      ? document.activeElement.closest('tr')?.dataset.traceId : null;
    const active = Object.keys(filter).length;
    const scope = filter.order_id ? `of order ${filter.order_id}` : `that began in the last ${minutes} min`;
    this.listTitle.textContent = `Traces (${traces.length}${traces.length >= LIST_LIMIT ? '+' : ''})`;
    this.listHolder.dataset.count = String(traces.length);
    clear(this.listHolder);
    this.listHolder.append(h('p', { class: 'muted list-scope', role: 'status' },
      `Newest first: the traces ${scope}${active ? ', filtered' : ''}.`));
    if (!traces.length) {
      this.listHolder.append(h('div', { class: 'empty-state', id: 'traces-empty' },
        active ? 'No trace matches these filters.' : 'No trace yet: every request to the API and every message makes one.'));
      return;
    }
    const longest = Math.max(...traces.map((t) => t.duration_ms || 0), 0.001);
    const table = h('table', { class: 'data-table traces-table', id: 'traces-table' },
      h('thead', {}, h('tr', {}, ['Time', 'Trace', 'Duration', 'Spans', 'Functions', 'Orders', 'Status', 'Faults']
        .map((c) => h('th', { scope: 'col', class: c === 'Duration' || c === 'Spans' ? 'num' : '' }, c)))),
      h('tbody', {}, traces.map((t) => h('tr', {
        class: `trace-row${t.errors ? ' has-errors' : ''}`,
        dataset: { traceId: t.trace_id, root: t.root || '', errors: String(t.errors || 0), orders: (t.order_ids || []).join(' ') },
        onclick: (ev) => {
          if (!ev.target.closest('a, button')) location.hash = traceHash(t.trace_id);
        },
      },
      h('td', { class: 'nowrap', title: `${t.start} (${relative(t.start)})` }, formatTime(t.start)),
      h('td', {},
        h('a', { href: traceHash(t.trace_id), class: 'trace-root' }, t.root || '(unnamed)'),
        h('div', { class: 'trace-id' }, h('code', {}, t.xray_trace_id))),
      h('td', { class: 'num nowrap' },
        h('span', { class: 'dur-bar', 'aria-hidden': 'true' }, h('span', { style: `width: ${Math.max(2, (t.duration_ms / longest) * 100)}%` })),
        formatDuration(t.duration_ms)),
      h('td', { class: 'num' }, String(t.spans)),
      h('td', {}, pills(t.functions, 'fn')),
      h('td', {}, pills(t.order_ids, 'order', orderHref)),
      h('td', {}, errorBadge(t)),
      h('td', {}, pills(t.faults, 'warn'))))));
    this.listHolder.append(table);
    if (focusedId) table.querySelector(`tr[data-trace-id="${CSS.escape(focusedId)}"] a.trace-root`)?.focus();
  }

  // --- one trace -----------------------------------------------------------------------------

  async refreshTrace(id, span) {
    let view;
    try {
      view = await api.trace(id);
    } catch (e) {
      const route = parseRoute(location.hash);
      if (route.view !== 'trace' || route.id !== id) return;
      this.current = null;
      const text = e.code === 'TRACE_NOT_FOUND'
        ? h('div', { class: 'notice', id: 'trace-missing', role: 'status' },
          h('b', {}, `No trace "${id}" (yet). `),
          'A function\'s spans reach the store when its invocation ends; this page asks again with the live refresh.')
        : errorBox(`Cannot read the trace: ${message(e)}`);
      clear(this.traceView).append(this.backLink(), text);
      return;
    }
    const route = parseRoute(location.hash);
    if (route.view !== 'trace' || route.id !== id) return;
    const spans = Array.isArray(view.spans) ? view.spans : [];
    const logs = Array.isArray(view.logs) ? view.logs : [];
    const sig = JSON.stringify([view.trace_ids, spans.length, logs.length, spans.map((sp) => sp.end_ns).reduce((a, b) => Math.max(a, b), 0)]);
    if (this.current && this.current.id === id && this.current.sig === sig) {
      if (span !== this.selected) this.select(span);
      return;
    }
    const focused = document.activeElement && this.traceView.contains(document.activeElement)
      ? document.activeElement.closest('tr')?.dataset.spanId : null;
    this.current = { id, sig, view, spans: new Map(spans.map((sp) => [sp.span_id, sp])) };
    this.renderTrace(view, spans, logs);
    this.select(span);
    if (focused) this.waterfall.focus(focused);
  }

  backLink() {
    return h('p', { class: 'back' }, h('a', { href: this.lastListHash, id: 'traces-back' }, '← All traces'));
  }

  renderTrace(view, spans, logs) {
    const summaries = Array.isArray(view.summary) ? view.summary : [];
    const main = summaries.find((t) => t.root) || summaries[0] || {};
    const errors = summaries.reduce((n, t) => n + (t.errors || 0), 0);
    const orders = [...new Set(summaries.flatMap((t) => t.order_ids || []))];
    const faults = [...new Set(summaries.flatMap((t) => t.faults || []))];
    const functions = [...new Set(summaries.flatMap((t) => t.functions || []))];
    const many = summaries.length > 1;
    this.traceView.dataset.traceIds = (view.trace_ids || []).join(' ');

    const header = h('div', { class: 'card trace-head' },
      h('h3', { id: 'trace-title' }, main.root || '(unnamed trace)', ' ', errors
        ? h('span', { class: 'chip state-alarm' }, h('span', { class: 'dot' }), `${errors} failed span${errors === 1 ? '' : 's'}`)
        : h('span', { class: 'chip state-ok' }, h('span', { class: 'dot' }), 'No error')),
      h('dl', { class: 'kv trace-kv' },
        h('dt', {}, many ? 'Traces' : 'Trace id'),
        h('dd', {}, summaries.map((t) => h('div', { class: 'trace-ids' },
          many ? h('a', { href: traceHash(t.trace_id) }, t.root || t.trace_id) : null,
          h('code', { title: 'X-Ray form' }, t.xray_trace_id), h('code', { class: 'muted', title: 'W3C form' }, t.trace_id)))),
        h('dt', {}, 'Start'), h('dd', { title: main.start }, `${formatTime(main.start)} (${relative(main.start)})`),
        h('dt', {}, 'Duration'), h('dd', {}, many ? summaries.map((t) => formatDuration(t.duration_ms)).join(', ') : formatDuration(main.duration_ms)),
        h('dt', {}, 'Spans'), h('dd', {}, String(spans.length)),
        h('dt', {}, 'Functions'), h('dd', {}, pills(functions, 'fn')),
        h('dt', {}, 'Orders'), h('dd', {}, orders.length
          ? orders.map((o) => h('span', { class: 'order-ref' }, h('code', {}, o), ' ', h('a', { href: orderHref(o), class: 'order-traces' }, 'all its traces')))
          : h('span', { class: 'muted' }, '–')),
        faults.length ? [h('dt', {}, 'Injected faults'), h('dd', {}, pills(faults, 'warn'))] : null));

    const legend = h('ul', { class: 'wf-legend', 'aria-label': 'Span colours' },
      Object.keys(KIND_LABELS).map((k) => h('li', {}, kindChip(k))),
      h('li', {}, h('span', { class: 'kind-chip failed' }, 'Failed')),
      h('li', {}, h('span', { class: 'wf-event-sample fault', 'aria-hidden': 'true' }), ' injected fault'),
      h('li', {}, h('span', { class: 'wf-event-sample', 'aria-hidden': 'true' }), ' event'));

    this.detail = h('div', { id: 'span-detail', class: 'span-detail' });
    clearDetail(this.detail);
    const waterfallCard = h('div', { class: 'card waterfall-card' },
      h('div', { class: 'card-title-row' }, h('h3', {}, 'Timeline'), legend),
      spans.length ? this.waterfall.render(spans) : h('p', { class: 'muted' }, 'This trace has no span.'));

    this.logsOnlySelected = h('input', { type: 'checkbox', id: 'trace-logs-only', onchange: () => this.markLogs() });
    this.logsBody = h('tbody', {}, logs.map((l) => {
      const known = l.span_id && this.current.spans.has(l.span_id);
      const level = String(l.level || '').toUpperCase();
      const pick = () => known && this.select(l.span_id, { fromUser: true, fromLogs: true });
      return h('tr', {
        class: 'log-row', dataset: { spanId: l.span_id || '', traceId: l.trace_id || '' },
        tabindex: known ? 0 : undefined,
        title: known ? 'Select this line\'s span' : undefined,
        onclick: pick,
        onkeydown: (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            pick();
          }
        },
      },
      h('td', { class: 'nowrap', title: l.timestamp || '' }, formatClock(l.timestamp)),
      h('td', { class: `level level-${level.toLowerCase()}` }, level || '–'),
      h('td', { class: 'nowrap' }, logSource(l)),
      h('td', { class: 'log-message' }, String(l.message ?? '')),
      h('td', { class: 'nowrap' }, l.order_id ? h('a', { href: orderHref(l.order_id), title: l.order_id }, String(l.order_id).slice(0, 8)) : ''),
      h('td', { class: 'nowrap' }, l.span_id ? h('code', { title: known ? this.current.spans.get(l.span_id).name : 'a span not in this trace' }, l.span_id) : ''));
    }));
    this.logsNote = h('span', { class: 'muted', role: 'status' });
    const logsCard = h('div', { class: 'card', id: 'trace-logs' },
      h('div', { class: 'card-title-row' }, h('h3', {}, `Log lines (${logs.length})`),
        h('label', { class: 'check' }, this.logsOnlySelected, ' Only the selected span\'s lines'), this.logsNote),
      logs.length
        ? h('div', { class: 'trace-log-scroll' }, h('table', { class: 'log-table trace-log-table' },
          h('thead', {}, h('tr', {}, ['Time', 'Level', 'Function', 'Message', 'Order', 'Span'].map((c) => h('th', { scope: 'col' }, c)))),
          this.logsBody))
        : h('p', { class: 'muted' }, 'No log line carries this trace\'s id (yet).'));

    clear(this.traceView).append(this.backLink(), header,
      h('div', { class: 'trace-grid' }, waterfallCard, h('div', { class: 'card span-detail-card' }, h('h3', {}, 'Span'), this.detail)),
      logsCard);
  }

  /** Selects `spanId` ('' for none) in the waterfall, the detail pane, the logs and the hash. */
  select(spanId, { fromUser = false, fromLogs = false } = {}) {
    if (!this.current) return;
    const sp = spanId ? this.current.spans.get(spanId) : null;
    this.selected = sp ? spanId : '';
    this.waterfall.setSelected(this.selected);
    if (sp) {
      const spans = this.current.spans;
      clear(this.detail).append(spanDetail(sp, {
        axis: this.waterfall.axis,
        spans,
        select: (id) => this.select(id, { fromUser: true }),
        traceHref: (traceId, id) => (spans.has(id) ? traceHash(this.current.id, id) : traceHash(traceId, id)),
        orderHref,
        logLines: (id) => [...this.logsBody.rows].filter((tr) => tr.dataset.spanId === id).length,
        showLogs: () => {
          this.logsOnlySelected.checked = true;
          this.markLogs();
          const first = [...this.logsBody.rows].find((tr) => !tr.hidden);
          document.getElementById('trace-logs').scrollIntoView({ block: 'start' });
          if (first) first.focus();
        },
      }));
    } else {
      clearDetail(this.detail);
    }
    this.markLogs();
    if (fromUser) {
      const next = traceHash(this.current.id, this.selected);
      if (location.hash !== next) history.replaceState(null, '', next);
      if (fromLogs) this.waterfall.focus(this.selected);
    }
  }

  markLogs() {
    if (!this.logsBody) return;
    const only = this.logsOnlySelected.checked && this.selected;
    let n = 0;
    for (const tr of this.logsBody.rows) {
      const on = !!this.selected && tr.dataset.spanId === this.selected;
      n += Number(on);
      tr.classList.toggle('selected', on);
      tr.hidden = !!only && !on;
    }
    this.logsNote.textContent = this.selected
      ? `${n} line${n === 1 ? '' : 's'} of the selected span ${n ? 'highlighted' : ''}`.trim()
      : '';
  }
}
