// The service map (X-Ray's trace map) of GET /api/service-map: a box per node, an arrow per
// edge labelled with its requests, error rate and p99, laid out left to right by the flow of an
// order: API Gateway, the functions it calls, the queues they send to, the functions consuming
// them; tables and other AWS services at the right end; a DLQ under its queue. An SVG drawing
// with a <title> on every box and arrow, and the same numbers as a table under it.

import { h, s, clear, formatNumber, formatDuration } from './util.js';

const BOX_W = 172;
const BOX_H = 52;
const COL_GAP = 116;
const ROW_GAP = 26;
const PAD = 14;
/** Depth of the first detour under the main lane, and between two detours. */
const CHANNEL = 34;
const CHANNEL_STEP = 30;
const LABEL_H = 28;

const KINDS = {
  api: { label: 'API Gateway', badge: 'API', order: 0 },
  function: { label: 'Lambda function', badge: 'λ', order: 1 },
  queue: { label: 'SQS queue', badge: 'SQS', order: 2 },
  dlq: { label: 'Dead-letter queue', badge: 'DLQ', order: 3 },
  table: { label: 'DynamoDB table', badge: 'DDB', order: 4 },
  aws: { label: 'AWS service', badge: 'AWS', order: 5 },
};
const kindOf = (n) => KINDS[n.kind] || { label: n.kind, badge: '?', order: 9 };

/** "orders (SQS queue)": a node's name with what it is (names repeat: a table and a queue). */
export function nodeLabel(n) {
  return `${n.name} (${kindOf(n).label})`;
}

function pct(rate) {
  const p = (Number(rate) || 0) * 100;
  return p === 0 ? '0%' : p < 1 ? `${+p.toFixed(1)}%` : `${Math.round(p)}%`;
}

/**
 * Column and row of every node. The main lane holds the flow (API, functions, queues), ranked
 * by the longest path from the API over the edges, back edges of a cycle left out; tables and
 * other AWS services take the column after the last; a DLQ sits under the queue feeding it.
 */
