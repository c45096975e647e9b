// The WebSocket chat (chatroom.js) pushing through the official Node.js
// SDK: its connection service client calls the cloud's gRPC
// ConnectionService at apigateway-connections.api.cloud.yandex.net:443.
// Under apigw that call reaches apigw's own gRPC service, unchanged
// (docs/functions.md). Needs `npm ci` in this directory (package.json pins
// the SDK).
'use strict';

const { Session } = require('@yandex-cloud/nodejs-sdk');
const { connectionService } = require('@yandex-cloud/nodejs-sdk/serverless-apigateway-websocket-v1');
const { chat } = require('./chatroom');

const { ConnectionServiceClient, SendToConnectionRequest, SendToConnectionRequest_DataType: DataType } = connectionService;

// One client (one gRPC channel) per token, kept across invocations.
let cached = { token: null, client: null };
function client(token) {
  if (cached.token !== token) cached = { token, client: new Session({ iamToken: token }).client(ConnectionServiceClient) };
  return cached.client;
}

module.exports.handler = chat(async (context, id, text) => {
  const connections = client(context.token.access_token);
  try {
    await connections.send(SendToConnectionRequest.fromPartial({ connectionId: id, data: Buffer.from(text), type: DataType.TEXT }));
    return true;
  } catch (err) {
    // The SDK's ApiError carries the gRPC status in its message.
    if (/ NOT_FOUND: /.test(err.message)) return false;
    throw err;
  }
});
