// A handler whose package is not installed (no npm ci was run).
const pad = require('apigw-test-package-not-installed');
module.exports.handler = async () => ({ statusCode: 200, body: pad('x') });
