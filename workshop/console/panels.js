// The console's panels beside the dashboards: alarms, DLQ, chaos, functions. Each owns its
// <section>, fetches on refresh() and never throws: a failed fetch shows in the panel.

import { api, alarmsShared } from './api.js';
import {
  h, clear, errorBox, formatNumber, formatTime, relative, countdown, stateChip, stateClass, message,
} from './util.js';

export function panelHeader(title, subtitle, ...actions) {
  return h('div', { class: 'panel-header' },
    h('div', {}, h('h2', {}, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null),
    h('div', { class: 'panel-actions' }, actions));
}

function card(title, ...children) {
  return h('div', { class: 'card' }, title ? h('h3', {}, title) : null, children);
}

// ---------------------------------------------------------------------------------------------
// Alarms

const ORDER = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };

export class AlarmsPanel {
  constructor(section) {
    this.section = section;
    this.content = h('div', { class: 'panel-content' });
    clear(section).append(
      panelHeader('Alarms', 'Every alarm of the local evaluator (CloudWatch semantics, evaluated every 10 s) and its state changes.'),
      this.content);
  }

  async refresh() {
    let view;
    try {
      view = await alarmsShared();
    } catch (e) {
      clear(this.content).append(errorBox(`Cannot read the alarms: ${message(e)}`));
      return;
    }
    const alarms = Object.entries((view && view.alarms) || {})
      .map(([name, s]) => ({ name, ...s }))
      .sort((a, b) => (ORDER[a.state] ?? 1) - (ORDER[b.state] ?? 1) || a.name.localeCompare(b.name));
    const counts = { ALARM: 0, OK: 0, INSUFFICIENT_DATA: 0 };
    for (const a of alarms) counts[a.state] = (counts[a.state] || 0) + 1;
    const history = [...((view && view.history) || [])]
      .sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp));

    const summary = h('div', { class: 'summary' },
      h('span', { class: 'summary-item state-alarm' }, h('b', {}, counts.ALARM), ' in alarm'),
      h('span', { class: 'summary-item state-ok' }, h('b', {}, counts.OK), ' OK'),
      h('span', { class: 'summary-item state-insufficient' }, h('b', {}, counts.INSUFFICIENT_DATA), ' insufficient data'));

    const table = h('table', { class: 'data-table', id: 'alarms-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'State'), h('th', {}, 'Reason'), h('th', {}, 'Updated'))),
      h('tbody', {}, alarms.map((a) => h('tr', { dataset: { alarm: a.name, state: a.state }, class: stateClass(a.state) },
        h('td', { class: 'name' }, a.name),
        h('td', {}, stateChip(a.state)),
        h('td', { class: 'reason' }, a.reason || ''),
        h('td', { class: 'nowrap', title: a.state_updated || '' },
          a.state_updated ? `${formatTime(a.state_updated)} (${relative(a.state_updated)})` : '–')))));

    const hist = history.length
      ? h('table', { class: 'data-table', id: 'alarm-history' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Alarm'), h('th', {}, 'Change'), h('th', {}, 'Reason'))),
        h('tbody', {}, history.map((t) => h('tr', {},
          h('td', { class: 'nowrap', title: t.timestamp }, formatTime(t.timestamp)),
          h('td', { class: 'name' }, t.alarm),
          h('td', { class: 'nowrap' }, stateChip(t.from), h('span', { class: 'arrow' }, '→'), stateChip(t.to)),
          h('td', { class: 'reason' }, t.reason || '')))))
      : h('p', { class: 'muted', id: 'alarm-history' }, 'No state change yet: every alarm starts in INSUFFICIENT_DATA.');

    clear(this.content).append(summary, card(`All alarms (${alarms.length})`, table), card('History (newest first)', hist));
  }
}

// ---------------------------------------------------------------------------------------------
// DLQ

const DLQ_SUBTITLE = (name) =>
  `Messages the processor failed 3 times${name ? ` (${name})` : ''}. Redrive moves them back to the orders queue.`;

