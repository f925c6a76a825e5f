// The period a metric widget is drawn at. CloudWatch picks finer periods for short ranges
// ("auto"); so does the console, so that a fresh stack's charts are lines within a minute of
// the first order instead of one dot at the right edge of a 15-minute axis. A chart keeps the
// period of its definition where a finer one would change what its numbers mean: single
// values ("… / min", totals), and charts with a threshold line (an alarm's threshold is a
// value per period of the alarm's).

/** Ranges up to this long get the fine period. */
export const SHORT_RANGE_MS = 60 * 60 * 1000;
/** Seconds; the local metric store keeps every datapoint, so any period can be drawn. */
export const FINE_PERIOD = 10;

/** @returns {{period: number, auto: boolean}} the period to query, and whether it is not the widget's own. */
export function periodFor(p, view, range) {
  const own = Number(p.period) || 300;
  const chart = view === 'timeSeries' || view === 'bar';
  const thresholds = ((p.annotations && p.annotations.horizontal) || []).length > 0;
  const short = range.end - range.start <= SHORT_RANGE_MS;
  if (!chart || thresholds || p.setPeriodToTimeRange || !short || own <= FINE_PERIOD) {
    return { period: own, auto: false };
  }
  return { period: FINE_PERIOD, auto: true };
}

/** `10 s`, `1 min`, `5 min`, `1 h`. */
export function periodLabel(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
