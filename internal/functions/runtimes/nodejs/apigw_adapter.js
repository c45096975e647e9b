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

// Calls to the cloud's connection API reach apigw (docs/functions.md).
// apigw gives this process HTTPS_PROXY, which Python, Go, curl and gRPC
// clients follow; Node's own fetch and https do not (before Node 24.5 with
// NODE_USE_ENV_PROXY), so TLS connections to that one host are sent to
// apigw's intercept instead. Nothing else is touched: other hosts, and
// connections made over a socket of the caller's (a proxy tunnel), pass
// through unchanged.
function redirectCloudAPI(spec) {
  const eq = spec.indexOf('=');
  const colon = spec.lastIndexOf(':');
  const host = spec.slice(0, eq).toLowerCase();
  const to = { host: spec.slice(eq + 1, colon), port: Number(spec.slice(colon + 1)) };
  const tls = require('tls');
  const connect = tls.connect;
  tls.connect = function (...args) {
    // tls.connect(options[, cb]) or (port[, host][, options][, cb])
    let options = {};
    let target;
    let i = 0;
    if (args[0] !== null && typeof args[0] === 'object') {
      options = args[0];
      i = 1;
    } else {
      i = 1;
      if (typeof args[1] === 'string') {
        target = args[1];
        i = 2;
      }
      if (args[i] !== null && typeof args[i] === 'object') {
        options = args[i];
        i += 1;
      }
    }
    const name = String(options.servername || options.host || target || '').toLowerCase().replace(/\.$/, '');
    if (name !== host || options.socket) return connect.apply(this, args);
    const cb = typeof args[i] === 'function' ? args[i] : undefined;
    return connect.call(this, { ...options, host: to.host, port: to.port, servername: host, path: undefined }, cb);
  };
}
if (process.env.APIGW_CLOUD_API_REDIRECT) redirectCloudAPI(process.env.APIGW_CLOUD_API_REDIRECT);

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
  // A package the handler needs is not installed: one line that says
  // what to run, not a stack trace through Node's module loader.
  const missing = err && err.code === 'MODULE_NOT_FOUND' && /Cannot find module '([^']+)'/.exec(err.message);
  if (missing && !missing[1].startsWith('.') && !missing[1].startsWith('/')) {
    const dir = path.resolve(process.env.APIGW_DIR || '.');
    console.error(`handler ${process.env.APIGW_HANDLER} needs the npm package ${missing[1]}, which is not installed: run "npm ci" (or "npm install") in ${dir}`);
  } else {
    console.error(err && err.stack ? err.stack : err);
  }
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