export class DlqPanel {
  constructor(section, onChange) {
    this.section = section;
    this.onChange = onChange;
    this.redriveButton = h('button', { id: 'dlq-redrive', class: 'btn primary', type: 'button', onclick: () => this.redrive() },
      'Redrive to the orders queue');
    this.result = h('div', { id: 'dlq-result', class: 'notice', hidden: true, role: 'status' });
    this.list = h('div', { id: 'dlq-list', class: 'dlq-list' });
    this.header = panelHeader('Dead-letter queue', DLQ_SUBTITLE(''), this.redriveButton);
    clear(section).append(this.header, this.result, this.list);
    // The queue's name comes from the stack, which defines it once.
    api.about().then((about) => {
      const subtitle = this.header.querySelector('p');
      if (subtitle && about && about.dlq) subtitle.textContent = DLQ_SUBTITLE(about.dlq);
    }, () => {});
  }

  async refresh() {
    let msgs;
    try {
      msgs = await api.dlq();
    } catch (e) {
      clear(this.list).append(errorBox(`Cannot read the DLQ: ${message(e)}`));
      return null;
    }
    msgs = Array.isArray(msgs) ? msgs : [];
    this.section.dataset.count = String(msgs.length);
    clear(this.list);
    if (!msgs.length) {
      this.list.append(h('div', { class: 'empty-state', id: 'dlq-empty' },
        h('b', {}, 'The DLQ is empty.'), ' Every message the processor received was handled, or went back to the queue.'));
      return msgs;
    }
    this.list.append(h('p', { class: 'muted' }, `${msgs.length} message${msgs.length === 1 ? '' : 's'}`));
    for (const m of msgs) {
      const body = m.body;
      const orderId = body && typeof body === 'object' ? body.orderId || body.order_id || body.id : null;
      const attrs = m.attributes && Object.keys(m.attributes).length ? m.attributes : null;
      this.list.append(h('article', { class: 'dlq-message', dataset: { messageId: m.messageId || '' } },
        h('div', { class: 'dlq-head' },
          h('code', { class: 'msg-id', title: 'message id' }, m.messageId || '(no id)'),
          orderId ? h('span', { class: 'pill' }, `order ${orderId}`) : null,
          m.traceId ? h('a', { class: 'pill', href: `#/traces/${encodeURIComponent(m.traceId)}`, title: 'open this message\'s trace: its receives, the fault, the move to the DLQ' }, `trace ${m.traceId}`) : null,
          h('span', { class: 'pill warn', title: 'receive count' }, `received ${m.receiveCount ?? '?'}×`),
          h('span', { class: 'muted', title: m.sentAt || '' }, m.sentAt ? `sent ${formatTime(m.sentAt)} (${relative(m.sentAt)})` : '')),
        h('details', { class: 'json', open: msgs.length <= 3 },
          h('summary', {}, 'Body'),
          h('pre', {}, typeof body === 'string' ? body : JSON.stringify(body, null, 2))),
        attrs ? h('details', { class: 'json' }, h('summary', {}, 'Attributes'), h('pre', {}, JSON.stringify(attrs, null, 2))) : null));
    }
    return msgs;
  }

  async redrive() {
    this.redriveButton.disabled = true;
    this.result.hidden = false;
    this.result.className = 'notice';
    this.result.textContent = 'Redriving…';
    try {
      const r = await api.redrive();
      const n = (r && r.moved) ?? 0;
      this.result.textContent = `Moved ${n} message${n === 1 ? '' : 's'} back to the orders queue.`;
      this.result.dataset.moved = String(n);
    } catch (e) {
      this.result.className = 'notice error';
      this.result.textContent = `Redrive failed: ${message(e)}`;
    } finally {
      this.redriveButton.disabled = false;
    }
    await this.refresh();
    if (this.onChange) this.onChange();
  }
}

// ---------------------------------------------------------------------------------------------
// Chaos

// The fault form is built from GET /api/chaos/faults: the stack's one list of faults, with
// their caps, so the console never re-spells them.

