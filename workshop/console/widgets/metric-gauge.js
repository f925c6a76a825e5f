// The metric widget's gauge view: one half-circle per series, from the left axis' min to max
// (0 to 100 by default), with the horizontal annotations as ticks on the arc.

import { h, s as el, formatNumber, formatTick } from '../util.js';
import { ANNOTATION_COLOR, latest, seriesColors } from './series.js';

/** @param {import('./metric.js').MetricWidget} widget */
export function renderGauge(widget, series) {
  const p = widget.p;
  const left = (p.yAxis && p.yAxis.left) || {};
  const min = Number.isFinite(left.min) ? left.min : 0;
  const max = Number.isFinite(left.max) ? left.max : 100;
  const colors = seriesColors(p, series);
  const wrap = h('div', { class: 'gauges' });
  series.forEach((s, i) => {
    const last = latest(s);
    wrap.append(gaugeSvg(last ? last.value : null, min, max, colors[i], s.label || '', p.annotations));
  });
  widget.bodyEl.append(wrap);
}

/** A half-circle gauge (an SVG arc: not a chart) from min to max with the value's needle. */
function gaugeSvg(value, min, max, color, label, annotations) {
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
