// One trace's spans as X-Ray's timeline shows them: a bar per span on the trace's time axis,
// children indented under their parent (a span whose parent is not in the trace starts a root
// of its own), coloured by kind, failed ones red; and the selected span's attributes, events
// (an injected fault stands out) and links.

import { h, clear, formatDuration, formatClock } from './util.js';

export const KIND_LABELS = {
  server: 'Server', client: 'Client', producer: 'Producer', consumer: 'Consumer', internal: 'Internal',
};

const key = (traceId, spanId) => `${traceId}/${spanId}`;
const byStart = (a, b) => a.start_ns - b.start_ns || b.end_ns - a.end_ns;

/** The spans in waterfall order: [{span, depth}], each parent followed by its children. */
export function spanRows(spans) {
  const known = new Set(spans.map((sp) => key(sp.trace_id, sp.span_id)));
  const children = new Map();
  const roots = [];
  for (const sp of spans) {
    const parent = sp.parent_span_id ? key(sp.trace_id, sp.parent_span_id) : '';
    if (parent && parent !== key(sp.trace_id, sp.span_id) && known.has(parent)) {
      children.set(parent, [...(children.get(parent) || []), sp]);
    } else {
      roots.push(sp);
    }
  }
  const rows = [];
  const seen = new Set();
  const walk = (sp, depth) => {
    const k = key(sp.trace_id, sp.span_id);
    if (seen.has(k)) return;
    seen.add(k);
    rows.push({ span: sp, depth });
    for (const c of (children.get(k) || []).sort(byStart)) walk(c, depth + 1);
  };
  for (const r of roots.sort(byStart)) walk(r, 0);
  // Spans whose parents form a cycle are reached from no root: list them at the root level.
  for (const sp of [...spans].sort(byStart)) walk(sp, 0);
  return rows;
}

/** The time axis of `spans`: its start and length (ns), never 0 long. */
export function timeAxis(spans) {
  const t0 = Math.min(...spans.map((sp) => sp.start_ns));
  const t1 = Math.max(...spans.map((sp) => sp.end_ns));
  return { t0, total: Math.max(1, t1 - t0) };
}

const isError = (sp) => sp.status === 'ERROR';
const offsetMs = (ns, axis) => (ns - axis.t0) / 1e6;

function spanSummary(sp, axis) {
  const parts = [`${sp.name} (${KIND_LABELS[sp.kind] || sp.kind})`,
    `starts at +${formatDuration(offsetMs(sp.start_ns, axis))}`, `lasts ${formatDuration(sp.duration_ms)}`];
  if (isError(sp)) parts.push(`failed${sp.status_message ? `: ${sp.status_message}` : ''}`);
  const faults = (sp.events || []).filter((e) => e.name === 'chaos.fault').length;
  if (faults) parts.push(`${faults} injected fault${faults === 1 ? '' : 's'}`);
  return parts.join(', ');
}

function statusChip(sp) {
  const st = sp.status || 'UNSET';
  return h('span', { class: `chip span-status ${st === 'ERROR' ? 'state-alarm' : st === 'OK' ? 'state-ok' : ''}` },
    h('span', { class: 'dot' }), st === 'ERROR' ? 'Error' : st === 'OK' ? 'OK' : 'Unset');
}

export function kindChip(kind) {
  return h('span', { class: `kind-chip kind-${kind}` }, KIND_LABELS[kind] || kind);
}

export class Waterfall {
  /** `onSelect(spanId)`: a span's row was clicked (or Enter/Space on it). */
  constructor({ onSelect }) {
    this.onSelect = onSelect;
    this.table = null;
  }

