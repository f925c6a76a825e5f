// What the metric views share about a widget's series: the options of the body's metric rows,
// the colours CloudWatch gives the lines, and which values are worth showing.

// CloudWatch's default line colours, in its order.
export const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];

/** Horizontal annotations without a colour of their own. */
export const ANNOTATION_COLOR = '#d13212';

/** A metric row's options: its last element when that is an object. */
export function rowOptions(row) {
  const last = Array.isArray(row) ? row[row.length - 1] : null;
  return last && typeof last === 'object' && !Array.isArray(last) ? last : {};
}

/** The rows the API returns series for (visible ones), to find their colours. */
export function visibleRows(metrics) {
  return (metrics || []).filter((row) => rowOptions(row).visible !== false);
}

/** Each series' colour: its row's `color` when rows and series line up, else the palette's. */
export function seriesColors(p, series) {
  const rows = visibleRows(p.metrics);
  return series.map((s, i) => {
    const opt = rows.length === series.length ? rowOptions(rows[i]) : {};
    return opt.color || PALETTE[i % PALETTE.length];
  });
}

export function hasValue(s) {
  return (s.values || []).some((v) => v !== null && v !== undefined && !Number.isNaN(v));
}

/** The last value a series has, with its timestamp; null when it has none. */
export function latest(s) {
  const vals = s.values || [];
  for (let i = vals.length - 1; i >= 0; i--) {
    const v = vals[i];
    if (v !== null && v !== undefined && !Number.isNaN(v)) return { value: v, at: (s.timestamps || [])[i] };
  }
  return null;
}
