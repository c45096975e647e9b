module.exports.handler = async (event) => {
  const q = event.queryStringParameters;
  if (q.exit) process.exit(1);
  if (q.raise) throw new TypeError('bad input');
  if (q.hang) await new Promise(() => {}); // never answers
  if (q.print) {
    console.log(JSON.stringify(event)); // a handler that logs its event, body and all
    console.log('printed', (event.body || '').length);
  }
  return { statusCode: 200, body: String(process.pid) };
};
