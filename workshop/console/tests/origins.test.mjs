// Pages of other origins, in a real browser: one can call the order API as it could on AWS
// (CORS as the template configures it), and none can drive the control plane (a cross-site
// form or a no-cors fetch is refused and changes nothing). The page is served by a server of
// this test on its own loopback port: another origin than the API's and the console's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setup, poll, control, ORDER } from './harness.mjs';

const session = setup();
let site;
let origin;

before(async () => {
  site = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>another site</title><body>another site</body>');
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${site.address().port}`;
});

after(() => new Promise((r) => site.close(r)));

test('a page on another origin creates, reads and lists orders through CORS, as on AWS', async () => {
  const { page, stack } = session;
  await page.goto(`${origin}/`);
  const seen = await page.evaluate(async ({ api, order }) => {
    const created = await fetch(`${api}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-correlation-id': 'from-another-site' },
      body: JSON.stringify(order),
    });
    const location = created.headers.get('location');
    const body = await created.json();
    const got = await fetch(new URL(location, api));
    const listed = await fetch(`${api}/orders?limit=5`);
    let refused = null;
    try {
      await fetch(`${api}/orders`, { headers: { 'x-evil': '1' } });
    } catch (e) {
      refused = e.name;
    }
    return {
      status: created.status,
      location,
      id: body.id,
      correlation: created.headers.get('x-correlation-id'),
      got: got.status,
      gotId: (await got.json()).id,
      listed: listed.status,
      ids: (await listed.json()).orders.map((o) => o.id),
      refused,
    };
  }, { api: stack.api, order: ORDER });
  assert.equal(seen.status, 201);
  assert.equal(seen.location, `/orders/${seen.id}`);
  assert.equal(seen.correlation, 'from-another-site');
  assert.deepEqual([seen.got, seen.gotId], [200, seen.id]);
  assert.equal(seen.listed, 200);
  assert.ok(seen.ids.includes(seen.id), JSON.stringify(seen));
  // A header the configuration does not allow fails its preflight, as API Gateway fails it.
  assert.equal(seen.refused, 'TypeError');
});

test('a page on another origin cannot switch chaos or move the DLQ, and the refusals are counted', async () => {
  const { page, stack } = session;
  const before = (await control(stack, 'GET', '/api/about')).refused;
  const chaosBefore = await control(stack, 'GET', '/api/chaos');
  await page.goto(`${origin}/`);
  // What a hostile page can send without a preflight: a form POST and no-cors fetches.
  const put = await page.evaluate(async (consoleUrl) => {
    const start = JSON.stringify({ faults: { processorFailureRate: 1 }, durationSeconds: 300 });
    await fetch(`${consoleUrl}/api/dlq/redrive`, {
      method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}',
    });
    // A PUT needs a preflight, which the control plane never grants: the browser refuses to
    // send it (no-cors) or sends only the OPTIONS (cors).
    const tries = [];
    for (const mode of ['no-cors', 'cors']) {
      try {
        await fetch(`${consoleUrl}/api/chaos`, {
          method: 'PUT', mode, headers: { 'content-type': 'application/json' }, body: start,
        });
        tries.push('sent');
      } catch (e) {
        tries.push(e.name);
      }
    }
    return tries;
  }, stack.console);
  assert.deepEqual(put, ['TypeError', 'TypeError']);
  await Promise.all([
    page.waitForNavigation(),
    page.evaluate((consoleUrl) => {
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = `${consoleUrl}/api/dlq/redrive`;
      form.innerHTML = '<input name="go" value="1">';
      document.body.append(form);
      form.submit();
    }, stack.console),
  ]);
  assert.match(await page.textContent('body'), /FORBIDDEN_ORIGIN/);
  const refused = await poll('the refusals counted', async () => {
    const now = (await control(stack, 'GET', '/api/about')).refused;
    return now.FORBIDDEN_ORIGIN >= before.FORBIDDEN_ORIGIN + 2 ? now : { ok: false, now };
  });
  // Both POSTs (the fetch and the form) carried the page's Origin.
  assert.equal(refused.FORBIDDEN_ORIGIN, before.FORBIDDEN_ORIGIN + 2, JSON.stringify(refused));
  assert.equal((await control(stack, 'GET', '/api/chaos')).active, chaosBefore.active);
  assert.equal(chaosBefore.active, null);
});
