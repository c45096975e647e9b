// An ordinary Yandex Cloud Functions handler: it runs unchanged in the cloud.
module.exports.handler = async function (event, context) {
  if (event.httpMethod === 'GET') {
    const ctx = (event.requestContext.apiGateway || {}).operationContext || {};
    return {
      statusCode: 200,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: ctx.greeting, runtime: 'nodejs', request_id: context.requestId, pid: process.pid }),
    };
  }
  const body = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return {
    statusCode: 201,
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: { 'Set-Cookie': ['seen=1; Path=/', 'lang=js; Path=/'] },
    body: JSON.stringify({ id: event.pathParameters.id, got: body, operationId: event.operationId }),
  };
};
