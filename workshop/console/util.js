// Small DOM and formatting helpers shared by the dashboards and the panels.

/** Builds an element: h('td', {class: 'x', dataset: {a: 1}}, 'text', child). */
export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, as h() builds HTML ones: s('rect', {x: 1}). */
export function s(tag, attrs = {}, ...children) {
  return build(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const plain = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const small = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });

/** A metric value as CloudWatch shows one: grouped, at most two decimals, small ones kept. */
export function formatNumber(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && a < 0.01) return small.format(v);
  if (a >= 1e6) return `${plain.format(v / 1e6)}M`;
  return plain.format(v);
}

/** Axis ticks: short (1.2k) so narrow charts keep their plot area. */
export function formatTick(v) {
  if (v === null || v === undefined) return '';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (a !== 0 && a < 0.01) return v.toExponential(0);
  return `${+v.toFixed(2)}`;
}

const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});

/** An RFC 3339 string or epoch ms as local time; the date only when it is not today. */
export function formatTime(t) {
  if (t === null || t === undefined || t === '') return '–';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const today = new Date();
  return d.toDateString() === today.toDateString() ? timeFmt.format(d) : dateTimeFmt.format(d);
}

/** "3 min ago", "in 12 s": for the tables' relative hints. */
export function relative(t, now = Date.now()) {
  const ms = new Date(t).getTime();
  if (Number.isNaN(ms)) return '';
  const s = Math.round((ms - now) / 1000);
  const a = Math.abs(s);
  const txt = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min` : `${(a / 3600).toFixed(1)} h`;
  return s <= 0 ? `${txt} ago` : `in ${txt}`;
}

/** mm:ss (or h:mm:ss) until `t`, never negative. */
export function countdown(t, now = Date.now()) {
  let s = Math.max(0, Math.floor((new Date(t).getTime() - now) / 1000));
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const mm = Math.floor(s / 60);
  const ss = s - mm * 60;
  const pad = (n) => String(n).padStart(2, '0');
  return hh > 0 ? `${hh}:${pad(mm)}:${pad(ss)}` : `${pad(mm)}:${pad(ss)}`;
}

export function stateClass(state) {
  switch (state) {
    case 'ALARM': return 'state-alarm';
    case 'OK': return 'state-ok';
    default: return 'state-insufficient';
  }
}

export function stateLabel(state) {
  return state === 'INSUFFICIENT_DATA' ? 'Insufficient data' : state === 'ALARM' ? 'In alarm' : state === 'OK' ? 'OK' : String(state || 'Unknown');
}

/** A state chip: coloured dot and word. */
export function stateChip(state) {
  return h('span', { class: `chip ${stateClass(state)}`, dataset: { state: state || 'UNKNOWN' } },
    h('span', { class: 'dot' }), stateLabel(state));
}

/** A panel's failure, announced. */
export function errorBox(msg) {
  return h('div', { class: 'panel-error', role: 'alert' }, msg);
}

export function message(e) {
  return (e && e.message) || String(e);
}

/** A span or trace duration: "0.61 ms", "12.3 ms", "117 ms", "3.20 s". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  const a = Math.abs(ms);
  if (a >= 1000) return `${(ms / 1000).toFixed(a >= 10_000 ? 1 : 2)} s`;
  if (a >= 100) return `${Math.round(ms)} ms`;
  if (a >= 10) return `${ms.toFixed(1)} ms`;
  return `${+ms.toFixed(2)} ms`;
}

const clockFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hour12: false,
});

/** Local time with milliseconds (log lines of one trace are milliseconds apart). */
export function formatClock(t) {
  if (t === null || t === undefined || t === '') return '–';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : clockFmt.format(d);
}
