// The console's Traces page against the real binary (tests/harness.mjs): an order's trace in
// the list, its waterfall and log lines, the service map, and a poisoned order's failed spans
// with the injected fault. Run with `node --test` (see scripts/console-test.sh).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  setup, poll, createOrder, ordersIn, control, openTab, shot, ORDER,
} from './harness.mjs';

let page;
const session = setup((s) => {
  page = s.page;
});

const POISON = 'POISON-7';

/** The map's boxes as "name (kind)". */
const mapNodes = () => page.$$eval('#service-map [data-node-id]', (els) => els.map((e) => `${e.dataset.name} (${e.dataset.kind})`));

/** The waterfall's rows: {name, kind, status, depth, id}. */
const waterfallRows = () => page.$$eval('#waterfall tr.wf-row', (els) => els.map((e) => ({
  id: e.dataset.spanId, name: e.dataset.name, kind: e.dataset.kind, status: e.dataset.status, depth: Number(e.dataset.depth),
})));

/** Refreshes until `check` (on the page) holds, so spans flushed after the first look count. */
function refreshUntil(what, check, ms = 60_000) {
  return poll(what, async () => {
    const r = await check();
    if (!r || r.ok === false) await page.click('#refresh');
    return r;
  }, { ms, every: 1_000 });
}

/** The Traces tab, unfiltered, once its list is drawn (so the form is not refilled under us). */
async function openTraces() {
  await openTab(session, 'traces');
  await page.waitForSelector('#traces-list[data-filter="#/traces"]', { state: 'attached' });
}

/** Filters the list by an order id from the form and opens the trace of its creation (the
 * order's reads are traces of their own). */
async function openOrderTrace(orderId, { errorsOnly = false } = {}) {
  await openTraces();
  await page.fill('#traces-order', orderId);
  if (errorsOnly) await page.check('#traces-errors');
  await page.press('#traces-order', 'Enter');
  const filter = `#/traces?order_id=${encodeURIComponent(orderId)}${errorsOnly ? '&error=true' : ''}`;
  await page.waitForSelector(`#traces-list[data-filter="${filter}"]`, { state: 'attached' });
  const row = `#traces-table tr[data-orders~="${orderId}"][data-root="POST /orders"]`;
  await refreshUntil(`the trace of order ${orderId} listed`, () => page.$(row));
  // Only the order's traces are listed.
  const orders = await page.$$eval('#traces-table tr.trace-row', (els) => els.map((e) => e.dataset.orders));
  assert.ok(orders.length >= 1 && orders.every((o) => o.split(' ').includes(orderId)), `listed: ${orders}`);
  const traceId = await page.getAttribute(row, 'data-trace-id');
  await page.click(`${row} td:nth-child(4)`); // the row, not its link
  await page.waitForSelector(`#trace-view[data-trace-ids~="${traceId}"] #waterfall`);
  assert.equal(await page.evaluate(() => location.hash), `#/traces/${traceId}`);
  return { traceId, row };
}

