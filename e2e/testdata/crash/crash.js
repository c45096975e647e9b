module.exports.handler = async (event) => {
  if (event.queryStringParameters.exit) process.exit(1);
  if (event.queryStringParameters.raise) throw new TypeError('bad input');
  return { statusCode: 200, body: String(process.pid) };
};
