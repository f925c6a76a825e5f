// The metric widget's timeSeries (and bar) view: lines, or a stack, on one time axis (uPlot,
// window.uPlot), with the body's horizontal annotations as dashed lines and our own legend.

import { h, formatNumber, formatTick, formatTime } from '../util.js';
import { ANNOTATION_COLOR, seriesColors } from './series.js';

const hhmm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
const AXIS_FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** @param {import('./metric.js').MetricWidget} widget */
export function renderTimeSeries(widget, series, range) {
  const p = widget.p;
  const stacked = !!p.stacked;
  const colors = seriesColors(p, series);
  const left = (p.yAxis && p.yAxis.left) || {};
  const annotations = ((p.annotations && p.annotations.horizontal) || [])
    .filter((a) => a && Number.isFinite(Number(a.value)))
    .map((a) => ({ ...a, value: Number(a.value) }));
  const { xs, raw, plotted } = alignSeries(series, stacked);
  const uSeries = plotSeries(series, colors, raw, plotted, stacked);
  const bands = [];
  if (stacked) for (let i = 2; i <= series.length; i++) bands.push({ series: [i, i - 1] });

  const { legend, setLegend } = chartLegend(uSeries, colors, raw);
  const holder = h('div', { class: 'chart' });
  const body = widget.bodyEl;
  body.append(holder, legend);
  const data = [xs, ...plotted];
  const chart = {
    range, left, uSeries, bands,
    yRange: yRange(left, annotations),
    drawAnnotations: annotationDrawer(annotations),
    setLegend,
  };
  widget.keepDrawn((add) => {
    const width = Math.max(120, holder.clientWidth || body.clientWidth);
    const total = body.clientHeight - legend.offsetHeight - 12;
    add(new window.uPlot(chartOptions(width, Math.max(60, total), chart), data, holder));
  });
}

/**
 * One x axis for all series: the union of their (aligned) period starts, in seconds; `raw` is
 * each series' values on it (null where it has none), `plotted` what is drawn (the running sums
 * when stacked).
 */
export function alignSeries(series, stacked) {
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
    // Each series is drawn on top of the ones below where it has a value, and not at all
    // where it has none: a missing value drawn at the running sum would put an empty series'
    // line (and colour) on top of another's value, so one Found lookup read as "1 NotFound".
    const acc = new Array(xsMs.length).fill(0);
    plotted = raw.map((vals) => vals.map((v, i) => (v === null ? null : (acc[i] += v))));
  }
  return { xs: xsMs.map((t) => t / 1000), raw, plotted };
}

/** uPlot's series list: time first, then one per metric series (hover values are the raw ones). */
function plotSeries(series, colors, raw, plotted, stacked) {
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
  return uSeries;
}

/** The y scale: from 0 (or the axis' min) to a tidy top that leaves the annotations in view. */
function yRange(left, annotations) {
  return (u, lo, hi) => {
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
}

/** A uPlot draw hook: each horizontal annotation as a dashed line with its label. */
function annotationDrawer(annotations) {
  return (u) => {
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
}

function chartOptions(width, height, { range, left, uSeries, bands, yRange, drawAnnotations, setLegend }) {
  return {
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
        stroke: '#5f6b7a', font: AXIS_FONT, size: 26, space: 64,
        grid: { stroke: '#e9ebed', width: 1 }, ticks: { stroke: '#d5dbdb', width: 1, size: 4 },
        values: (u, vals) => vals.map((v) => hhmm.format(new Date(v * 1000))),
      },
      {
        stroke: '#5f6b7a', font: AXIS_FONT, size: 46, space: 24,
        label: left.label || undefined, labelSize: left.label ? 16 : 0, labelFont: AXIS_FONT,
        grid: { stroke: '#e9ebed', width: 1 }, ticks: { show: false },
        values: (u, vals) => vals.map(formatTick),
      },
    ],
    series: uSeries,
    bands,
    hooks: { draw: [drawAnnotations], setCursor: [setLegend] },
  };
}

/**
 * Our own legend (below the plot, wrapping like CloudWatch's): its height is known before the
 * plot is sized, and `setLegend` (a setCursor hook) shows the hovered values.
 */
function chartLegend(uSeries, colors, raw) {
  const legendItems = uSeries.slice(1).map((s, i) => {
    const value = h('span', { class: 'lg-value' });
    const item = h('span', { class: 'lg-item', title: s.label },
      h('span', { class: 'lg-swatch', style: `background:${colors[i]}` }),
      h('span', { class: 'lg-label' }, s.label), value);
    return { item, value };
  });
  const legend = h('div', { class: 'chart-legend' }, legendItems.map((x) => x.item));
  const setLegend = (u) => {
    const idx = u.cursor.idx;
    legendItems.forEach((x, i) => {
      const v = idx == null ? null : raw[i][idx];
      x.value.textContent = idx == null ? '' : formatNumber(v);
    });
  };
  return { legend, setLegend };
}

/** Rounds up to 1, 2, 2.5 or 5 times a power of ten, for a tidy top tick. */
export function niceCeil(v) {
  if (!(v > 0)) return v;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}