test('an order\'s trace: listed by its order id, its waterfall nests the message under its sender, its log lines carry the trace id; the map shows the flow',
  { timeout: 150_000 }, async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await createOrder(session.stack));
    await ordersIn(session.stack, ids, 'CONFIRMED');

    await openTraces();
    const wanted = ['API Gateway (api)', 'create-order (function)', 'order-publisher (function)', 'order-processor (function)', 'orders (table)', 'orders (queue)'];
    await refreshUntil('the service map with the order flow', async () => {
      const nodes = await mapNodes();
      const missing = wanted.filter((n) => !nodes.includes(n));
      return missing.length ? { ok: false, missing, nodes } : nodes;
    });
    // The order's two hops: through the outbox to the publisher, through the queue to the processor.
    for (const [source, target] of [['function:create-order', 'function:order-publisher'], ['function:order-publisher', 'queue:orders']]) {
      assert.ok(await page.$(`#service-map .map-edge[data-source="${source}"][data-target="${target}"]`), `an arrow from ${source} to ${target}`);
    }
    const edge = await page.$('#service-map .map-edge[data-source="queue:orders"][data-target="function:order-processor"]');
    assert.ok(edge, 'an arrow from the orders queue to the processor');
    assert.match(await edge.$eval('title', (t) => t.textContent), /^orders \(SQS queue\) → order-processor \(Lambda function\): \d+ requests?, 0 errors/);
    await refreshUntil('the 3 orders in the list', async () => {
      const orders = await page.$$eval('#traces-table tr.trace-row', (els) => els.map((e) => e.dataset.orders));
      return ids.every((id) => orders.some((o) => o.includes(id))) ? orders : { ok: false, orders };
    });
    await shot(page, 'traces-list.png');

    // The map's function box filters the list, from the keyboard too.
    await page.focus('#service-map [data-node-id="function:create-order"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#service-map [data-node-id="function:create-order"][aria-pressed="true"]', { state: 'attached' });
    assert.equal(await page.inputValue('#traces-function'), 'create-order');
    const fns = await page.$$eval('#traces-table tr.trace-row td:nth-child(5)', (els) => els.map((e) => e.textContent));
    assert.ok(fns.length && fns.every((f) => f.includes('create-order')), `functions: ${fns}`);

    const order = ids[0];
    const { traceId } = await openOrderTrace(order);
    const rows = await refreshUntil('the waterfall with the processor\'s spans', async () => {
      const r = await waterfallRows();
      return r.some((x) => x.name === 'process orders') && r.some((x) => x.name === 'UPDATE orders') ? r : { ok: false, r };
    });
    const names = rows.map((r) => r.name);
    for (const n of ['POST /orders', 'create-order', 'INSERT orders', 'publish_order', 'send orders', 'process orders', 'UPDATE orders']) {
      assert.ok(names.includes(n), `no span ${n} in ${names}`);
    }
    assert.equal(rows[0].name, 'POST /orders');
    assert.equal(rows[0].depth, 0);
    // The publish hangs under the create (the outbox entry kept its context), the send under
    // the publish, and the message's processing under the send (its parent), one level deeper.
    const publish = rows.findIndex((r) => r.name === 'publish_order');
    const create = rows.findIndex((r) => r.name === 'create_order');
    assert.ok(rows[publish].depth === rows[create].depth + 1, JSON.stringify(rows));
    const send = rows.findIndex((r) => r.name === 'send orders');
    const proc = rows.findIndex((r) => r.name === 'process orders');
    assert.ok(proc === send + 1 && rows[proc].depth === rows[send].depth + 1, JSON.stringify(rows));
    assert.equal(rows.filter((r) => r.status === 'ERROR').length, 0);

    const logs = await page.$$eval('#trace-logs tr.log-row', (els) => els.map((e) => ({ trace: e.dataset.traceId, span: e.dataset.spanId, text: e.textContent })));
    assert.ok(logs.length >= 3, `${logs.length} log lines`);
    assert.ok(logs.every((l) => l.trace === traceId), 'every line carries the trace id');
    assert.ok(logs.some((l) => l.text.includes('order created') && l.text.includes('create-order')));
    assert.ok(logs.some((l) => l.text.includes('order processed') && l.text.includes('order-processor')));

    // From the keyboard: the row under "send orders" is its message's processing.
    await page.focus(`#waterfall tr.wf-row[data-span-id="${rows[send].id}"] .wf-select`);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const processId = rows[proc].id;
    await page.waitForSelector(`#waterfall tr.wf-row.selected[data-span-id="${processId}"]`);
    await page.waitForSelector(`#span-detail [data-span-id="${processId}"]`);
    assert.equal(await page.textContent('#span-detail tr[data-attr="messaging.destination.name"] td'), 'orders');
    assert.equal(await page.textContent('#span-detail tr[data-attr="order_id"] td'), order);
    const selected = await page.$$eval('#trace-logs tr.log-row.selected', (els) => els.map((e) => e.dataset.spanId));
    assert.ok(selected.length >= 1 && selected.every((s) => s === processId), `highlighted: ${selected}`);
    assert.equal(await page.evaluate(() => location.hash), `#/traces/${traceId}?span=${processId}`);
    await shot(page, 'traces-waterfall.png');

    // The span's log lines, alone.
    assert.equal(await page.textContent('#span-show-logs'), `${selected.length} line${selected.length === 1 ? '' : 's'} of this span`);
    await page.click('#span-show-logs');
    assert.equal(await page.isChecked('#trace-logs-only'), true);
    const shown = await page.$$eval('#trace-logs tr.log-row', (els) => els.filter((e) => !e.hidden).map((e) => e.dataset.spanId));
    assert.deepEqual(shown, selected);

    // The hash is a link: it opens the same trace with the same span selected.
    await page.goto(`${session.stack.console}/#/traces/${traceId}?span=${processId}`);
    await page.waitForSelector(`#waterfall tr.wf-row.selected[data-span-id="${processId}"]`);
    assert.deepEqual(session.pageErrors, [], 'page errors');
  });

