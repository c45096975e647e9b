// The chat of chat.js, pushing through the official Node.js SDK: its
// connection service client calls the cloud's gRPC ConnectionService at
// apigateway-connections.api.cloud.yandex.net:443. Under apigw that call
// reaches apigw's own gRPC service, unchanged (docs/functions.md). Needs
// `npm install` in this directory (package.json pins the SDK).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { Session } = require('@yandex-cloud/nodejs-sdk');
const { connectionService } = require('@yandex-cloud/nodejs-sdk/serverless-apigateway-websocket-v1');

const { SendToConnectionRequest, SendToConnectionRequest_DataType: DataType } = connectionService;

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
  const session = new Session({ iamToken: context.token.access_token });
  const connections = session.client(connectionService.ConnectionServiceClient);
  const dir = room(event);
  for (const id of fs.readdirSync(dir)) {
    try {
      await connections.send(SendToConnectionRequest.fromPartial({ connectionId: id, data: Buffer.from(text), type: DataType.TEXT }));
    } catch (err) {
      // The SDK's ApiError carries the gRPC status in its message.
      if (/ NOT_FOUND: /.test(err.message)) fs.rmSync(path.join(dir, id), { force: true }); // gone without a disconnect event
      else console.error(`send to ${id}: ${err.message}`);
    }
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
