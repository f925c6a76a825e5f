// The console's only way to the stack: the JSON API served next to these files.
// Every call resolves to parsed JSON or throws an Error whose message is fit to show.

export class ApiError extends Error {
  constructor(message, { status = 0, code = '' } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, body) {
  const init = { method, headers: { accept: 'application/json' } };
  // The control plane takes a change only as JSON (what a cross-site form cannot send).
  if (method !== 'GET') init.headers['content-type'] = 'application/json';
  if (body !== undefined) init.body = JSON.stringify(body);
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(`cannot reach the stack (${method} ${path}): ${e.message}`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(`${method} ${path}: the answer is not JSON`, { status: res.status });
    }
  }
  if (!res.ok) {
    const message = (data && (data.error || data.message)) || text || res.statusText;
    throw new ApiError(`${message}`, { status: res.status, code: (data && data.code) || '' });
  }
  return data;
}

export const api = {
  about: () => request('GET', '/api/about'),
  dashboards: () => request('GET', '/api/dashboards'),
  metricData: (query) => request('POST', '/api/metric-data', query),
  alarms: () => request('GET', '/api/alarms'),
  logs: (query, start, end) =>
    request('GET', `/api/logs?query=${encodeURIComponent(query)}&start=${start}&end=${end}`),
  dlq: () => request('GET', '/api/dlq'),
  redrive: () => request('POST', '/api/dlq/redrive'),
  chaos: () => request('GET', '/api/chaos'),
  chaosOn: (req) => request('PUT', '/api/chaos', req),
  chaosOff: () => request('DELETE', '/api/chaos'),
  journal: () => request('GET', '/api/chaos/journal'),
  chaosFaults: () => request('GET', '/api/chaos/faults'),
  functions: () => request('GET', '/api/functions'),
  traces: (filter = {}) => request('GET', `/api/traces${query(filter)}`),
  trace: (id) => request('GET', `/api/trace?id=${encodeURIComponent(id)}`),
  serviceMap: (minutes) => request('GET', `/api/service-map${query({ minutes })}`),
};

/** "?a=1&b=x" from the entries that are set (none: ""). */
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

// One /api/alarms answer shared by every widget and panel of a refresh round, so a round
// that draws twelve alarm tiles asks once.
let alarmsInFlight = null;
let alarmsAt = 0;
export function alarmsShared(maxAgeMs = 2000) {
  const now = Date.now();
  if (alarmsInFlight && now - alarmsAt < maxAgeMs) return alarmsInFlight;
  alarmsAt = now;
  alarmsInFlight = api.alarms();
  alarmsInFlight.catch(() => {
    alarmsInFlight = null;
  });
  return alarmsInFlight;
}
