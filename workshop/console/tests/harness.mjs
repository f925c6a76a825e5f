// What the browser tests share: `workshop up` on free ports with a throwaway data dir, Debian's
// Chromium driven by playwright-core, orders through the stack's API, polling and screenshots.
// Env: WORKSHOP_BIN (default <repo>/target/debug/workshop), SCREENSHOT_DIR (default
// <repo>/target/console-screenshots), CHROMIUM (default /usr/bin/chromium).

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const BIN = process.env.WORKSHOP_BIN || path.join(repo, 'target/debug/workshop');
const SHOTS = process.env.SCREENSHOT_DIR || path.join(repo, 'target/console-screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const ORDER = { customerName: 'Ada', items: [{ sku: 'BOOK-42', qty: 1, price: 9.99 }] };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Calls `check` until it returns a truthy value; fails with `what` and the last value after `ms`. */
export async function poll(what, check, { ms = 60_000, every = 1_000 } = {}) {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last && (typeof last !== 'object' || last.ok !== false)) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${ms / 1000} s waiting for ${what}; last: ${detail}`);
    }
    await sleep(every);
  }
}

function startStack() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-test-'));
  const proc = spawn(BIN, [
    'up', '--port', '0', '--console-port', '0', '--quiet', '--data-dir', dataDir,
    '--chaos-armed', '--visibility-timeout', '1',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  proc.stderr.on('data', (d) => output.push(d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no "Local stack ready" line within 60 s:\n${output.join('').slice(-4000)}`));
    }, 60_000);
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${BIN}: ${e.message} (build it with cargo build -p workshop)`));
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`workshop exited early (${code ?? signal}):\n${output.join('').slice(-4000)}`));
    });
    const lines = readline.createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      output.push(`${line}\n`);
      const m = line.match(/^Local stack ready: API (http:\/\/\S+)\s+console (http:\/\/\S+)\s+\(/);
      if (m) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        resolve({ proc, api: m[1], console: m[2], dataDir, output });
      }
    });
  });
}

async function stopStack(stack) {
  if (!stack) return;
  const { proc, dataDir } = stack;
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!done) {
      proc.kill('SIGKILL');
      await exited;
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
}

/**
 * Registers the file's before/after hooks: a stack and a 1600×1000 page on its console. The
 * returned session is filled in by `before`: {stack, browser, page, pageErrors}; `ready(session)`
 * runs once it is.
 */
export function setup(ready = () => {}) {
  const session = { stack: null, browser: null, page: null, pageErrors: [] };
  before(async () => {
    assert.ok(fs.existsSync(BIN), `no workshop binary at ${BIN}: run cargo build -p workshop`);
    assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: run scripts/console-test.sh install`);
    session.stack = await startStack();
    session.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--no-first-run', '--disable-sync', '--disable-quic'],
    });
    const page = await session.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('pageerror', (e) => session.pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') session.pageErrors.push(`console.error: ${m.text()} ${JSON.stringify(m.location())}`);
    });
    session.page = page;
    ready(session);
  });
  after(async () => {
    try {
      if (session.browser) await session.browser.close();
    } finally {
      const stack = session.stack;
      session.stack = null;
      await stopStack(stack);
    }
  });
  // Never leave the stack running, whatever stops this process.
  process.on('exit', () => {
    if (session.stack && session.stack.proc.exitCode === null) session.stack.proc.kill('SIGKILL');
  });
  return session;
}

/** POST /orders on the stack's API; the new order's id. */
export async function createOrder(stack, order = ORDER) {
  const res = await fetch(`${stack.api}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order),
  });
  const body = await res.json();
  assert.equal(res.status, 201, `POST /orders: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

export async function orderStatus(stack, id) {
  const res = await fetch(`${stack.api}/orders/${id}`);
  const body = await res.json();
  return body.status;
}

/** Waits until every order of `ids` has `status`. */
export function ordersIn(stack, ids, status, ms = 60_000) {
  return poll(`the orders ${status}`, async () => {
    const statuses = await Promise.all(ids.map((id) => orderStatus(stack, id)));
    return statuses.every((s) => s === status) ? statuses : { ok: false, statuses };
  }, { ms });
}

/** A control-plane call (`/api/...` on the console port): the parsed answer. */
export async function control(stack, method, route, body) {
  const res = await fetch(`${stack.console}${route}`, {
    method,
    // The control plane takes a change only as JSON, body or not.
    headers: method === 'GET' ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${route}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export async function openTab(session, tab) {
  const { page, stack } = session;
  await page.goto(`${stack.console}/#/${tab}`);
  await page.waitForSelector(`#tabs a[data-tab][aria-current="page"][href="#/${tab.split(/[/?]/)[0]}"]`);
}

export async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
