// The frame every dashboard widget shares: its place on the grid, title and body, the data-*
// attributes the tests and the stylesheet read (data-widget, data-type, data-view,
// data-status = loading | ok | empty | error), the error and empty placeholders, and the
// guarded fetch that keeps only the newest answer.

import { h, clear, message } from '../util.js';

export class Widget {
  /**
   * @param {{name: string, limiter: {run: (fn: () => any) => Promise<any>}}} dash  the dashboard
   * @param {object} w  the widget's definition in the dashboard body
   * @param {number} index  its position in the body's widget list
   * @param {string} view  what data-view says (the metric view, or the widget type)
   */
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

  /** Fetches and shows the data for `range`; static widgets have nothing to fetch. */
  load() {
    return Promise.resolve();
  }

  /** Frees what the body holds besides DOM (charts, observers) before it is replaced. */
  destroyContent() {}

  destroy() {
    this.generation++;
    this.destroyContent();
  }
}

/** A widget type or view the console cannot draw: the frame with the reason, in red. */
export class UnsupportedWidget extends Widget {
  constructor(dash, w, index, msg) {
    super(dash, w, index, (w.properties && w.properties.view) || w.type || 'unknown');
    this.showError(msg);
  }
}
