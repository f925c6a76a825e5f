// The metric widget's singleValue view: each series' latest value (or its statistic over the
// whole time range), with an optional sparkline (uPlot, window.uPlot).

import { h, formatNumber, formatTime } from '../util.js';
import { hasValue, latest, rowOptions, seriesColors, visibleRows } from './series.js';

/** @param {import('./metric.js').MetricWidget} widget */
export function renderSingle(widget, series) {
  const p = widget.p;
  const colors = seriesColors(p, series);
  const wrap = h('div', { class: `single-values n${Math.min(series.length, 4)}` });
  widget.bodyEl.append(wrap);
  const sparks = [];
  const whole = Boolean(p.setPeriodToTimeRange);
  series.forEach((s, i) => {
    // "Over the time range": the server computes the statistic over the whole range as one
    // period (exact for averages and percentiles too), as CloudWatch does.
    const last = whole
      ? (s.wholeRange === null || s.wholeRange === undefined ? null : { value: Number(s.wholeRange), over: statOf(p, i) })
      : latest(s);
    const tip = !last ? 'no data' : last.over ? `${last.over} over the time range` : `at ${formatTime(last.at)}`;
    const item = h('div', { class: 'single-value', dataset: { series: s.id || `m${i}` } },
      h('div', { class: 'sv-label', title: s.label || '' }, s.label || ''),
      h('div', { class: 'sv-number', title: tip }, last ? formatNumber(last.value) : '–'));
    wrap.append(item);
    if (p.sparkline && hasValue(s)) {
      const box = h('div', { class: 'sv-spark' });
      item.append(box);
      sparks.push({ box, s, color: colors[i] });
    }
  });
  if (!sparks.length) return;
  widget.keepDrawn((add) => {
    for (const spark of sparks) add(sparkline(spark));
  });
}

function sparkline({ box, s, color }) {
  const width = Math.max(40, box.clientWidth);
  const height = Math.max(16, box.clientHeight);
  const xs = s.timestamps.map((t) => t / 1000);
  const few = s.values.filter((v) => v !== null).length <= 2;
  return new window.uPlot({
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