test('a poisoned order: its failed deliveries are red spans with the chaos.fault event, then the move to the DLQ',
  { timeout: 150_000 }, async () => {
    await control(session.stack, 'PUT', '/api/chaos', {
      faults: { poisonSku: POISON }, durationSeconds: 300, hypothesis: 'a poisoned order ends in the DLQ; its trace says why',
    });
    let order;
    try {
      order = await createOrder(session.stack, { ...ORDER, items: [{ sku: POISON, qty: 1, price: 4.5 }] });
      // Three failed deliveries, then the redrive policy moves the message (visibility timeout 1 s).
      await poll('the poisoned order\'s move to the DLQ in its trace', async () => {
        const t = await control(session.stack, 'GET', `/api/trace?id=${order}`).catch(() => null);
        const names = t ? t.spans.map((sp) => sp.name) : [];
        return names.includes('send orders-dlq') ? names : { ok: false, names };
      }, { ms: 60_000 });
    } finally {
      await control(session.stack, 'DELETE', '/api/chaos');
    }

    const { row } = await openOrderTrace(order, { errorsOnly: true });
    await page.click('#traces-back');
    await page.waitForSelector(row);
    assert.equal(await page.isChecked('#traces-errors'), true, 'the filters survive the way back');
    assert.match(await page.textContent(row), /3 errors.*PoisonMessage/);
    await page.click(`${row} a.trace-root`);
    await page.waitForSelector('#waterfall');

    const rows = await waterfallRows();
    const failed = rows.filter((r) => r.status === 'ERROR');
    assert.equal(failed.length, 3, JSON.stringify(rows));
    assert.ok(failed.every((r) => r.name === 'process orders' && r.kind === 'consumer'));
    assert.ok(rows.some((r) => r.name === 'send orders-dlq' && r.kind === 'producer'));
    assert.equal(await page.$$eval('#waterfall tr.wf-row.error .wf-event.fault', (e) => e.length), 3);

    await page.click(`#waterfall tr.wf-row[data-span-id="${failed[0].id}"] .wf-select`);
    const fault = await page.waitForSelector('#span-detail .span-event.fault[data-event="chaos.fault"]');
    assert.ok(await fault.isVisible());
    const text = await fault.textContent();
    assert.match(text, /Injected fault/);
    assert.match(text, /PoisonMessage/);
    assert.match(text, new RegExp(`poison SKU ${POISON}`));
    assert.match(await page.textContent('#span-detail'), /Error/);
    const lines = await page.$$eval('#trace-logs tr.log-row.selected', (els) => els.map((e) => e.textContent));
    assert.ok(lines.some((l) => l.includes('ERROR') && l.includes('order-processor')), `highlighted: ${lines}`);
    await shot(page, 'traces-fault.png');

    // The map: the queue's arrow to the processor is red, the DLQ hangs off the queue.
    await openTab(session, 'traces');
    // (SVG groups have no box of their own: attached, not visible.)
    await page.waitForSelector('#service-map .map-edge.error[data-source="queue:orders"][data-target="function:order-processor"]', { state: 'attached' });
    await page.waitForSelector('#service-map .map-edge[data-source="queue:orders"][data-target="queue:orders-dlq"]', { state: 'attached' });
    assert.ok((await mapNodes()).includes('orders-dlq (dlq)'));
    assert.deepEqual(session.pageErrors, [], 'page errors');
  });
