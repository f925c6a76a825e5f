// The console in a real browser against the real binary: `workshop up` on free ports, orders
// through its API, Debian's Chromium driven by playwright-core (tests/harness.mjs). Run with
// `node --test` (see scripts/console-test.sh).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  setup, poll, sleep, createOrder as postOrder, ordersIn, openTab as open, shot as screenshot, control,
} from './harness.mjs';

let page;
const session = setup((s) => {
  page = s.page;
});

const createOrder = () => postOrder(session.stack);
const openTab = (tab) => open(session, tab);
const shot = (name) => screenshot(page, name);

// --- helpers -------------------------------------------------------------------------------------

/** Every widget of the visible dashboard: {id, title, type, view, status, error}. */
function widgets(dashboard) {
  return page.$$eval(`#dashboard-${dashboard} [data-widget]`, (els) => els.map((el) => ({
    id: el.dataset.widget,
    title: el.querySelector('.widget-title')?.textContent ?? '',
    type: el.dataset.type,
    view: el.dataset.view,
    status: el.dataset.status,
    error: el.querySelector('.widget-error')?.textContent ?? null,
  })));
}

/** Waits until the dashboard has widgets and none is still loading. */
async function settled(dashboard, ms = 30_000) {
  return poll(`every ${dashboard} widget to finish loading`, async () => {
    const ws = await widgets(dashboard);
    const loading = ws.filter((w) => w.status === 'loading').map((w) => w.id);
    return ws.length && !loading.length ? ws : { ok: false, loading };
  }, { ms, every: 500 });
}

/** Waits until each titled widget (exact title) has data-status ok. */
async function widgetsOk(dashboard, titles, ms = 60_000) {
  return poll(`${dashboard} widgets with data: ${titles.join(', ')}`, async () => {
    const ws = await widgets(dashboard);
    const missing = titles.filter((t) => !ws.some((w) => w.title === t));
    assert.deepEqual(missing, [], `no widget titled ${missing.join(', ')} on ${dashboard}`);
    const notOk = ws.filter((w) => titles.includes(w.title) && w.status !== 'ok')
      .map((w) => `${w.title}=${w.status}${w.error ? ` (${w.error})` : ''}`);
    return notOk.length ? { ok: false, notOk } : ws;
  }, { ms, every: 2_000 });
}

// --- the outcomes --------------------------------------------------------------------------------

const OPERATIONS_WITH_DATA = [
  'API requests / min', 'API 5xx %', 'API p99 latency (ms)', 'Orders created / min', 'Orders processed / min',
  'Requests and errors', 'Error rates (%)', 'Latency (ms)',
  'Invocations', 'create-order duration (ms)', 'order-processor duration (ms)', 'Concurrent executions',
  'Cold starts (all functions)',
  'Queue depth', 'Messages sent / received / deleted',
];

const BUSINESS_WITH_DATA = ['Orders created', 'Orders processed', 'Orders processed by status'];

test('after a few orders the dashboards show live data', { timeout: 120_000 }, async () => {
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await createOrder());
  await openTab('operations');
  assert.equal(await page.textContent('h1'), 'Order kit — local console');
  await page.waitForSelector(`#api-url a[href="${session.stack.api}"]`);
  const ws = await widgetsOk('operations', OPERATIONS_WITH_DATA, 75_000);
  assert.ok(ws.some((w) => w.view === 'singleValue' && w.status === 'ok'));
  assert.ok(ws.some((w) => w.view === 'timeSeries' && w.status === 'ok'));
  // The charts are uPlot canvases, not placeholders.
  const canvases = await page.$$eval('#dashboard-operations [data-view="timeSeries"][data-status="ok"] canvas', (c) => c.length);
  assert.ok(canvases >= 10, `only ${canvases} charts drawn`);
  await settled('operations');
  await shot('operations-calm.png');

  await openTab('business');
  await widgetsOk('business', BUSINESS_WITH_DATA, 60_000);
  // Processed before the next test turns failures on, so only its orders reach the DLQ.
  await ordersIn(session.stack, ids, 'CONFIRMED');
});