export function layout(nodes, edges) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const usable = edges.filter((e) => byId.has(e.source) && byId.has(e.target) && e.source !== e.target);
  const flow = (id) => ['api', 'function', 'queue'].includes(byId.get(id).kind);
  const flowEdges = usable.filter((e) => flow(e.source) && flow(e.target));
  const out = new Map();
  for (const e of flowEdges) out.set(e.source, [...(out.get(e.source) || []), e]);
  const incoming = new Set(flowEdges.map((e) => e.target));

  // Depth-first from the API, then from the nodes nothing calls: an edge back to a node on the
  // stack closes a cycle and does not rank.
  const back = new Set();
  const visiting = new Map();
  const visit = (id) => {
    visiting.set(id, 1);
    for (const e of out.get(id) || []) {
      const st = visiting.get(e.target);
      if (st === 1) back.add(e);
      else if (!st) visit(e.target);
    }
    visiting.set(id, 2);
  };
  const flowNodes = nodes.filter((n) => flow(n.id));
  const starts = [...flowNodes].sort((a, b) => (a.kind === 'api' ? 0 : incoming.has(a.id) ? 2 : 1)
    - (b.kind === 'api' ? 0 : incoming.has(b.id) ? 2 : 1));
  for (const n of starts) if (!visiting.get(n.id)) visit(n.id);

  const rank = new Map(flowNodes.map((n) => [n.id, n.kind === 'api' ? 0 : 1]));
  for (let pass = 0; pass <= flowNodes.length; pass++) {
    let changed = false;
    for (const e of flowEdges) {
      if (back.has(e)) continue;
      const r = rank.get(e.source) + 1;
      if (r > rank.get(e.target)) {
        rank.set(e.target, r);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const lastFlow = Math.max(-1, ...rank.values());
  const col = new Map(rank);
  const lower = new Set();
  for (const n of nodes) {
    if (n.kind === 'dlq') {
      const feeder = usable.find((e) => e.target === n.id && rank.has(e.source));
      col.set(n.id, feeder ? rank.get(feeder.source) : Math.max(0, lastFlow));
      lower.add(n.id);
    } else if (!col.has(n.id)) {
      col.set(n.id, lastFlow + 1);
    }
  }

  // Rows: in each column first the node its left neighbour calls and that calls its right one
  // (the spine, API → create → queue → processor, stays straight), then by kind, traffic, name.
  const traffic = new Map();
  const calledFromLeft = new Set();
  const feedsRight = new Set();
  for (const e of usable) {
    traffic.set(e.target, (traffic.get(e.target) || 0) + (e.requests || 0));
    if (col.get(e.source) === col.get(e.target) - 1 && !lower.has(e.source) && !lower.has(e.target)) {
      calledFromLeft.add(e.target);
      if (flow(e.target)) feedsRight.add(e.source);
    }
  }
  const rows = new Map();
  const groups = new Map();
  for (const n of nodes) {
    const key = `${lower.has(n.id) ? 'lower' : 'main'}:${col.get(n.id)}`;
    groups.set(key, [...(groups.get(key) || []), n]);
  }
  for (const list of groups.values()) {
    list.sort((a, b) => Number(calledFromLeft.has(b.id)) - Number(calledFromLeft.has(a.id))
      || Number(feedsRight.has(b.id)) - Number(feedsRight.has(a.id))
      || kindOf(a).order - kindOf(b).order
      || (traffic.get(b.id) || 0) - (traffic.get(a.id) || 0)
      || a.name.localeCompare(b.name));
    list.forEach((n, i) => rows.set(n.id, i));
  }
  return { col, rows, lower, edges: usable, columns: Math.max(0, ...col.values()) + 1 };
}

function bezierPoint(p0, p1, p2, p3, t) {
  const u = 1 - t;
  const f = (a, b, c, d) => u * u * u * a + 3 * u * u * t * b + 3 * u * t * t * c + t * t * t * d;
  return [f(p0[0], p1[0], p2[0], p3[0]), f(p0[1], p1[1], p2[1], p3[1])];
}

/** The drawing's geometry: boxes and each edge's path and label anchor. */
function geometry(nodes, lay) {
  const mainRows = Math.max(0, ...nodes.filter((n) => !lay.lower.has(n.id)).map((n) => lay.rows.get(n.id) + 1));
  const laneBottom = PAD + mainRows * (BOX_H + ROW_GAP) - ROW_GAP;
  const box = new Map();
  const x = (c) => PAD + c * (BOX_W + COL_GAP);
  for (const n of nodes) {
    if (!lay.lower.has(n.id)) box.set(n.id, { x: x(lay.col.get(n.id)), y: PAD + lay.rows.get(n.id) * (BOX_H + ROW_GAP) });
  }
  const kinds = lay.edges.map((e) => {
    const a = lay.col.get(e.source);
    const b = lay.col.get(e.target);
    if (a === b) return 'vertical';
    if (b === a + 1 && !lay.lower.has(e.source) && !lay.lower.has(e.target)) return 'adjacent';
    return 'detour';
  });
  // Detours (an edge that skips columns or goes back) run under the main lane, shorter ones
  // higher, each arriving at its own point of the target's bottom.
  const detours = lay.edges.map((e, i) => ({ e, i })).filter(({ i }) => kinds[i] === 'detour')
    .sort((p, q) => Math.abs(lay.col.get(p.e.target) - lay.col.get(p.e.source))
      - Math.abs(lay.col.get(q.e.target) - lay.col.get(q.e.source)));
  const depth = new Map(detours.map(({ i }, k) => [i, laneBottom + CHANNEL + k * CHANNEL_STEP]));
  const lowerY = laneBottom + (detours.length ? CHANNEL + detours.length * CHANNEL_STEP + 24 : ROW_GAP + 18);
  for (const n of nodes) {
    if (lay.lower.has(n.id)) box.set(n.id, { x: x(lay.col.get(n.id)), y: lowerY + lay.rows.get(n.id) * (BOX_H + ROW_GAP) });
  }
  const arrivals = new Map();
  for (const { e, i } of detours) arrivals.set(e.target, [...(arrivals.get(e.target) || []), i]);
  const pairs = new Set(lay.edges.map((e) => `${e.source}>${e.target}`));

  const paths = lay.edges.map((e, i) => {
    const sb = box.get(e.source);
    const tb = box.get(e.target);
    let p0, p1, p2, p3, anchor;
    if (kinds[i] === 'adjacent') {
      p0 = [sb.x + BOX_W, sb.y + BOX_H / 2];
      p3 = [tb.x - 2, tb.y + BOX_H / 2];
      const dx = (p3[0] - p0[0]) / 2;
      p1 = [p0[0] + dx, p0[1]];
      p2 = [p3[0] - dx, p3[1]];
      const mid = bezierPoint(p0, p1, p2, p3, 0.5);
      anchor = { x: mid[0], y: mid[1] - 32, align: 'middle' };
    } else if (kinds[i] === 'vertical') {
      // Both ways between a queue and its DLQ: side by side.
      const off = pairs.has(`${e.target}>${e.source}`) ? (sb.y < tb.y ? -12 : 12) : 0;
      const down = sb.y < tb.y;
      p0 = [sb.x + BOX_W / 2 + off, down ? sb.y + BOX_H : sb.y];
      p3 = [tb.x + BOX_W / 2 + off, down ? tb.y - 2 : tb.y + BOX_H + 2];
      p1 = [p0[0], (p0[1] + p3[1]) / 2];
      p2 = [p3[0], (p0[1] + p3[1]) / 2];
      anchor = { x: p0[0] + (off < 0 ? -8 : 8), y: (p0[1] + p3[1]) / 2 - 12, align: off < 0 ? 'end' : 'start' };
    } else {
      const list = arrivals.get(e.target);
      const k = list.indexOf(i);
      const spread = (k - (list.length - 1) / 2) * 20;
      const chan = depth.get(i);
      const fromLower = lay.lower.has(e.source);
      p0 = fromLower ? [sb.x + BOX_W / 2, sb.y] : [sb.x + BOX_W, sb.y + BOX_H / 2];
      p3 = [tb.x + BOX_W / 2 + spread, tb.y + BOX_H + 2];
      p1 = fromLower ? [p0[0], chan] : [p0[0] + COL_GAP * 0.6, chan];
      p2 = [p3[0], chan + (chan - laneBottom) * 0.3];
      const mid = bezierPoint(p0, p1, p2, p3, 0.55);
      anchor = { x: mid[0], y: mid[1] - 13, align: 'middle' };
    }
    const d = `M ${p0[0]} ${p0[1]} C ${p1[0]} ${p1[1]}, ${p2[0]} ${p2[1]}, ${p3[0]} ${p3[1]}`;
    return { d, anchor };
  });
  const width = PAD * 2 + lay.columns * BOX_W + Math.max(0, lay.columns - 1) * COL_GAP;
  const bottoms = [...box.values()].map((b) => b.y + BOX_H);
  const height = Math.max(laneBottom + (detours.length ? CHANNEL + detours.length * CHANNEL_STEP : 0), ...bottoms) + PAD;
  return { box, paths, width, height };
}

function edgeTitle(e, names) {
  return `${names(e.source)} → ${names(e.target)}: ${formatNumber(e.requests)} request${e.requests === 1 ? '' : 's'}, `
    + `${formatNumber(e.errors)} error${e.errors === 1 ? '' : 's'} (${pct(e.error_rate)}), `
    + `p50 ${formatDuration(e.p50_ms)}, p99 ${formatDuration(e.p99_ms)}, average ${formatDuration(e.avg_ms)}`;
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export class ServiceMap {
  /** `onFunction(name)`: a function's box was clicked (or Enter/Space on it). */
  constructor(holder, { onFunction }) {
    this.holder = holder;
    this.onFunction = onFunction;
    this.signature = null;
  }

  /** Draws `map` (skipped when nothing changed, so focus and the open table stay). */
  render(map, selectedFunction = '') {
    const sig = JSON.stringify([map, selectedFunction]);
    if (sig === this.signature) return;
    const focused = document.activeElement && this.holder.contains(document.activeElement)
      ? document.activeElement.dataset.nodeId : null;
    const tableOpen = this.holder.querySelector('details.map-table')?.open || false;
    this.signature = sig;
    const nodes = (map && Array.isArray(map.nodes)) ? map.nodes : [];
    const edges = (map && Array.isArray(map.edges)) ? map.edges : [];
    clear(this.holder);
    this.holder.dataset.nodes = String(nodes.length);
    if (!nodes.length) {
      this.holder.append(h('div', { class: 'empty-state map-empty' },
        'No spans in this time range yet: create an order (', h('code', {}, 'POST /orders'), ') and its path shows here.'));
      return;
    }
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const names = (id) => (byId.has(id) ? nodeLabel(byId.get(id)) : id);
    const lay = layout(nodes, edges);
    const geo = geometry(nodes, lay);
    const into = new Map();
    for (const e of lay.edges) {
      const t = into.get(e.target) || { requests: 0, errors: 0 };
      t.requests += e.requests || 0;
      t.errors += e.errors || 0;
      into.set(e.target, t);
    }

    const svg = s('svg', {
      class: 'service-map', width: geo.width, height: geo.height, viewBox: `0 0 ${geo.width} ${geo.height}`,
      role: 'group', 'aria-label': `Service map: ${nodes.length} nodes, ${lay.edges.length} connections`,
    },
    s('title', {}, `Service map of the last ${map.minutes ?? '?'} minutes`),
    s('defs', {},
      ['ok', 'error'].map((k) => s('marker', {
        id: `map-arrow-${k}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse',
      }, s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: `arrow-head ${k}` })))));

    const edgeLayer = s('g', { class: 'map-edges' });
    const labelLayer = s('g', { class: 'map-labels' });
    const placed = [];
    lay.edges.forEach((e, i) => {
      const bad = (e.errors || 0) > 0;
      const { d, anchor } = geo.paths[i];
      const title = edgeTitle(e, names);
      edgeLayer.append(s('g', { class: `map-edge${bad ? ' error' : ''}`, dataset: { source: e.source, target: e.target, errors: String(e.errors || 0) } },
        s('title', {}, title),
        s('path', { d, 'marker-end': `url(#map-arrow-${bad ? 'error' : 'ok'})` })));
      const line1 = `${formatNumber(e.requests)} req · ${pct(e.error_rate)} err`;
      const line2 = `p99 ${formatDuration(e.p99_ms)}`;
      const w = Math.max(line1.length, line2.length) * 6.1 + 10;
      const left = anchor.align === 'middle' ? anchor.x - w / 2 : anchor.align === 'end' ? anchor.x - w : anchor.x;
      // Two labels never overlap: a later one moves down past the earlier.
      let top = anchor.y - 2;
      for (let moved = true, n = 0; moved && n < 20; n++) {
        moved = false;
        for (const r of placed) {
          if (left < r.x + r.w && r.x < left + w && top < r.y + LABEL_H && r.y < top + LABEL_H) {
            top = r.y + LABEL_H + 3;
            moved = true;
          }
        }
      }
      placed.push({ x: left, y: top, w });
      labelLayer.append(s('g', { class: `map-label${bad ? ' error' : ''}` },
        s('title', {}, title),
        s('rect', { x: left, y: top, width: w, height: LABEL_H, rx: 3 }),
        s('text', { x: left + w / 2, y: top + 12, 'text-anchor': 'middle' }, line1),
        s('text', { x: left + w / 2, y: top + 24, 'text-anchor': 'middle' }, line2)));
    });

    const nodeLayer = s('g', { class: 'map-nodes' });
    for (const n of nodes) {
      const b = geo.box.get(n.id);
      const k = kindOf(n);
      const t = into.get(n.id);
      const bad = t && t.errors > 0;
      const clickable = n.kind === 'function';
      const selected = clickable && n.name === selectedFunction;
      const stats = t ? `: ${formatNumber(t.requests)} request${t.requests === 1 ? '' : 's'} in, ${formatNumber(t.errors)} failed` : '';
      const label = `${nodeLabel(n)}${stats}${clickable ? (selected ? '. Selected: the list shows its traces; activate to show all' : '. Activate to list its traces') : ''}`;
      const g = s('g', {
        class: `map-node kind-${n.kind}${bad ? ' has-errors' : ''}${selected ? ' selected' : ''}${clickable ? ' clickable' : ''}`,
        transform: `translate(${b.x} ${b.y})`,
        dataset: { nodeId: n.id, kind: n.kind, name: n.name },
        tabindex: clickable ? 0 : undefined,
        role: clickable ? 'button' : 'img',
        'aria-label': label,
        'aria-pressed': clickable ? String(selected) : undefined,
      },
      s('title', {}, label),
      s('rect', { class: 'box', width: BOX_W, height: BOX_H, rx: 6 }),
      s('rect', { class: 'badge-bg', x: 8, y: 12, width: 30, height: 28, rx: 4 }),
      s('text', { class: 'badge-text', x: 23, y: 30, 'text-anchor': 'middle' }, k.badge),
      s('text', { class: 'kind-text', x: 46, y: 21 }, k.label),
      s('text', { class: 'name-text', x: 46, y: 38 }, truncate(n.name, 19)),
      bad ? s('circle', { class: 'error-dot', cx: BOX_W - 10, cy: 10, r: 5 }) : null);
      if (clickable) {
        g.addEventListener('click', () => this.onFunction(n.name));
        g.addEventListener('keydown', (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            this.onFunction(n.name);
          }
        });
      }
      nodeLayer.append(g);
    }
    svg.append(edgeLayer, nodeLayer, labelLayer);

    const table = h('details', { class: 'map-table', open: tableOpen },
      h('summary', {}, `Connections as a table (${lay.edges.length})`),
      h('table', { class: 'data-table' },
        h('thead', {}, h('tr', {}, ['From', 'To', 'Requests', 'Errors', 'Error rate', 'p50', 'p99', 'Average']
          .map((c, i) => h('th', { class: i >= 2 ? 'num' : '' }, c)))),
        h('tbody', {}, lay.edges.map((e) => h('tr', { class: e.errors ? 'has-errors' : '' },
          h('td', {}, names(e.source)), h('td', {}, names(e.target)),
          h('td', { class: 'num' }, formatNumber(e.requests)),
          h('td', { class: `num${e.errors ? ' bad' : ''}` }, formatNumber(e.errors)),
          h('td', { class: `num${e.errors ? ' bad' : ''}` }, pct(e.error_rate)),
          h('td', { class: 'num' }, formatDuration(e.p50_ms)),
          h('td', { class: 'num' }, formatDuration(e.p99_ms)),
          h('td', { class: 'num' }, formatDuration(e.avg_ms)))))));
    this.holder.append(h('div', { class: 'map-scroll' }, svg), table);
    if (focused) this.holder.querySelector(`[data-node-id="${CSS.escape(focused)}"]`)?.focus();
  }
}
