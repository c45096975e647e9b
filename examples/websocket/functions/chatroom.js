// The chat of chat.py for Node.js handlers: one handler for all three
// events, given how to push a message to one connection. The open
// connections are kept as files (one directory per gateway host and path);
// in the cloud, where instances share no disk, keep them in YDB.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

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

// chat returns the handler. send(context, connectionId, text) resolves to
// false when the connection is gone (NOT_FOUND), true when sent.
module.exports.chat = (send) => {
  async function broadcast(event, context, text) {
    const dir = room(event);
    for (const id of fs.readdirSync(dir)) {
      try {
        if (!(await send(context, id, text))) fs.rmSync(path.join(dir, id), { force: true }); // gone without a disconnect event
      } catch (err) {
        console.error(`send to ${id}: ${err.message}`);
      }
    }
  }
  return async (event, context) => {
    const { eventType } = event.requestContext;
    if (eventType === 'CONNECT') {
      fs.writeFileSync(path.join(room(event), connectionId(event)), nameOf(event));
      // The body of the connect answer is the first message the client gets.
      return { statusCode: 200, headers: { 'Content-Type': 'text/plain' }, body: `welcome, ${nameOf(event)}! say something.` };
    }
    if (eventType === 'DISCONNECT') {
      fs.rmSync(path.join(room(event), connectionId(event)), { force: true });
      await broadcast(event, context, `${nameOf(event)} left (${event.requestContext.disconnectStatusCode})`);
      return { statusCode: 200 };
    }
    const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    await broadcast(event, context, `${nameOf(event)}: ${text}`);
    return { statusCode: 200 }; // no body: nothing extra to the sender
  };
};