/** One fault's input, by its kind (rate, ms, int, text, select). */
function faultInput(f) {
  const base = { name: f.name, id: `fault-${f.name}` };
  if (f.kind === 'select') {
    return h('select', base,
      h('option', { value: '' }, `default (${f.options[0]})`),
      f.options.map((o) => h('option', { value: o }, o)));
  }
  if (f.kind === 'text') {
    return h('input', { ...base, type: 'text', placeholder: 'e.g. BOOK-42', autocomplete: 'off' });
  }
  const attrs = f.kind === 'rate'
    ? { min: f.min, max: f.max, step: 'any', placeholder: '0' }
    : f.kind === 'ms' ? { min: f.min, max: f.max, step: 1, placeholder: '0' } : { min: f.min, max: f.max, step: 1 };
  const value = f.kind === 'int' ? f.default : undefined;
  return h('input', { ...base, type: 'number', inputmode: 'decimal', value, ...attrs });
}

/** The faults that do something, as "name value" pairs (defaults left out). */
export function faultSummary(f) {
  if (!f) return [];
  const out = [];
  const on = (k) => Number(f[k]) > 0;
  if (on('processorFailureRate')) out.push(['processor failures', `${f.processorFailureRate} (${f.processorFailureMode || 'record'})`]);
  if (on('processorLatencyMs')) out.push(['processor latency', `${f.processorLatencyMs} ms${on('latencyJitterMs') ? ` ± ${f.latencyJitterMs}` : ''}`]);
  if (f.poisonSku) out.push(['poison SKU', f.poisonSku]);
  if (on('timeoutRate')) out.push(['timeouts', String(f.timeoutRate)]);
  if (on('apiErrorRate')) out.push(['API errors', `${f.apiErrorRate} → ${f.apiErrorStatus ?? 503}`]);
  if (on('apiLatencyMs')) out.push(['API latency', `${f.apiLatencyMs} ms${on('latencyJitterMs') && !on('processorLatencyMs') ? ` ± ${f.latencyJitterMs}` : ''}`]);
  if (on('dependencyFailureRate')) out.push([`${f.dependency || 'all'} failures`, String(f.dependencyFailureRate)]);
  if (on('dependencyLatencyMs')) out.push([`${f.dependency || 'all'} latency`, `${f.dependencyLatencyMs} ms`]);
  return out;
}

function faultList(f, emptyText) {
  const items = faultSummary(f);
  if (!items.length) return h('p', { class: 'muted' }, emptyText);
  return h('ul', { class: 'fault-list' }, items.map(([k, v]) => h('li', {}, h('span', { class: 'fault-name' }, k), h('code', {}, v))));
}

const END_REASONS = {
  switchedOff: 'switched off', expired: 'expired', stopCondition: 'stop condition', replaced: 'replaced',
};

export class ChaosPanel {
  constructor(section, onChange) {
    this.section = section;
    this.onChange = onChange;
    this.status = null;
    this.banner = h('div', { id: 'chaos-disarmed', class: 'banner danger', hidden: true, role: 'alert' },
      h('b', {}, 'Chaos is disarmed: restart with '), h('code', {}, 'workshop up --chaos-armed'),
      h('span', {}, '. Nothing can be injected until then.'));
    this.statusBox = h('div', { id: 'chaos-status', class: 'chaos-status' });
    this.error = h('div', { id: 'chaos-error', class: 'notice error', hidden: true, role: 'alert' });
    this.info = h('div', { id: 'chaos-info', class: 'notice', hidden: true, role: 'status' });
    this.form = this.buildForm();
    this.journal = h('div', { id: 'chaos-journal' });
    this.offButton = h('button', { id: 'chaos-off', class: 'btn danger', type: 'button', onclick: () => this.off() }, 'Stop chaos (kill switch)');
    clear(section).append(
      panelHeader('Chaos', 'Fault injection into the running stack: every override expires; the kill switch stops everything.', this.offButton),
      this.banner,
      h('div', { class: 'chaos-grid' },
        h('div', {}, this.statusBox),
        card('Start an experiment', this.form, this.error, this.info)),
      card('Journal', this.journal));
    this.timer = setInterval(() => this.tick(), 1000);
  }

  /** Fills the faults fieldset from the stack's fault list: once, or again after a failure. */
  loadFaults() {
    if (!this.faultsLoading) {
      this.faultsLoading = api.chaosFaults().then((faults) => {
        this.faults = Array.isArray(faults) ? faults : [];
        clear(this.faultFields).append(h('legend', {}, 'Faults (empty = off)'),
          ...this.faults.map((f) => h('label', { class: 'field', title: f.hint || '' }, h('span', {}, f.label), faultInput(f))));
      }, (e) => {
        this.faultsLoading = null;
        clear(this.faultFields).append(h('legend', {}, 'Faults (empty = off)'),
          errorBox(`Cannot read the fault list: ${message(e)}`));
      });
    }
    return this.faultsLoading;
  }

