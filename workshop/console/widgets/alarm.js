// The alarm status widget: one tile per alarm ARN of the body, in the state the local alarm
// loop reports (the alarms view shared with the badges and the alarms panel).

import { alarmsShared } from '../api.js';
import { h, clear, stateClass, stateLabel } from '../util.js';
import { Widget } from './widget.js';

const STATE_ORDER = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };

/** The name an alarm ARN points at: what follows `:alarm:`. */
export function alarmName(arn) {
  const i = String(arn).indexOf(':alarm:');
  return i >= 0 ? String(arn).slice(i + ':alarm:'.length) : String(arn);
}

export class AlarmWidget extends Widget {
  constructor(dash, w, index) {
    super(dash, w, index, 'alarm');
    this.names = (this.p.alarms || []).map(alarmName);
  }

  load(range) {
    return this.guarded(range, () => alarmsShared(), (view) => this.render(view));
  }

  render(view) {
    const known = (view && view.alarms) || {};
    let items = this.names.map((name, i) => ({ name, i, status: known[name] }));
    const sortBy = this.p.sortBy;
    if (sortBy === 'stateUpdatedTimestamp') {
      const t = (x) => (x.status && x.status.state_updated ? Date.parse(x.status.state_updated) : 0);
      items.sort((a, b) => t(b) - t(a) || a.i - b.i);
    } else if (sortBy === 'default' || sortBy === 'state') {
      const o = (x) => STATE_ORDER[x.status ? x.status.state : 'INSUFFICIENT_DATA'] ?? 1;
      items.sort((a, b) => o(a) - o(b) || a.i - b.i);
    }
    clear(this.bodyEl);
    const list = h('ul', { class: 'alarm-tiles' });
    for (const it of items) {
      const state = it.status ? it.status.state : 'INSUFFICIENT_DATA';
      const reason = it.status ? it.status.reason : 'This alarm is not defined on the local stack.';
      list.append(h('li', {
        class: `alarm-tile ${stateClass(state)}`,
        dataset: { alarm: it.name, state },
        title: `${it.name}: ${stateLabel(state)}\n${reason || ''}`,
      },
      h('span', { class: 'alarm-icon', 'aria-hidden': 'true' }, state === 'ALARM' ? '!' : state === 'OK' ? '✓' : '–'),
      h('span', { class: 'alarm-name' }, it.name),
      h('span', { class: 'alarm-state' }, stateLabel(state))));
    }
    this.bodyEl.append(list);
    this.setStatus(this.names.length ? 'ok' : 'empty');
  }
}
