// Renders a CloudWatch dashboard body: the 24-column grid and its widgets (metric: timeSeries,
// singleValue, gauge; text; alarm; log table). Charts are uPlot (window.uPlot), Markdown is
// marked (window.marked); both are vendored classic scripts loaded by index.html.
//
// Every widget element carries data-widget="<dashboard>:<index>", data-type, data-view and
// data-status = loading | ok | empty | error; an error also shows a .widget-error element.

import { api, alarmsShared } from './api.js';
import { h, clear, formatNumber, formatTick, formatTime, stateClass, stateLabel, message } from './util.js';

export const ROW_HEIGHT = 36; // px per grid row, as CloudWatch's ~ 30-40
export const GAP = 8;

// CloudWatch's default line colours, in its order.
export const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];

const ANNOTATION_COLOR = '#d13212';
const hhmm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });

// At most this many metric/log queries in flight per dashboard: the browser would queue the
// rest anyway, and the stack's console server stays responsive for the other panels.
const MAX_IN_FLIGHT = 6;

class Limiter {
  constructor(n) {
    this.n = n;
    this.active = 0;
    this.queue = [];
  }
  run(fn) {
    return new Promise((resolve, reject) => {
      const go = () => {
        this.active++;
        Promise.resolve()
          .then(fn)
          .then(resolve, reject)
          .finally(() => {
            this.active--;
            const next = this.queue.shift();
            if (next) next();
          });
      };
      if (this.active < this.n) go();
      else this.queue.push(go);
    });
  }
}

/** The name an alarm ARN points at: what follows `:alarm:`. */
export function alarmName(arn) {
  const i = String(arn).indexOf(':alarm:');
  return i >= 0 ? String(arn).slice(i + ':alarm:'.length) : String(arn);
}

function rowOptions(row) {
  const last = Array.isArray(row) ? row[row.length - 1] : null;
  return last && typeof last === 'object' && !Array.isArray(last) ? last : {};
}

/** The rows the API returns series for (visible ones), to find their colours. */
function visibleRows(metrics) {
  return (metrics || []).filter((row) => rowOptions(row).visible !== false);
}

function hasValue(s) {
  return (s.values || []).some((v) => v !== null && v !== undefined && !Number.isNaN(v));
}

function latest(s) {
  const vals = s.values || [];
  for (let i = vals.length - 1; i >= 0; i--) {
    const v = vals[i];
    if (v !== null && v !== undefined && !Number.isNaN(v)) return { value: v, at: (s.timestamps || [])[i] };
  }
  return null;
}

export class Dashboard {
  /**
   * @param {string} name  dashboard name (operations, business, ...)
   * @param {object} body  the CloudWatch dashboard body
   * @param {HTMLElement} container  where the grid goes
   * @param {() => {start:number,end:number}} timeRange
   */
  constructor(name, body, container, timeRange) {
    this.name = name;
    this.body = body || { widgets: [] };
    this.container = container;
    this.timeRange = timeRange;
    this.widgets = [];
    this.limiter = new Limiter(MAX_IN_FLIGHT);
  }

  render() {
    clear(this.container);
    const grid = h('div', { class: 'dash-grid', dataset: { dashboard: this.name } });
    grid.style.setProperty('--row-h', `${ROW_HEIGHT}px`);
    grid.style.setProperty('--gap', `${GAP}px`);
    (this.body.widgets || []).forEach((w, i) => {
      const widget = makeWidget(this, w, i);
      grid.append(widget.el);
      this.widgets.push(widget);
    });
    this.container.append(grid);
  }

  /** Fetches every widget's data again; resolves when all have settled. */
  refresh() {
    const range = this.timeRange();
    return Promise.all(this.widgets.map((w) => w.load(range)));
  }

  destroy() {
    for (const w of this.widgets) w.destroy();
    this.widgets = [];
    clear(this.container);
  }
}

function makeWidget(dash, w, index) {
  const type = w.type || 'metric';
  const p = w.properties || {};
  switch (type) {
    case 'metric':
      return new MetricWidget(dash, w, index);
    case 'text':
      return new TextWidget(dash, w, index);
    case 'alarm':
      return new AlarmWidget(dash, w, index);
    case 'log':
      return new LogWidget(dash, w, index);
    default:
      return new UnsupportedWidget(dash, w, index, `widget type "${type}"${p.view ? ` (${p.view})` : ''} is not supported`);
  }
}

