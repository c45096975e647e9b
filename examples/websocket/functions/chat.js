// The WebSocket chat (chatroom.js) pushing with fetch to the cloud's
// connection management API, with the IAM token from the context, as it
// runs in the cloud. Under apigw these calls reach apigw's own management
// API, unchanged (docs/functions.md).
'use strict';

const { chat } = require('./chatroom');

const API = 'https://apigateway-connections.api.cloud.yandex.net/apigateways/websocket/v1/connections/';

module.exports.handler = chat(async (context, id, text) => {
  const res = await fetch(`${API}${id}:send`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${context.token.access_token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'TEXT', data: Buffer.from(text).toString('base64') }),
  });
  if (res.status === 404) return false;
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  return true;
});