  buildForm() {
    this.faults = null;
    this.faultsLoading = null;
    this.faultFields = h('fieldset', { class: 'faults' }, h('legend', {}, 'Faults (empty = off)'));
    this.loadFaults();
    const form = h('form', { id: 'chaos-form', class: 'chaos-form', novalidate: true },
      this.faultFields,
      h('fieldset', { class: 'experiment' }, h('legend', {}, 'Experiment'),
        h('label', { class: 'field' }, h('span', {}, 'Duration (minutes)'),
          h('input', { name: 'durationMinutes', id: 'chaos-duration', type: 'number', min: 1, max: 240, step: 1, value: '15' })),
        h('label', { class: 'field' }, h('span', {}, 'Stop on alarm (optional)'),
          h('input', { name: 'stopOn', id: 'chaos-stop-on', type: 'text', placeholder: 'e.g. dlq-not-empty', list: 'alarm-names', autocomplete: 'off' })),
        h('datalist', { id: 'alarm-names' }),
        h('label', { class: 'field wide' }, h('span', {}, 'Hypothesis'),
          h('textarea', { name: 'hypothesis', id: 'chaos-hypothesis', rows: 2, placeholder: 'e.g. orders that keep failing end in the DLQ; none is lost' }))),
      h('div', { class: 'form-actions' },
        h('button', { id: 'chaos-on', class: 'btn primary', type: 'submit' }, 'Turn faults on')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.on();
    });
    return form;
  }

  /** The PUT /api/chaos body from the form, or throws with what is wrong. */
  request() {
    const fd = new FormData(this.form);
    const faults = {};
    if (!this.faults) throw new Error('the fault list has not loaded yet');
    for (const f of this.faults) {
      const raw = String(fd.get(f.name) ?? '').trim();
      if (raw === '') continue;
      if (f.kind === 'select' || f.kind === 'text') {
        faults[f.name] = raw;
      } else {
        const n = Number(raw);
        if (!Number.isFinite(n)) throw new Error(`${f.label}: "${raw}" is not a number`);
        faults[f.name] = n;
      }
    }
    const minutes = Number(String(fd.get('durationMinutes') ?? '').trim() || '15');
    if (!Number.isFinite(minutes) || minutes <= 0) throw new Error('Duration: give a number of minutes above 0');
    const req = { faults, durationSeconds: Math.round(minutes * 60), hypothesis: String(fd.get('hypothesis') ?? '').trim() };
    const stopOn = String(fd.get('stopOn') ?? '').trim();
    if (stopOn) req.stopOn = stopOn;
    return req;
  }

  showError(msg) {
    this.info.hidden = true;
    this.error.hidden = !msg;
    this.error.textContent = msg || '';
  }

  showInfo(msg) {
    this.info.hidden = !msg;
    this.info.textContent = msg || '';
  }

  async on() {
    let req;
    try {
      req = this.request();
    } catch (e) {
      this.showError(message(e));
      return;
    }
    const button = this.form.querySelector('#chaos-on');
    button.disabled = true;
    try {
      const exp = await api.chaosOn(req);
      this.showError('');
      this.showInfo(`Experiment ${(exp && exp.id) || ''} started.`);
    } catch (e) {
      this.showError(e.code ? `${message(e)} (${e.code})` : message(e));
    } finally {
      button.disabled = !(this.status && this.status.armed);
    }
    await this.refresh();
    if (this.onChange) this.onChange();
  }

  async off() {
    this.offButton.disabled = true;
    try {
      const exp = await api.chaosOff();
      this.showError('');
      this.showInfo(exp && exp.id ? `Chaos off: experiment ${exp.id} ended.` : 'Chaos off: nothing is injected until the next start.');
    } catch (e) {
      this.showError(e.code ? `${message(e)} (${e.code})` : message(e));
    } finally {
      this.offButton.disabled = false;
    }
    await this.refresh();
    if (this.onChange) this.onChange();
  }