  /** The waterfall of `spans` as a table (one row per span). */
  render(spans) {
    const axis = timeAxis(spans);
    this.axis = axis;
    const rows = spanRows(spans);
    const pctOf = (ns) => ((ns - axis.t0) / axis.total) * 100;
    const ticks = [0, 0.25, 0.5, 0.75, 1];
    const nav = (ev) => {
      const buttons = [...this.table.querySelectorAll('.wf-select')];
      const i = buttons.indexOf(ev.currentTarget);
      const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: buttons.length - 1 }[ev.key];
      if (to === undefined || !buttons[to]) return;
      ev.preventDefault();
      buttons[to].focus();
    };
    this.table = h('table', { class: 'waterfall', id: 'waterfall' },
      h('caption', { class: 'muted' },
        `${rows.length} span${rows.length === 1 ? '' : 's'} over ${formatDuration(axis.total / 1e6)}, `
        + 'from the trace\'s first span. Select a span for its attributes, events and links; ↑ ↓ move between spans.'),
      h('colgroup', {}, h('col', { class: 'wf-col-name' }), h('col', {}), h('col', { class: 'wf-col-dur' })),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Span'),
        h('th', { scope: 'col', class: 'wf-axis-head' },
          h('div', { class: 'wf-axis', 'aria-hidden': 'true' }, ticks.map((f) => h('span', {
            class: `wf-tick${f === 1 ? ' last' : f === 0 ? ' first' : ''}`, style: `left: ${f * 100}%`,
          }, formatDuration((axis.total / 1e6) * f)))),
          h('span', { class: 'visually-hidden' }, 'Timeline')),
        h('th', { scope: 'col', class: 'num' }, 'Duration'))),
      h('tbody', {}, rows.map(({ span: sp, depth }) => {
        const left = pctOf(sp.start_ns);
        const width = Math.max(0, pctOf(sp.end_ns) - left);
        const summary = spanSummary(sp, axis);
        const events = (sp.events || []).map((e) => {
          const fault = e.name === 'chaos.fault';
          const what = fault ? `injected fault ${e.attributes?.['chaos.fault'] ?? ''}: ${e.attributes?.['chaos.detail'] ?? ''}` : e.name;
          return h('span', {
            class: `wf-event${fault ? ' fault' : ''}`,
            style: `left: ${Math.min(100, Math.max(0, pctOf(e.time_ns)))}%`,
            title: `${what} at +${formatDuration(offsetMs(e.time_ns, axis))}`,
          });
        });
        return h('tr', {
          class: `wf-row kind-${sp.kind}${isError(sp) ? ' error' : ''}`,
          dataset: { spanId: sp.span_id, kind: sp.kind, status: sp.status || 'UNSET', name: sp.name, depth: String(depth) },
          onclick: () => this.onSelect(sp.span_id),
        },
        h('td', { class: 'wf-name' },
          h('button', {
            type: 'button', class: 'wf-select', title: summary, 'aria-pressed': 'false', 'aria-label': summary,
            style: `padding-left: ${6 + Math.min(depth, 14) * 16}px`, onkeydown: nav,
          },
          h('span', { class: `kind-dot kind-${sp.kind}`, 'aria-hidden': 'true' }),
          h('span', { class: 'wf-label' }, sp.name),
          isError(sp) ? h('span', { class: 'badge danger' }, 'Error') : null,
          events.some((e) => e.classList.contains('fault')) ? h('span', { class: 'badge fault' }, 'Fault') : null)),
        h('td', { class: 'wf-time' },
          h('div', { class: 'wf-track', title: summary },
            h('div', { class: 'wf-bar', style: `left: ${left}%; width: ${width}%` }),
            events)),
        h('td', { class: 'num wf-dur' }, formatDuration(sp.duration_ms)));
      })));
    return this.table;
  }

  /** Marks `spanId`'s row selected (none: ''); returns whether the trace has that span. */
  setSelected(spanId) {
    let found = false;
    for (const tr of this.table ? this.table.querySelectorAll('tr.wf-row') : []) {
      const on = tr.dataset.spanId === spanId;
      found ||= on;
      tr.classList.toggle('selected', on);
      tr.querySelector('.wf-select').setAttribute('aria-pressed', String(on));
    }
    return found;
  }

  focus(spanId) {
    const row = this.table && [...this.table.querySelectorAll('tr.wf-row')].find((tr) => tr.dataset.spanId === spanId);
    if (row) {
      row.querySelector('.wf-select').focus({ preventScroll: true });
      row.scrollIntoView({ block: 'nearest' });
    }
  }
}

