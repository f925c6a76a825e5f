// The metric widget: one GetMetricData-like query over the time range, drawn by its view
// (timeSeries and bar, singleValue, gauge; each in its own module). It owns the view's uPlot
// charts and redraws them when the widget changes size.

import { api } from '../api.js';
import { clear, h } from '../util.js';
import { periodFor, periodLabel } from './period.js';
import { Widget } from './widget.js';
import { hasValue } from './series.js';
import { renderTimeSeries } from './metric-timeseries.js';
import { renderSingle } from './metric-single.js';
import { renderGauge } from './metric-gauge.js';

// view -> (widget, series, range) => void; a Map, so that no body's view name can reach
// Object.prototype.
const VIEWS = new Map([
  ['timeSeries', renderTimeSeries],
  ['bar', renderTimeSeries],
  ['singleValue', renderSingle],
  ['gauge', renderGauge],
]);

export class MetricWidget extends Widget {
  constructor(dash, w, index) {
    const view = (w.properties && w.properties.view) || 'timeSeries';
    super(dash, w, index, view);
    this.view = view;
    this.charts = [];
    this.resizeObserver = null;
  }

  query(range) {
    const p = this.p;
    const { period, auto } = periodFor(p, this.view, range);
    this.showPeriod(period, auto);
    return {
      metrics: p.metrics || [],
      stat: p.stat || 'Average',
      period,
      start: range.start,
      end: range.end,
      setPeriodToTimeRange: Boolean(p.setPeriodToTimeRange),
    };
  }

  /** The period in the title's corner, so a Sum per 10 s is not read as a Sum per minute. */
  showPeriod(period, auto) {
    if (this.view === 'singleValue' || this.view === 'gauge') return;
    let note = this.el.querySelector(':scope > .widget-period');
    if (!note) {
      note = h('div', { class: 'widget-period' });
      this.el.append(note);
    }
    note.textContent = periodLabel(period);
    note.title = auto
      ? `${periodLabel(period)} periods (auto: this short range is drawn finer than the widget's ${periodLabel(Number(this.p.period) || 300)})`
      : `${periodLabel(period)} periods`;
    this.el.dataset.period = String(period);
  }

  load(range) {
    const q = this.query(range);
    return this.guarded(range, () => api.metricData(q), (r) => this.render(r, range));
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
    const view = VIEWS.get(this.view);
    if (!view) {
      this.showError(`metric view "${this.view}" is not supported`);
      return;
    }
    view(this, series, range);
    this.setStatus('ok');
  }

  /**
   * Draws the view's charts now and again whenever the body changes size (uPlot has a fixed
   * size): `draw(add)` builds them, handing each to `add` so that the next draw frees it.
   */
  keepDrawn(draw) {
    const redraw = () => {
      this.destroyCharts();
      draw((chart) => this.charts.push(chart));
    };
    redraw();
    this.observe(redraw);
  }

  destroyContent() {
    this.destroyCharts();
    if (this.resizeObserver) this.resizeObserver.disconnect();
    this.resizeObserver = null;
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
}
