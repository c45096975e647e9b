// The WebSocket chat of chat.py in Node.js, as it runs in the cloud: one
// handler for all three events, and fetch to the cloud's connection
// management API with the IAM token from the context. Under apigw those
// calls reach apigw's own management API, unchanged (docs/functions.md).
// Connections are kept as files; in the cloud keep them in YDB.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const API = 'https://apigateway-connections.api.cloud.yandex.net/apigateways/websocket/v1/connections/';

function room(event) {
  const clean = (s) => s.replace(/[^A-Za-z0-9.-]/g, '_');
  const dir = path.join(os.tmpdir(), 'apigw-chat', clean(event.headers.Host || 'local'), clean(event.path.replace(/^\/+|\/+$/g, '')) || 'root');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function connectionId(event) {
  const id = event.requestContext.connectionId;
  if (!/^[A-Za-z0-9_-]{1,50}$/.test(id)) throw new Error(`unexpected connection ID ${id}`);
  return id;
}

const nameOf = (event) => (event.queryStringParameters || {}).name || event.requestContext.connectionId.slice(0, 6);

async function broadcast(event, context, text) {
  const dir = room(event);
  for (const id of fs.readdirSync(dir)) {
    const res = await fetch(`${API}${id}:send`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${context.token.access_token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'TEXT', data: Buffer.from(text).toString('base64') }),
    });
    if (res.status === 404) fs.rmSync(path.join(dir, id), { force: true }); // gone without a disconnect event
    else if (!res.ok) console.error(`send to ${id}: ${res.status} ${await res.text()}`);
  }
}

module.exports.handler = async (event, context) => {
  const { eventType } = event.requestContext;
  if (eventType === 'CONNECT') {
    fs.writeFileSync(path.join(room(event), connectionId(event)), nameOf(event));
    return { statusCode: 200, headers: { 'Content-Type': 'text/plain' }, body: `welcome, ${nameOf(event)}! say something.` };
  }
  if (eventType === 'DISCONNECT') {
    fs.rmSync(path.join(room(event), connectionId(event)), { force: true });
    await broadcast(event, context, `${nameOf(event)} left (${event.requestContext.disconnectStatusCode})`);
    return { statusCode: 200 };
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  await broadcast(event, context, `${nameOf(event)}: ${text}`);
  return { statusCode: 200 };
};
