// A minimal Lambda Runtime API client, standing in for the Node.js managed runtime's
// interface client so the harness can run the Node peer under the same Runtime API emulator
// as the Rust bootstraps. Node built-ins only: nothing here should weigh on the cold start or
// the memory being measured beyond what the managed runtime itself would add.
//
// Env: AWS_LAMBDA_RUNTIME_API (host:port), _HANDLER (`path/to/module.export`, relative to
// bench/node-peer/), and optionally AWS_LAMBDA_FUNCTION_NAME / _VERSION / _MEMORY_SIZE,
// AWS_LAMBDA_LOG_GROUP_NAME / _STREAM_NAME for the context.

import http from 'node:http';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const API = process.env.AWS_LAMBDA_RUNTIME_API;
const HANDLER = process.env._HANDLER;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASE = '/2018-06-01/runtime';

if (!API) {
  console.error('AWS_LAMBDA_RUNTIME_API is not set (host:port of the Runtime API)');
  process.exit(1);
}
const colon = API.lastIndexOf(':');
const HOST = colon > 0 ? API.slice(0, colon).replace(/^\[|\]$/g, '') : API;
const PORT = colon > 0 ? Number(API.slice(colon + 1)) : 80;
// One connection reused for every call, as the managed runtime does; no socket timeout,
// because /next is a long poll that may wait indefinitely for the next event.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, urlPath, body, extraHeaders = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const headers = payload
      ? { 'content-type': 'application/json', 'content-length': payload.length, ...extraHeaders }
      : extraHeaders;
    const req = http.request(
      { host: HOST, port: PORT, method, path: urlPath, agent, headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode, headers: res.headers, body: text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

// Lambda's error shape; the type also goes in a header, as the managed runtime sends it.
function postError(urlPath, err) {
  const e = err instanceof Error ? err : new Error(String(err));
  const errorType = e.name || 'Error';
  const body = JSON.stringify({
    errorMessage: e.message,
    errorType,
    stackTrace: (e.stack ?? '').split('\n').slice(1).map((l) => l.trim()),
  });
  return request('POST', urlPath, body, { 'lambda-runtime-function-error-type': errorType });
}

function named(err, name) {
  const e = err instanceof Error ? err : new Error(String(err));
  e.name = name;
  return e;
}

// `src/handlers/createOrder.handler`: the module path (extension optional, as the managed
// runtime allows), then the export after the last dot.
async function loadHandler() {
  const dot = HANDLER ? HANDLER.lastIndexOf('.') : -1;
  if (dot <= 0) {
    const e = new Error(`_HANDLER ${JSON.stringify(HANDLER)} is not module.export`);
    throw named(e, 'Runtime.MalformedHandlerName');
  }
  const modulePath = HANDLER.slice(0, dot);
  const exportName = HANDLER.slice(dot + 1);
  const base = path.resolve(ROOT, modulePath);
  const file = ['', '.mjs', '.js', '.cjs']
    .map((ext) => base + ext)
    .find((f) => path.extname(f) && existsSync(f));
  if (!file) {
    const e = new Error(`cannot find module ${modulePath} under ${ROOT}`);
    throw named(e, 'Runtime.ImportModuleError');
  }
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    // Keep the real cause (a missing package, a syntax error) but type it as Lambda does.
    const syntax = err instanceof SyntaxError;
    throw named(err, syntax ? 'Runtime.UserCodeSyntaxError' : 'Runtime.ImportModuleError');
  }
  if (typeof mod[exportName] !== 'function') {
    const e = new Error(`${modulePath}.${exportName} is not a function`);
    throw named(e, 'Runtime.HandlerNotFound');
  }
  return mod[exportName];
}

let handler;
try {
  handler = await loadHandler();
} catch (err) {
  console.error(`init failed: ${err.name}: ${err.message}`);
  await postError(`${BASE}/init/error`, err).catch(() => {});
  process.exit(1);
}

const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'create-order-node';

for (;;) {
  const next = await request('GET', `${BASE}/invocation/next`);
  if (next.status !== 200) {
    // The Runtime API going away ends the sandbox; the managed runtime exits too.
    console.error(`GET /invocation/next answered ${next.status}: ${next.body}`);
    process.exit(1);
  }
  const h = next.headers;
  const requestId = h['lambda-runtime-aws-request-id'];
  const deadline = Number(h['lambda-runtime-deadline-ms'] ?? 0);
  const traceId = h['lambda-runtime-trace-id'];
  // The X-Ray SDK and loggers read the trace id from here; a stale one must not leak.
  if (traceId) process.env._X_AMZN_TRACE_ID = traceId;
  else delete process.env._X_AMZN_TRACE_ID;

  const context = {
    awsRequestId: requestId,
    invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
    functionName,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    callbackWaitsForEmptyEventLoop: true,
  };

  let result;
  try {
    const event = JSON.parse(next.body);
    result = await handler(event, context);
  } catch (err) {
    console.error(`invocation ${requestId} failed: ${err?.name}: ${err?.message}`);
    await postError(`${BASE}/invocation/${requestId}/error`, err);
    continue;
  }
  const response = JSON.stringify(result ?? null);
  await request('POST', `${BASE}/invocation/${requestId}/response`, response);
}
