// Creates a gateway through apigw's control plane with the official
// Node.js SDK (@yandex-cloud/nodejs-sdk 3.2.0), exactly as against the
// cloud but for the endpoint and the CA: session.client(client, address)
// and the CA as ssl.rootCerts. Waits on the operation through the SDK's
// waitForOperation (OperationService.Get), then calls the gateway at its
// domain. Prints one JSON line; exits 1 on any failure.
'use strict';

const fs = require('fs');
const http = require('http');
const { Session, waitForOperation } = require('@yandex-cloud/nodejs-sdk');
const { apigatewayService, apigateway } = require('@yandex-cloud/nodejs-sdk/serverless-apigateway-v1');

const [addr, caFile, apiURL, specFile] = process.argv.slice(2);

function get(url, host) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname, headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

(async () => {
  const session = new Session({ iamToken: 't1.x.y', ssl: { rootCerts: fs.readFileSync(caFile) }, pollInterval: 100 });
  const client = session.client(apigatewayService.ApiGatewayServiceClient, addr);
  const op = await client.create(apigatewayService.CreateApiGatewayRequest.fromPartial({
    folderId: 'b1gnodefolder0000000',
    name: 'from-node',
    openapiSpec: fs.readFileSync(specFile, 'utf8'),
    variables: { greeting: { stringValue: 'hello from node' } },
  }));
  const done = await waitForOperation(op, session, 30000, addr);
  if (done.response.typeUrl !== 'type.googleapis.com/yandex.cloud.serverless.apigateway.v1.ApiGateway') {
    throw new Error('response type ' + done.response.typeUrl);
  }
  const gw = apigateway.ApiGateway.decode(done.response.value);
  const res = await get(apiURL + '/hello', gw.domain);
  console.log(JSON.stringify({ id: gw.id, domain: gw.domain, status: res.status, body: res.body }));
})().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