class Widget {
  constructor(dash, w, index, view) {
    this.dash = dash;
    this.def = w;
    this.p = w.properties || {};
    this.index = index;
    this.generation = 0;
    const x = Number(w.x) || 0;
    const width = Number(w.width) || 6;
    const height = Number(w.height) || 6;
    this.el = h('div', {
      class: `widget widget-${w.type || 'metric'}`,
      dataset: {
        widget: `${dash.name}:${index}`,
        type: w.type || 'metric',
        view: view,
        status: 'loading',
      },
    });
    this.el.style.gridColumn = `${x + 1} / span ${width}`;
    if (w.y !== undefined && w.y !== null) this.el.style.gridRow = `${Number(w.y) + 1} / span ${height}`;
    else this.el.style.gridRow = `span ${height}`;
    if (this.p.title) {
      this.el.append(h('div', { class: 'widget-title', title: this.p.title }, this.p.title));
    }
    this.bodyEl = h('div', { class: 'widget-body' });
    this.el.append(this.bodyEl);
  }

  get status() {
    return this.el.dataset.status;
  }

  setStatus(status) {
    this.el.dataset.status = status;
  }

  /** Replaces the body with a red placeholder holding the message. */
  showError(msg) {
    this.destroyContent();
    clear(this.bodyEl);
    this.bodyEl.append(h('div', { class: 'widget-error', role: 'alert' },
      h('strong', {}, 'Cannot show this widget'), h('span', {}, msg)));
    this.setStatus('error');
  }

  showEmpty(text = 'No data') {
    this.destroyContent();
    clear(this.bodyEl);
    this.bodyEl.append(h('div', { class: 'widget-empty' }, text));
    this.setStatus('empty');
  }

  /** Runs one fetch, drops its answer if a newer one started meanwhile, never leaves `loading`. */
  async guarded(range, fetcher, renderer) {
    const gen = ++this.generation;
    let data;
    try {
      data = await this.dash.limiter.run(fetcher);
    } catch (e) {
      if (gen === this.generation) this.showError(message(e));
      return;
    }
    if (gen !== this.generation) return;
    try {
      renderer(data, range);
    } catch (e) {
      console.warn(`widget ${this.el.dataset.widget}:`, e);
      this.showError(`cannot draw: ${message(e)}`);
    }
  }

  load() {
    return Promise.resolve();
  }

  destroyContent() {}

  destroy() {
    this.generation++;
    this.destroyContent();
  }
}

class UnsupportedWidget extends Widget {
  constructor(dash, w, index, msg) {
    super(dash, w, index, (w.properties && w.properties.view) || w.type || 'unknown');
    this.showError(msg);
  }
}

// ---------------------------------------------------------------------------------------------
// text

