// POST /orders, written the way the Node.js original is: Node 22 style, AWS SDK v3, ES
// modules, clients built once per instance. It exists to be measured next to the Rust
// create-order (cold start, first invocation, peak memory), so it does the same work on the
// same table and queue: validate, PutItem, SendMessage, answer 201.

import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';

// Region, credentials and AWS_ENDPOINT_URL (moto server) come from the environment; the
// pinned SDK reads AWS_ENDPOINT_URL itself, as the Rust aws-config does.
const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const sqs = new SQSClient({});

const TABLE = process.env.ORDERS_TABLE;
const QUEUE_URL = process.env.ORDERS_QUEUE_URL;
const SERVICE = process.env.SERVICE_NAME || 'orders';

// The Rust contract (functions/orders/src/validation.rs, settings.rs).
const MAX_BODY_BYTES = 64 * 1024;
const CUSTOMER_NAME_MAX = 200;
const ITEMS_MAX = 100;
const SKU_MAX = 64;
const QTY_MAX = 10_000;
const PRICE_MAX = 1_000_000;

// The table design of settings::table, so the Rust readers and the status index see these
// orders like their own.
const ORDER_PREFIX = 'ORDER#';
const LIST_SHARD_PREFIX = 'ORDERS';
const SHARDS = 32;

// settings::table::shard_of: the id as a 128-bit number modulo SHARDS, which (32 dividing
// 256) is its last byte modulo SHARDS. Keys are zero-padded to two digits.
const shardOf = (id) => String(parseInt(id.slice(-2), 16) % SHARDS).padStart(2, '0');

let coldStart = true;

export const handler = async (event, context) => {
  const started = Date.now();
  const cold = coldStart;
  coldStart = false;
  const headers = lowerCaseKeys(event.headers);
  const correlationId =
    validCorrelationId(headers['x-correlation-id']) ??
    event.requestContext?.requestId ??
    context.awsRequestId;
  const log = {
    service: SERVICE,
    function_name: context.functionName,
    function_request_id: context.awsRequestId,
    xray_trace_id: process.env._X_AMZN_TRACE_ID ?? '',
    cold_start: cold,
    correlation_id: correlationId,
  };

  const parsed = parseNewOrder(event);
  if (parsed.error) {
    logLine('INFO', 'order rejected', { ...log, reason: parsed.error.error });
    return respond(parsed.status, parsed.error, correlationId);
  }

  const now = new Date().toISOString();
  const id = randomUUID();
  const order = {
    id,
    customerName: parsed.order.customerName,
    items: parsed.order.items,
    status: 'PENDING',
    total: parsed.order.totalCents / 100,
    itemCount: parsed.order.items.reduce((sum, line) => sum + line.qty, 0),
    createdAt: now,
    updatedAt: now,
  };

  try {
    await ddb.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          pk: ORDER_PREFIX + id,
          ...order,
          createdAtId: `${now}#${id}`,
          statusShard: `${order.status}#${shardOf(id)}`,
          listShard: `${LIST_SHARD_PREFIX}#${shardOf(id)}`,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: QUEUE_URL,
        MessageBody: JSON.stringify({ orderId: id, createdAt: now, correlationId }),
        MessageAttributes: {
          orderId: { DataType: 'String', StringValue: id },
          correlationId: { DataType: 'String', StringValue: correlationId },
        },
      }),
    );
    logLine('INFO', 'order created', {
      ...log,
      order_id: id,
      total: order.total,
      lines: order.items.length,
      message_id: sent.MessageId,
      duration_ms: Date.now() - started,
    });
  } catch (err) {
    logLine('ERROR', 'could not create the order', {
      ...log,
      order_id: id,
      error: `${err.name}: ${err.message}`,
    });
    return respond(
      500,
      { error: 'the order could not be created; try again', code: 'DEPENDENCY_FAILED' },
      correlationId,
    );
  }

  return respond(201, order, correlationId, { location: `/orders/${id}` });
};

function respond(statusCode, body, correlationId, extraHeaders = {}) {
  return {
    statusCode,
    headers: {
      'content-type': 'application/json',
      'x-correlation-id': correlationId,
      ...extraHeaders,
    },
    body: JSON.stringify(body),
  };
}

function logLine(level, message, fields) {
  console.log(JSON.stringify({ timestamp: new Date().toISOString(), level, message, ...fields }));
}

function lowerCaseKeys(headers = {}) {
  const out = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v;
  return out;
}

function validCorrelationId(value) {
  const v = typeof value === 'string' ? value.trim() : '';
  return v && v.length <= 128 ? v : undefined;
}