test('every number on the dashboards is right: headline totals, cold starts, stacks, periods, names',
  { timeout: 150_000 }, async () => {
    // A rejected order too, so that every headline total of the business dashboard has data.
    const bad = await fetch(`${session.stack.api}/orders`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [] }),
    });
    assert.equal(bad.status, 400);

    // The six headline numbers: each a number, none the "no data" dash.
    await openTab('business');
    await poll('a number in every business single value', async () => {
      await page.click('#refresh');
      await settled('business');
      const values = await page.$$eval('#dashboard-business [data-view="singleValue"]', (els) => els.map((el) => ({
        title: el.querySelector('.widget-title')?.textContent ?? '',
        numbers: [...el.querySelectorAll('.sv-number')].map((n) => n.textContent),
      })));
      const dashes = values.filter((v) => !v.numbers.length || v.numbers.some((n) => !/\d/.test(n)));
      return values.length >= 6 && !dashes.length ? values : { ok: false, values: values.length, dashes };
    }, { ms: 60_000, every: 2_000 });

    // Cold starts by function count what Lambda counts (a REPORT with an init duration per
    // new instance), the same figure as the Functions page.
    await openTab('operations');
    const pools = await control(session.stack, 'GET', '/api/functions');
    const cold = await poll('the cold starts table to match the pools', async () => {
      await page.click('#refresh');
      await settled('operations');
      const rows = await page.$$eval('#dashboard-operations [data-widget]', (els) => {
        const el = els.find((e) => e.querySelector('.widget-title')?.textContent === 'Cold starts by function');
        return el ? [...el.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)) : null;
      });
      if (!rows || !rows.length) return { ok: false, rows };
      const shown = Object.fromEntries(rows.map(([group, n]) => [group.split('/').pop(), Number(n)]));
      const want = Object.fromEntries(pools.filter((f) => f.coldStarts > 0).map((f) => [f.name, f.coldStarts]));
      return JSON.stringify(shown, Object.keys(want).sort()) === JSON.stringify(want, Object.keys(want).sort())
        && Object.keys(shown).length === Object.keys(want).length ? shown : { ok: false, shown, want };
    }, { ms: 30_000, every: 2_000 });
    assert.ok(cold['create-order'] >= 1, JSON.stringify(cold));

    // A stacked series with no data is not drawn on top of another's value: one Found lookup
    // must not read as "1 NotFound".
    const stacked = await page.evaluate(async () => {
      const { alignSeries } = await import('/widgets/metric-timeseries.js');
      const found = { timestamps: [0, 60_000], values: [1, null] };
      const notFound = { timestamps: [0, 60_000], values: [null, null] };
      return alignSeries([found, notFound], true).plotted;
    });
    assert.deepEqual(stacked, [[1, null], [null, null]]);

    // A 15-minute range draws charts at 10 s periods (a fresh stack's lines, not one dot),
    // except where a finer period changes the numbers' meaning: a threshold line keeps its
    // alarm's period. Each chart says its period.
    const periods = await page.$$eval('#dashboard-operations [data-view="timeSeries"]', (els) => els.map((el) => ({
      title: el.querySelector('.widget-title')?.textContent ?? '',
      period: el.dataset.period,
      note: el.querySelector('.widget-period')?.textContent ?? '',
    })));
    assert.ok(periods.some((w) => w.period === '10' && w.note === '10 s'), JSON.stringify(periods));
    const latency = periods.find((w) => w.title === 'Latency (ms)');
    assert.equal(latency && latency.period, '60', 'the chart with the p99 alarm line keeps 60 s');
    assert.ok(periods.every((w) => w.note), 'every chart names its period');

    // Names are not cut: alarm tiles, legend labels and single-value labels show in full.
    const cut = await page.$$eval('#dashboard-operations .alarm-name, #dashboard-operations .lg-label, #dashboard-operations .sv-label',
      (els) => els.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent));
    assert.deepEqual(cut, [], 'names cut off');
    await shot('operations-numbers.png');
  });