function valueText(v) {
  return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function attributesTable(attrs, cls) {
  const keys = Object.keys(attrs || {}).sort();
  if (!keys.length) return h('p', { class: 'muted' }, 'None.');
  return h('table', { class: `kv-table ${cls || ''}` },
    h('tbody', {}, keys.map((k) => h('tr', { dataset: { attr: k } }, h('th', { scope: 'row' }, k), h('td', {}, valueText(attrs[k]))))));
}

/**
 * The selected span's details. `ctx`: {axis, spans (by id), select(spanId), traceHref(traceId,
 * spanId), orderHref(orderId), logLines(spanId) (how many), showLogs() (only the span's, in view)}.
 */
export function spanDetail(sp, ctx) {
  const parent = sp.parent_span_id ? ctx.spans.get(sp.parent_span_id) : null;
  const events = sp.events || [];
  const links = sp.links || [];
  const orderId = sp.attributes && sp.attributes.order_id;
  const fn = sp.attributes && sp.attributes['faas.name'];
  const parentCell = !sp.parent_span_id ? h('span', { class: 'muted' }, 'none (a root span)')
    : parent ? h('button', { type: 'button', class: 'link-button', onclick: () => ctx.select(parent.span_id) }, parent.name, ' ', h('code', {}, sp.parent_span_id))
      : h('span', {}, h('code', {}, sp.parent_span_id), h('span', { class: 'muted' }, ' (not in this trace)'));
  const kv = [
    ['Span id', h('code', {}, sp.span_id)],
    ['Trace id', h('code', {}, sp.trace_id)],
    ['Parent', parentCell],
    ['Kind', kindChip(sp.kind)],
    ['Status', h('span', {}, statusChip(sp), sp.status_message ? h('span', { class: 'status-message' }, ` ${sp.status_message}`) : null)],
    ['Start', `+${formatDuration(offsetMs(sp.start_ns, ctx.axis))} (${formatClock(sp.start_ns / 1e6)})`],
    ['Duration', formatDuration(sp.duration_ms)],
    fn ? ['Function', h('code', {}, fn)] : null,
    orderId ? ['Order', h('span', {}, h('code', {}, orderId), ' ', h('a', { href: ctx.orderHref(orderId) }, 'all its traces'))] : null,
  ].filter(Boolean);
  const lines = ctx.logLines(sp.span_id);
  kv.push(['Log lines', lines
    ? h('button', { type: 'button', class: 'link-button', id: 'span-show-logs', onclick: () => ctx.showLogs() },
      `${lines} line${lines === 1 ? '' : 's'} of this span`)
    : h('span', { class: 'muted' }, 'none')]);

  return h('div', { class: `span-detail-body${isError(sp) ? ' error' : ''}`, dataset: { spanId: sp.span_id } },
    h('h3', {}, h('span', { class: `kind-dot kind-${sp.kind}`, 'aria-hidden': 'true' }), ' ', sp.name),
    h('dl', { class: 'kv' }, kv.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('h4', {}, `Events (${events.length})`),
    events.length
      ? h('ul', { class: 'span-events' }, events.map((e) => {
        const fault = e.name === 'chaos.fault';
        const a = e.attributes || {};
        return h('li', { class: `span-event${fault ? ' fault' : ''}`, dataset: { event: e.name } },
          h('div', { class: 'event-head' },
            fault ? h('span', { class: 'badge danger' }, 'Injected fault') : null,
            h('b', {}, fault ? valueText(a['chaos.fault']) : e.name),
            h('span', { class: 'muted' }, ` at +${formatDuration(offsetMs(e.time_ns, ctx.axis))}`)),
          fault && a['chaos.detail'] ? h('div', { class: 'event-detail' }, valueText(a['chaos.detail'])) : null,
          attributesTable(a, 'event-attrs'));
      }))
      : h('p', { class: 'muted' }, 'None.'),
    h('h4', {}, `Links (${links.length})`),
    links.length
      ? h('ul', { class: 'span-links' }, links.map((l) => {
        const same = l.trace_id === sp.trace_id && ctx.spans.has(l.span_id);
        return h('li', {},
          h('a', { href: ctx.traceHref(l.trace_id, l.span_id) },
            same ? ctx.spans.get(l.span_id).name : `trace ${l.trace_id}`),
          ' ', h('code', { class: 'muted' }, l.span_id), same ? h('span', { class: 'muted' }, ' (this trace)') : null);
      }))
      : h('p', { class: 'muted' }, 'None.'),
    h('h4', {}, `Attributes (${Object.keys(sp.attributes || {}).length})`),
    attributesTable(sp.attributes, 'span-attrs'));
}

export function clearDetail(el) {
  clear(el).append(h('p', { class: 'muted', id: 'span-detail-empty' },
    'Select a span in the waterfall to see its attributes, events and links; its log lines are highlighted below.'));
}