// Validation: every problem is collected, each naming its field, with the Rust messages.
// Returns { order } or { status, error }.
function parseNewOrder(event) {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const size = Buffer.byteLength(text);
  if (size > MAX_BODY_BYTES) {
    const error = `request body is ${size} bytes; the limit is ${MAX_BODY_BYTES} bytes`;
    return fail(413, 'PAYLOAD_TOO_LARGE', error);
  }
  if (text.trim() === '') return fail(400, 'VALIDATION_FAILED', 'request body is required');
  let body;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return fail(400, 'INVALID_JSON', `request body is not valid JSON: ${err.message}`);
  }
  if (!isObject(body)) return fail(400, 'VALIDATION_FAILED', 'request body must be a JSON object');

  const problems = [];
  const problem = (field, message) => problems.push({ field, message: `${field} ${message}` });
  unknownFields(body, ['customerName', 'items'], '', problem);

  let customerName = typed(body, 'customerName', 'string', 'customerName', problem);
  if (customerName !== undefined) {
    customerName = customerName.trim();
    const chars = [...customerName].length;
    if (chars === 0) problem('customerName', 'must not be blank');
    else if (chars > CUSTOMER_NAME_MAX) {
      problem('customerName', `must be at most ${CUSTOMER_NAME_MAX} characters (got ${chars})`);
    }
  }

  const items = [];
  let totalCents = 0;
  const lines = body.items;
  if (!('items' in body)) problem('items', 'is required');
  else if (!Array.isArray(lines)) problem('items', `must be an array, not ${jsonType(lines)}`);
  else if (lines.length === 0) problem('items', 'must contain at least 1 line');
  else if (lines.length > ITEMS_MAX) {
    problem('items', `must contain at most ${ITEMS_MAX} lines (got ${lines.length})`);
  } else {
    lines.forEach((line, i) => {
      const at = `items[${i}]`;
      if (!isObject(line)) return problem(at, `must be an object, not ${jsonType(line)}`);
      unknownFields(line, ['sku', 'qty', 'price'], `${at}.`, problem);

      const sku = typed(line, 'sku', 'string', `${at}.sku`, problem);
      const skuChars = sku === undefined ? 0 : [...sku].length;
      if (sku !== undefined && sku.trim() === '') problem(`${at}.sku`, 'must not be blank');
      else if (skuChars > SKU_MAX) {
        problem(`${at}.sku`, `must be at most ${SKU_MAX} characters (got ${skuChars})`);
      }

      const qty = typed(line, 'qty', 'number', `${at}.qty`, problem);
      if (qty !== undefined && !Number.isInteger(qty)) {
        problem(`${at}.qty`, `must be a whole number (got ${qty})`);
      } else if (qty < 1 || qty > QTY_MAX) {
        problem(`${at}.qty`, `must be between 1 and ${QTY_MAX} (got ${qty})`);
      }

      const price = typed(line, 'price', 'number', `${at}.price`, problem);
      if (price < 0) {
        problem(`${at}.price`, `must not be negative (got ${price})`);
      } else if (price !== undefined && Number(price.toFixed(2)) !== price) {
        // toFixed(2) parses back to the same double exactly when there are <= 2 decimals.
        problem(`${at}.price`, `must have at most 2 decimal places (got ${price})`);
      } else if (price > PRICE_MAX) {
        problem(`${at}.price`, `must be at most ${PRICE_MAX.toFixed(2)} (got ${price})`);
      }

      // Totals in integer cents (at most 1e14, exact in a double), never summed as floats.
      totalCents += Math.round(price * 100) * qty;
      items.push({ sku, qty, price });
    });
  }

  if (problems.length > 0) {
    const messages = problems.map((p) => p.message);
    const error =
      problems.length === 1
        ? messages[0]
        : `request has ${problems.length} problems: ${messages.join('; ')}`;
    return { status: 400, error: { error, code: 'VALIDATION_FAILED', details: problems } };
  }
  return { order: { customerName, items, totalCents } };
}

// The value of obj[key] if it has the JSON type wanted; otherwise reports why and returns
// undefined.
function typed(obj, key, type, field, problem) {
  if (!(key in obj)) return void problem(field, 'is required');
  const value = obj[key];
  if (typeof value !== type || value === null) {
    return void problem(field, `must be a ${type}, not ${jsonType(value)}`);
  }
  return value;
}

function unknownFields(obj, known, prefix, problem) {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) problem(`${prefix}${key}`, 'is not a known field');
  }
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function fail(status, code, error) {
  return { status, error: { error, code } };
}

function jsonType(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const names = { string: 'a string', object: 'an object', boolean: 'a boolean' };
  return names[typeof value] ?? 'a number';
}