  tick() {
    const el = this.statusBox.querySelector('#chaos-countdown');
    const live = this.status && this.status.live;
    if (!el || !live || live.state !== 'on') return;
    const left = new Date(live.expiresAt).getTime() - Date.now();
    el.textContent = countdown(live.expiresAt);
    if (left <= 0 && !this.expiredRefresh) {
      this.expiredRefresh = true;
      setTimeout(() => this.refresh(), 1500);
    }
  }

  async refresh() {
    let status, journal, alarms;
    try {
      [status, journal, alarms] = await Promise.all([
        api.chaos(),
        api.journal().catch((e) => ({ error: message(e) })),
        alarmsShared().catch(() => null),
      ]);
    } catch (e) {
      clear(this.statusBox).append(errorBox(`Cannot read the chaos state: ${message(e)}`));
      return null;
    }
    // The form's fields must exist before they are enabled or disabled below.
    await this.loadFaults();
    this.status = status;
    this.expiredRefresh = false;
    const armed = !!status.armed;
    this.section.dataset.armed = String(armed);
    this.section.dataset.live = (status.live && status.live.state) || 'unset';
    this.banner.hidden = armed;
    for (const el of this.form.elements) el.disabled = !armed;
    this.form.classList.toggle('disabled', !armed);

    const names = alarms && alarms.alarms ? Object.keys(alarms.alarms) : [];
    const dl = this.form.querySelector('#alarm-names');
    if (dl && dl.childElementCount !== names.length) clear(dl).append(...names.map((n) => h('option', { value: n })));

    this.renderStatus(status, alarms);
    this.renderJournal(journal);
    return status;
  }

  renderStatus(status, alarms) {
    const live = status.live || { state: 'unset' };
    let liveBox;
    if (live.state === 'on') {
      liveBox = h('div', { class: 'live live-on' },
        h('div', { class: 'live-title' }, h('span', { class: 'badge danger' }, 'ON'), ' Live override'),
        h('div', { class: 'countdown-row' }, 'Expires in ', h('span', { id: 'chaos-countdown', class: 'countdown' }, countdown(live.expiresAt)),
          h('span', { class: 'muted' }, ` at ${formatTime(live.expiresAt)}`)),
        h('div', { class: 'muted' }, `Started ${formatTime(live.startedAt)}${live.experiment ? ` · experiment ${live.experiment}` : ''}`),
        faultList(live.faults, 'No fault set in this override.'));
    } else if (live.state === 'off') {
      liveBox = h('div', { class: 'live live-off' },
        h('div', { class: 'live-title' }, h('span', { class: 'badge ok' }, 'OFF'), ' Kill switch'),
        h('div', { class: 'muted' }, `Off since ${formatTime(live.since)} (${relative(live.since)}): nothing is injected, deploy-time flags included, until the next start.`));
    } else {
      liveBox = h('div', { class: 'live live-unset' },
        h('div', { class: 'live-title' }, h('span', { class: 'badge' }, 'UNSET'), ' No live override'),
        h('div', { class: 'muted' }, 'The deploy-time flags apply.'));
    }
    const exp = status.experiment;
    const known = (alarms && alarms.alarms) || {};
    const expBox = exp
      ? card('Running experiment',
        h('p', { class: 'hypothesis' }, exp.hypothesis ? `“${exp.hypothesis}”` : h('span', { class: 'muted' }, 'No hypothesis given.')),
        h('dl', { class: 'kv' },
          h('dt', {}, 'Id'), h('dd', {}, h('code', {}, exp.id)),
          h('dt', {}, 'Steady state'), h('dd', {}, (exp.steadyState || []).length
            ? (exp.steadyState || []).map((n) => h('span', { class: 'ss-alarm' }, n, ' ', stateChip(known[n] ? known[n].state : 'INSUFFICIENT_DATA')))
            : '–'),
          exp.stopOn ? [h('dt', {}, 'Stops on'), h('dd', {}, h('code', {}, exp.stopOn))] : null,
          h('dt', {}, 'Started'), h('dd', {}, formatTime(exp.startedAt)),
          h('dt', {}, 'Expires'), h('dd', {}, formatTime(exp.expiresAt))))
      : null;
    clear(this.statusBox).append(
      card('State',
        h('div', { class: 'armed-row' }, 'Armed: ', h('b', { class: status.armed ? 'yes' : 'no' }, status.armed ? 'yes' : 'no')),
        liveBox,
        h('h4', {}, 'Injected now'),
        h('div', { id: 'chaos-active' }, faultList(status.active, status.armed ? 'Nothing is injected.' : 'Nothing: chaos is disarmed.')),
        h('h4', {}, 'Deploy-time flags'),
        faultList(status.flags, 'None set.')),
      expBox || '');
  }