test('processor failures from the console fill the DLQ, fire its alarm, and a redrive recovers the orders',
  { timeout: 200_000 }, async () => {
    await openTab('chaos');
    await page.waitForSelector('#chaos[data-armed="true"]');
    assert.equal(await page.isVisible('#chaos-disarmed'), false);
    await page.fill('[name="processorFailureRate"]', '1');
    await page.fill('[name="hypothesis"]', 'orders that keep failing end in the DLQ; none is lost');
    await page.click('#chaos-on');
    await page.waitForSelector('#chaos[data-live="on"] #chaos-countdown');
    assert.equal(await page.isVisible('#chaos-error'), false, await page.textContent('#chaos-error'));
    const c1 = await page.textContent('#chaos-countdown');
    assert.match(c1, /^1[45]:\d\d$/, `countdown ${c1}`);
    await sleep(2_100);
    const c2 = await page.textContent('#chaos-countdown');
    assert.notEqual(c2, c1, 'the countdown ticks');
    await shot('chaos.png');

    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await createOrder());

    await openTab('operations');
    await poll('the dlq-not-empty alarm tile in ALARM', async () =>
      page.$('#dashboard-operations [data-alarm="dlq-not-empty"][data-state="ALARM"]'), { ms: 120_000, every: 2_000 });
    await widgetsOk('operations', ['Messages in DLQ', 'DLQ depth'], 30_000);
    await settled('operations');
    await shot('operations-alarm.png');

    await openTab('dlq');
    const listed = await poll('the 3 failed orders in the DLQ panel', async () => {
      await page.click('#refresh');
      await sleep(500);
      const texts = await page.$$eval('#dlq .dlq-message', (els) => els.map((e) => e.textContent));
      const found = ids.filter((id) => texts.some((t) => t.includes(id)));
      return found.length === 3 && texts.length === 3 ? texts : { ok: false, messages: texts.length, found: found.length };
    }, { ms: 30_000, every: 1_000 });
    assert.equal(listed.length, 3);
    assert.equal(await page.textContent('#dlq-count'), '3');
    await shot('dlq.png');

    await openTab('chaos');
    await page.click('#chaos-off');
    await page.waitForSelector('#chaos[data-live="off"]');
    assert.equal(await page.isVisible('#chaos-error'), false, await page.textContent('#chaos-error'));
    await page.waitForSelector('#chaos-journal tr[data-experiment]');

    await openTab('dlq');
    await page.waitForSelector('#dlq .dlq-message');
    await page.click('#dlq-redrive');
    await page.waitForSelector('#dlq-result[data-moved]');
    assert.equal(await page.getAttribute('#dlq-result', 'data-moved'), '3', await page.textContent('#dlq-result'));
    await page.waitForSelector('#dlq-empty');

    await ordersIn(session.stack, ids, 'CONFIRMED');
    // The console agrees: nothing in the DLQ, no DLQ badge.
    await page.click('#refresh');
    await page.waitForSelector('#dlq-empty');
    assert.equal(await page.isVisible('#dlq-count'), false);
  });

test('every widget of both dashboards renders, without an error placeholder or a page error',
  { timeout: 90_000 }, async () => {
    for (const dashboard of ['operations', 'business']) {
      await openTab(dashboard);
      const ws = await settled(dashboard);
      assert.ok(ws.length > 10, `${dashboard}: ${ws.length} widgets`);
      const bad = ws.filter((w) => w.status !== 'ok' && w.status !== 'empty')
        .map((w) => `${w.id} "${w.title}" ${w.type}/${w.view}: ${w.status}${w.error ? ` (${w.error})` : ''}`);
      assert.deepEqual(bad, [], `${dashboard} widgets not ok/empty`);
      assert.equal(await page.$$eval('.widget-error', (e) => e.length), 0);
      for (const type of dashboard === 'operations' ? ['metric', 'text', 'alarm', 'log'] : ['metric', 'text']) {
        assert.ok(ws.some((w) => w.type === type), `${dashboard} has no ${type} widget`);
      }
    }
    for (const tab of ['alarms', 'functions']) {
      await openTab(tab);
      await page.waitForSelector(`#${tab} table`);
    }
    assert.ok(await page.$('#functions tr[data-function="order-processor"]'));
    assert.deepEqual(session.pageErrors, [], 'page errors');
  });