class TextWidget extends Widget {
  constructor(dash, w, index) {
    super(dash, w, index, 'text');
    if (this.p.background === 'transparent') this.el.classList.add('transparent');
    try {
      const html = window.marked.parse(String(this.p.markdown || ''), { async: false });
      const md = h('div', { class: 'markdown' });
      md.innerHTML = html; // the dashboard body is this repo's own, trusted text
      for (const a of md.querySelectorAll('a[href]')) {
        a.target = '_blank';
        a.rel = 'noopener';
      }
      this.bodyEl.append(md);
      this.setStatus('ok');
    } catch (e) {
      this.showError(`cannot render Markdown: ${message(e)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// alarm status

const STATE_ORDER = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };

class AlarmWidget extends Widget {
  constructor(dash, w, index) {
    super(dash, w, index, 'alarm');
    this.names = (this.p.alarms || []).map(alarmName);
  }

  load(range) {
    return this.guarded(range, () => alarmsShared(), (view) => this.render(view));
  }

  render(view) {
    const known = (view && view.alarms) || {};
    let items = this.names.map((name, i) => ({ name, i, status: known[name] }));
    const sortBy = this.p.sortBy;
    if (sortBy === 'stateUpdatedTimestamp') {
      const t = (x) => (x.status && x.status.state_updated ? Date.parse(x.status.state_updated) : 0);
      items.sort((a, b) => t(b) - t(a) || a.i - b.i);
    } else if (sortBy === 'default' || sortBy === 'state') {
      const o = (x) => STATE_ORDER[x.status ? x.status.state : 'INSUFFICIENT_DATA'] ?? 1;
      items.sort((a, b) => o(a) - o(b) || a.i - b.i);
    }
    clear(this.bodyEl);
    const list = h('ul', { class: 'alarm-tiles' });
    for (const it of items) {
      const state = it.status ? it.status.state : 'INSUFFICIENT_DATA';
      const reason = it.status ? it.status.reason : 'This alarm is not defined on the local stack.';
      list.append(h('li', {
        class: `alarm-tile ${stateClass(state)}`,
        dataset: { alarm: it.name, state },
        title: `${it.name}: ${stateLabel(state)}\n${reason || ''}`,
      },
      h('span', { class: 'alarm-icon', 'aria-hidden': 'true' }, state === 'ALARM' ? '!' : state === 'OK' ? '✓' : '–'),
      h('span', { class: 'alarm-name' }, it.name),
      h('span', { class: 'alarm-state' }, stateLabel(state))));
    }
    this.bodyEl.append(list);
    this.setStatus(this.names.length ? 'ok' : 'empty');
  }
}

// ---------------------------------------------------------------------------------------------
// log table (Logs Insights)

class LogWidget extends Widget {
  constructor(dash, w, index) {
    super(dash, w, index, logView(w));
  }

  load(range) {
    const query = String(this.p.query || '');
    return this.guarded(range, () => api.logs(query, range.start, range.end), (r) => this.render(r));
  }

  render(r) {
    const errors = (r && r.errors) || [];
    if (errors.length) {
      this.showError(errors.join('; '));
      return;
    }
    const rows = (r && r.rows) || [];
    let columns = (r && r.columns) || [];
    if (!columns.length && rows.length) columns = Object.keys(rows[0]);
    if (!rows.length) {
      this.showEmpty('No log events match the query in this time range');
      return;
    }
    clear(this.bodyEl);
    const table = h('table', { class: 'log-table' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))),
      h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => {
        const v = row[c];
        const text = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
        return h('td', { title: text, class: c === 'level' ? `level level-${text.toLowerCase()}` : null }, text);
      })))));
    this.bodyEl.append(h('div', { class: 'log-scroll' }, table),
      h('div', { class: 'log-count' }, `${rows.length} row${rows.length === 1 ? '' : 's'}`));
    this.setStatus('ok');
  }
}

function logView(w) {
  return (w.properties && w.properties.view) || 'table';
}

// ---------------------------------------------------------------------------------------------
// metric: timeSeries, singleValue, gauge

class MetricWidget extends Widget {
  constructor(dash, w, index) {
    const view = (w.properties && w.properties.view) || 'timeSeries';
    super(dash, w, index, view);
    this.view = view;
    this.charts = [];
    this.resizeObserver = null;
  }

  query(range) {
    const p = this.p;
    return {
      metrics: p.metrics || [],
      stat: p.stat || 'Average',
      period: Number(p.period) || 300,
      start: range.start,
      end: range.end,
      setPeriodToTimeRange: Boolean(p.setPeriodToTimeRange),
    };
  }

  load(range) {
    const q = this.query(range);
    return this.guarded(range, () => api.metricData(q), (r) => this.render(r, range));
  }

  colors(series) {
    const rows = visibleRows(this.p.metrics);
    return series.map((s, i) => {
      const opt = rows.length === series.length ? rowOptions(rows[i]) : {};
      return opt.color || PALETTE[i % PALETTE.length];
    });
  }

  render(r, range) {
    const errors = (r && r.errors) || [];
    if (errors.length) {
      this.showError(errors.join('; '));
      return;
    }
    const series = ((r && r.series) || []).map((s) => ({
      ...s,
      timestamps: s.timestamps || [],
      values: (s.values || []).map((v) => (v === null || v === undefined ? null : Number(v))),
    }));
    if (!series.some(hasValue)) {
      this.showEmpty();
      return;
    }
    this.destroyContent();
    clear(this.bodyEl);
    if (this.view === 'singleValue') this.renderSingle(series);
    else if (this.view === 'gauge') this.renderGauge(series);
    else if (this.view === 'timeSeries' || this.view === 'bar') this.renderTimeSeries(series, range);
    else {
      this.showError(`metric view "${this.view}" is not supported`);
      return;
    }
    this.setStatus('ok');
  }

  destroyContent() {
    for (const c of this.charts) c.destroy();
    this.charts = [];
    if (this.resizeObserver) this.resizeObserver.disconnect();
    this.resizeObserver = null;
  }

  // --- singleValue ---------------------------------------------------------------------------

  renderSingle(series) {
    const colors = this.colors(series);
    const wrap = h('div', { class: `single-values n${Math.min(series.length, 4)}` });
    this.bodyEl.append(wrap);
    const sparks = [];
    const whole = Boolean(this.p.setPeriodToTimeRange);
    series.forEach((s, i) => {
      // "Over the time range": the server computes the statistic over the whole range as one
      // period (exact for averages and percentiles too), as CloudWatch does.
      const last = whole
        ? (s.wholeRange === null || s.wholeRange === undefined ? null : { value: Number(s.wholeRange), over: statOf(this.p, i) })
        : latest(s);
      const tip = !last ? 'no data' : last.over ? `${last.over} over the time range` : `at ${formatTime(last.at)}`;
      const item = h('div', { class: 'single-value', dataset: { series: s.id || `m${i}` } },
        h('div', { class: 'sv-label', title: s.label || '' }, s.label || ''),
        h('div', { class: 'sv-number', title: tip }, last ? formatNumber(last.value) : '–'));
      wrap.append(item);
      if (this.p.sparkline && hasValue(s)) {
        const box = h('div', { class: 'sv-spark' });
        item.append(box);
        sparks.push({ box, s, color: colors[i] });
      }
    });
    if (!sparks.length) return;
    const draw = () => {
      this.destroyCharts();
      for (const { box, s, color } of sparks) {
        const width = Math.max(40, box.clientWidth);
        const height = Math.max(16, box.clientHeight);
        const xs = s.timestamps.map((t) => t / 1000);
        const few = s.values.filter((v) => v !== null).length <= 2;
        const chart = new window.uPlot({
          width, height,
          class: 'sparkline',
          pxAlign: false,
          padding: [2, 0, 2, 0],
          cursor: { show: false },
          legend: { show: false },
          select: { show: false },
          scales: { x: { time: false }, y: { range: (u, lo, hi) => sparkRange(lo, hi) } },
          axes: [{ show: false }, { show: false }],
          series: [{}, { stroke: color, width: 1.5, fill: `${color}22`, spanGaps: true, points: { show: few, size: 5, fill: color } }],
        }, [xs, s.values], box);
        this.charts.push(chart);
      }
    };
    draw();
    this.observe(draw);
  }

  destroyCharts() {
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  observe(redraw) {
    let w = this.bodyEl.clientWidth;
    let hgt = this.bodyEl.clientHeight;
    this.resizeObserver = new ResizeObserver(() => {
      if (this.bodyEl.clientWidth === w && this.bodyEl.clientHeight === hgt) return;
      w = this.bodyEl.clientWidth;
      hgt = this.bodyEl.clientHeight;
      if (w > 0 && hgt > 0) redraw();
    });
    this.resizeObserver.observe(this.bodyEl);
  }

  // --- gauge ---------------------------------------------------------------------------------

  renderGauge(series) {
    const left = (this.p.yAxis && this.p.yAxis.left) || {};
    const min = Number.isFinite(left.min) ? left.min : 0;
    const max = Number.isFinite(left.max) ? left.max : 100;
    const colors = this.colors(series);
    const wrap = h('div', { class: 'gauges' });
    series.forEach((s, i) => {
      const last = latest(s);
      wrap.append(gaugeSvg(last ? last.value : null, min, max, colors[i], s.label || '', this.p.annotations));
    });
    this.bodyEl.append(wrap);
  }

  // --- timeSeries ----------------------------------------------------------------------------

  renderTimeSeries(series, range) {
    const p = this.p;
    const stacked = !!p.stacked;
    const colors = this.colors(series);
    const left = (p.yAxis && p.yAxis.left) || {};
    const annotations = ((p.annotations && p.annotations.horizontal) || [])
      .filter((a) => a && Number.isFinite(Number(a.value)))
      .map((a) => ({ ...a, value: Number(a.value) }));

    // One x axis for all series: the union of their (aligned) period starts, in seconds.
    const xsSet = new Set();
    for (const s of series) for (const t of s.timestamps) xsSet.add(t);
    const xsMs = [...xsSet].sort((a, b) => a - b);
    const pos = new Map(xsMs.map((t, i) => [t, i]));
    const raw = series.map((s) => {
      const out = new Array(xsMs.length).fill(null);
      s.timestamps.forEach((t, i) => { out[pos.get(t)] = s.values[i] ?? null; });
      return out;
    });
    let plotted = raw;
    if (stacked) {
      // Missing values count as 0 within a stack, but a period where every series is missing
      // stays a gap, as CloudWatch draws it.
      const acc = new Array(xsMs.length).fill(0);
      const any = xsMs.map((_, i) => raw.some((vals) => vals[i] !== null));
      plotted = raw.map((vals) => vals.map((v, i) => (any[i] ? (acc[i] += v ?? 0) : null)));
    }
    const xs = xsMs.map((t) => t / 1000);

    const uSeries = [{ label: 'Time', value: (u, v) => (v == null ? '' : formatTime(v * 1000)) }];
    series.forEach((s, i) => {
      uSeries.push({
        label: s.label || s.id || `m${i}`,
        stroke: colors[i],
        width: 1.5,
        fill: stacked ? `${colors[i]}55` : undefined,
        spanGaps: !stacked,
        points: stacked ? { show: plotted[i].filter((v) => v !== null).length <= 2, size: 5 } : { size: 5 },
        value: (u, v, si, idx) => (idx == null ? '' : formatNumber(raw[si - 1][idx])),
      });
    });
    const bands = [];
    if (stacked) for (let i = 2; i <= series.length; i++) bands.push({ series: [i, i - 1] });

    const yRange = (u, lo, hi) => {
      let a = lo, b = hi;
      if (a === null || a === undefined || !Number.isFinite(a)) a = 0;
      if (b === null || b === undefined || !Number.isFinite(b)) b = 1;
      for (const an of annotations) { a = Math.min(a, an.value); b = Math.max(b, an.value); }
      if (Number.isFinite(left.min)) a = left.min;
      else if (a >= 0) a = 0;
      if (Number.isFinite(left.max)) b = left.max;
      else b = niceCeil(b <= a ? a + 1 : b + (b - a) * 0.08);
      return [a, b];
    };

    const drawAnnotations = (u) => {
      if (!annotations.length) return;
      const ctx = u.ctx;
      const { left: bl, top, width, height } = u.bbox;
      const dpr = window.devicePixelRatio || 1;
      for (const an of annotations) {
        const y = Math.round(u.valToPos(an.value, 'y', true));
        if (y < top - 1 || y > top + height + 1) continue;
        const color = an.color || ANNOTATION_COLOR;
        ctx.save();
        ctx.strokeStyle = color;
        ctx.lineWidth = dpr;
        ctx.setLineDash([5 * dpr, 4 * dpr]);
        ctx.beginPath();
        ctx.moveTo(bl, y + 0.5);
        ctx.lineTo(bl + width, y + 0.5);
        ctx.stroke();
        if (an.label) {
          ctx.fillStyle = color;
          ctx.font = `${11 * dpr}px system-ui, sans-serif`;
          ctx.textAlign = 'right';
          ctx.textBaseline = 'bottom';
          ctx.fillText(`${an.label} (${formatTick(an.value)})`, bl + width - 4 * dpr, y - 3 * dpr);
        }
        ctx.restore();
      }
    };

    const axisFont = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    const opts = (width, height) => ({
      width, height,
      padding: [10, 12, 0, 2],
      cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 6 } },
      select: { show: false },
      legend: { show: false },
      scales: {
        x: { time: true, range: () => [range.start / 1000, range.end / 1000] },
        y: { range: yRange },
      },
      axes: [
        {
          stroke: '#5f6b7a', font: axisFont, size: 26, space: 64,
          grid: { stroke: '#e9ebed', width: 1 }, ticks: { stroke: '#d5dbdb', width: 1, size: 4 },
          values: (u, vals) => vals.map((v) => hhmm.format(new Date(v * 1000))),
        },
        {
          stroke: '#5f6b7a', font: axisFont, size: 46, space: 24,
          label: left.label || undefined, labelSize: left.label ? 16 : 0, labelFont: axisFont,
          grid: { stroke: '#e9ebed', width: 1 }, ticks: { show: false },
          values: (u, vals) => vals.map(formatTick),
        },
      ],
      series: uSeries,
      bands,
      hooks: { draw: [drawAnnotations] },
    });

    // Our own legend (below the plot, wrapping like CloudWatch's): its height is known before
    // the plot is sized, and it shows the hovered values.
    const legendItems = uSeries.slice(1).map((s, i) => {
      const value = h('span', { class: 'lg-value' });
      const item = h('span', { class: 'lg-item', title: s.label },
        h('span', { class: 'lg-swatch', style: `background:${colors[i]}` }),
        h('span', { class: 'lg-label' }, s.label), value);
      return { item, value };
    });
    const legend = h('div', { class: 'chart-legend' }, legendItems.map((x) => x.item));
    const holder = h('div', { class: 'chart' });
    this.bodyEl.append(holder, legend);
    const setLegend = (u) => {
      const idx = u.cursor.idx;
      legendItems.forEach((x, i) => {
        const v = idx == null ? null : raw[i][idx];
        x.value.textContent = idx == null ? '' : formatNumber(v);
      });
    };
    const data = [xs, ...plotted];
    const draw = () => {
      this.destroyCharts();
      const width = Math.max(120, holder.clientWidth || this.bodyEl.clientWidth);
      const total = this.bodyEl.clientHeight - legend.offsetHeight - 12;
      const o = opts(width, Math.max(60, total));
      o.legend = { show: false };
      o.hooks.setCursor = [setLegend];
      this.charts.push(new window.uPlot(o, data, holder));
    };
    draw();
    this.observe(draw);
  }
}

/** The statistic a single-value widget's series `i` shows, for its tooltip. */
function statOf(p, i) {
  const rows = visibleRows(p.metrics);
  const opt = rows[i] ? rowOptions(rows[i]) : {};
  return opt.expression ? 'value' : (opt.stat || p.stat || 'Average');
}

function sparkRange(lo, hi) {
  if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  const a = Math.min(0, lo);
  return [a, hi > a ? hi * 1.1 : a + 1];
}

/** Rounds up to 1, 2, 2.5 or 5 times a power of ten, for a tidy top tick. */
export function niceCeil(v) {
  if (!(v > 0)) return v;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** A half-circle gauge (an SVG arc: not a chart) from min to max with the value's needle. */
function gaugeSvg(value, min, max, color, label, annotations) {
  const NS = 'http://www.w3.org/2000/svg';
  const el = (tag, attrs) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  };
  const cx = 100, cy = 100, r = 80;
  const frac = value === null ? 0 : Math.min(1, Math.max(0, (value - min) / (max - min || 1)));
  const point = (f) => {
    const a = Math.PI * (1 - f);
    return [cx + r * Math.cos(a), cy - r * Math.sin(a)];
  };
  const arc = (f0, f1) => {
    const [x0, y0] = point(f0);
    const [x1, y1] = point(f1);
    return `M ${x0} ${y0} A ${r} ${r} 0 ${f1 - f0 > 0.5 ? 1 : 0} 1 ${x1} ${y1}`;
  };
  const svg = el('svg', { viewBox: '0 0 200 125', class: 'gauge', role: 'img', 'aria-label': `${label}: ${value ?? 'no data'}` });
  svg.append(el('path', { d: arc(0, 1), stroke: '#e9ebed', 'stroke-width': 18, fill: 'none' }));
  if (frac > 0) svg.append(el('path', { d: arc(0, frac), stroke: color, 'stroke-width': 18, fill: 'none' }));
  for (const an of (annotations && annotations.horizontal) || []) {
    const f = (Number(an.value) - min) / (max - min || 1);
    if (!(f >= 0 && f <= 1)) continue;
    const [x0, y0] = point(f);
    const a = Math.PI * (1 - f);
    svg.append(el('line', {
      x1: x0 - 12 * Math.cos(a), y1: y0 + 12 * Math.sin(a), x2: x0 + 12 * Math.cos(a), y2: y0 - 12 * Math.sin(a),
      stroke: an.color || ANNOTATION_COLOR, 'stroke-width': 2,
    }));
  }
  const text = el('text', { x: cx, y: cy - 8, 'text-anchor': 'middle', class: 'gauge-value' });
  text.textContent = value === null ? '–' : formatNumber(value);
  svg.append(text);
  const lo = el('text', { x: cx - r, y: cy + 18, 'text-anchor': 'middle', class: 'gauge-bound' });
  lo.textContent = formatTick(min);
  const hi = el('text', { x: cx + r, y: cy + 18, 'text-anchor': 'middle', class: 'gauge-bound' });
  hi.textContent = formatTick(max);
  svg.append(lo, hi);
  return h('figure', { class: 'gauge-item' }, svg, h('figcaption', {}, label));
}