  renderJournal(journal) {
    clear(this.journal);
    if (journal && journal.error) {
      this.journal.append(errorBox(`Cannot read the journal: ${journal.error}`));
      return;
    }
    const list = Array.isArray(journal) ? [...journal] : [];
    if (!list.length) {
      this.journal.append(h('p', { class: 'muted' }, 'No experiment yet.'));
      return;
    }
    list.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
    this.journal.append(h('table', { class: 'data-table journal-table' },
      h('thead', {}, h('tr', {}, ['Started', 'Hypothesis', 'Faults', 'Ended', 'Steady state'].map((t) => h('th', {}, t)))),
      h('tbody', {}, list.map((e) => {
        const held = e.steadyStateHeld;
        return h('tr', { dataset: { experiment: e.id } },
          h('td', { class: 'nowrap', title: e.id }, formatTime(e.startedAt)),
          h('td', {}, e.hypothesis || h('span', { class: 'muted' }, '—')),
          h('td', {}, faultSummary(e.faults).map(([k, v]) => h('div', { class: 'nowrap' }, `${k}: `, h('code', {}, v)))),
          h('td', { class: 'nowrap' }, e.endedAt
            ? `${formatTime(e.endedAt)} (${END_REASONS[e.endReason] || e.endReason || ''})`
            : h('span', { class: 'badge danger' }, 'running')),
          h('td', {},
            held === true ? h('span', { class: 'chip state-ok' }, h('span', { class: 'dot' }), 'held')
              : held === false ? h('span', { class: 'chip state-alarm' }, h('span', { class: 'dot' }), 'broken')
                : h('span', { class: 'muted' }, e.endedAt ? 'unknown' : 'pending'),
            (e.breaches || []).map((b) => h('div', { class: 'breach' }, b))));
      }))));
  }
}

// ---------------------------------------------------------------------------------------------
// Functions

export class FunctionsPanel {
  constructor(section) {
    this.section = section;
    this.content = h('div', { class: 'panel-content' });
    clear(section).append(
      panelHeader('Functions', 'The emulated Lambda functions since the stack started: instances, limits and what they did.'),
      this.content);
  }

  async refresh() {
    let fns;
    try {
      fns = await api.functions();
    } catch (e) {
      clear(this.content).append(errorBox(`Cannot read the functions: ${message(e)}`));
      return;
    }
    fns = Array.isArray(fns) ? fns : [];
    const cols = [
      ['name', 'Function'], ['limit', 'Concurrency limit'], ['invocations', 'Invocations'], ['errors', 'Errors'],
      ['throttles', 'Throttles'], ['timeouts', 'Timeouts'], ['coldStarts', 'Cold starts'],
      ['peakConcurrency', 'Peak concurrency'], ['busy', 'Busy'], ['idle', 'Idle'],
    ];
    const bad = new Set(['errors', 'throttles', 'timeouts']);
    clear(this.content).append(card(null, h('table', { class: 'data-table functions-table', id: 'functions-table' },
      h('thead', {}, h('tr', {}, cols.map(([k, t]) => h('th', { class: k === 'name' ? '' : 'num' }, t)))),
      h('tbody', {}, fns.map((f) => h('tr', { dataset: { function: f.name } }, cols.map(([k]) => {
        const v = f[k];
        if (k === 'name') return h('td', { class: 'name' }, h('code', {}, v));
        return h('td', { class: `num${bad.has(k) && Number(v) > 0 ? ' bad' : ''}` }, typeof v === 'number' ? formatNumber(v) : (v ?? '–'));
      })))))));
  }
}
