// apigw runtime adapter for Node.js handlers (standard library only).
//
// apigw starts this file once per function binding and keeps it warm. It
// loads the user's unchanged handler (handler: "index.handler" in dir) and
// serves invocations over HTTP on 127.0.0.1:$APIGW_ADAPTER_PORT:
//
//   GET  /healthz  200 once the handler module is loaded
//   POST /invoke   body: the event JSON; answers 200 with the handler's
//                  result as JSON, or 502 with {errorMessage, errorType,
//                  stackTrace} and X-Function-Error: true when it throws
//
// Like a Yandex Cloud Functions instance it runs one invocation at a time.
// The second handler argument carries the context fields a YC handler reads
// (requestId, functionName, functionVersion, memoryLimitInMB, token,
// getRemainingTimeInMillis(), getPayload()).
'use strict';

const http = require('http');
const path = require('path');
const querystring = require('querystring');

function loadHandler() {
  const spec = process.env.APIGW_HANDLER || '';
  const dot = spec.lastIndexOf('.');
  const file = spec.slice(0, dot);
  const name = spec.slice(dot + 1);
  const dir = path.resolve(process.env.APIGW_DIR || '.');
  const mod = require(path.join(dir, file));
  const fn = mod[name];
  if (typeof fn !== 'function') {
    throw new Error(`module ${file} exports no function ${name}`);
  }
  return fn;
}

function makeContext(headers, event) {
  const deadline = Number(headers['x-apigw-deadline-ms'] || 0);
  const token = headers['x-apigw-token'];
  return {
    requestId: headers['x-request-id'] || '',
    functionName: headers['x-apigw-function-id'] || '',
    functionVersion: headers['x-apigw-function-version'] || '$latest',
    memoryLimitInMB: Number(headers['x-apigw-memory-limit-mb'] || 128),
    token: token ? { access_token: token, expires_in: 3600, token_type: 'Bearer' } : undefined,
    getRemainingTimeInMillis() {
      return deadline ? Math.max(0, deadline - Date.now()) : 300000;
    },
    getPayload() {
      if (!event || typeof event.body !== 'string') return event;
      const body = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
      const ct = ((event.headers || {})['Content-Type'] || '').toLowerCase();
      if (ct.startsWith('application/json')) return JSON.parse(body);
      if (ct.startsWith('application/x-www-form-urlencoded')) return querystring.parse(body);
      return body;
    },
  };
}

function errorBody(err) {
  if (!(err instanceof Error)) err = new Error(String(err));
  return {
    errorMessage: err.message,
    errorType: err.name || 'Error',
    stackTrace: String(err.stack || '').split('\n').slice(1).map((s) => s.trim()),
  };
}

let handler;
try {
  handler = loadHandler();
} catch (err) {
  console.error(err && err.stack ? err.stack : err);
  process.exit(3);
}

// One invocation at a time, in arrival order.
let queue = Promise.resolve();

function send(res, status, obj, functionError) {
  const data = Buffer.from(JSON.stringify(obj === undefined ? null : obj));
  const headers = { 'Content-Type': 'application/json', 'Content-Length': data.length };
  if (functionError) headers['X-Function-Error'] = 'true';
  res.writeHead(status, headers);
  res.end(data);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, { status: 'ok' });
  if (req.method !== 'POST') return send(res, 404, { message: 'not found' });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    let event;
    try {
      event = raw ? JSON.parse(raw) : null;
    } catch (e) {
      event = raw;
    }
    queue = queue.then(async () => {
      try {
        const result = await handler(event, makeContext(req.headers, event));
        send(res, 200, result, false);
      } catch (err) {
        console.error(err && err.stack ? err.stack : err);
        send(res, 502, errorBody(err), true);
      }
    });
  });
});
server.keepAliveTimeout = 120000;
server.listen(Number(process.env.APIGW_ADAPTER_PORT), '127.0.0.1');
