// The log widget: a Logs Insights query over the time range, as a table (the local stack runs
// the query on its own log store).

import { api } from '../api.js';
import { h, clear } from '../util.js';
import { Widget } from './widget.js';

export class LogWidget extends Widget {
  constructor(dash, w, index) {
    super(dash, w, index, (w.properties && w.properties.view) || 'table');
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
