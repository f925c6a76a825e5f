// Renders a CloudWatch dashboard body: the 24-column grid, one widget per entry of the body,
// each drawn by the module of its type in widgets/ (metric: timeSeries, singleValue, gauge;
// text; alarm; log table). Charts are uPlot (window.uPlot), Markdown is marked
// (window.marked); both are vendored classic scripts loaded by index.html.
//
// Every widget element carries data-widget="<dashboard>:<index>", data-type, data-view and
// data-status = loading | ok | empty | error; an error also shows a .widget-error element.

import { h, clear } from './util.js';
import { UnsupportedWidget } from './widgets/widget.js';
import { MetricWidget } from './widgets/metric.js';
import { TextWidget } from './widgets/text.js';
import { AlarmWidget } from './widgets/alarm.js';
import { LogWidget } from './widgets/log.js';

export const ROW_HEIGHT = 36; // px per grid row, as CloudWatch's ~ 30-40
export const GAP = 8;

// At most this many metric/log queries in flight per dashboard: the browser would queue the
// rest anyway, and the stack's console server stays responsive for the other panels.
const MAX_IN_FLIGHT = 6;

// widget type -> its class; a Map, so that no body's type name can reach Object.prototype.
const KINDS = new Map([
  ['metric', MetricWidget],
  ['text', TextWidget],
  ['alarm', AlarmWidget],
  ['log', LogWidget],
]);

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
  const Kind = KINDS.get(type);
  if (Kind) return new Kind(dash, w, index);
  const p = w.properties || {};
  return new UnsupportedWidget(dash, w, index, `widget type "${type}"${p.view ? ` (${p.view})` : ''} is not supported`);
}
