#!/usr/bin/env node
// Header-echo upstream for the nginx / auth_request tests.
//
//   node tests/echo/server.mjs --port 9500 [--verbose]
//
// Listens on 127.0.0.1 only (--port 0 picks a free port) and prints
//   echo listening on http://127.0.0.1:PORT
// when ready. Every request gets 200 with JSON
//   {"method", "url", "headers": {all request headers, lower-cased names}, "body"}
// where `body` is the request body as UTF-8 text ("" when there is none).

import http from 'node:http';
import { parseArgs } from 'node:util';

let args;
try {
  args = parseArgs({
    options: { port: { type: 'string' }, verbose: { type: 'boolean', default: false } },
    strict: true,
  }).values;
} catch (err) {
  process.stderr.write(`echo: ${err.message}\nusage: node tests/echo/server.mjs --port N\n`);
  process.exit(2);
}
const port = Number(args.port);
if (args.port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('echo: --port is required (0-65535)\n');
  process.exit(2);
}

const MAX_BODY = 1024 * 1024;

const server = http.createServer(async (req, res) => {
  const chunks = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    }
  } catch {
    return; // client went away
  }
  // Node already lower-cases header names. Repeated headers are joined by
  // node (", " — or "; " for cookie); set-cookie stays an array.
  const payload = JSON.stringify({
    method: req.method,
    url: req.url,
    headers: { ...req.headers },
    body: Buffer.concat(chunks).toString('utf8'),
  });
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : payload);
  if (args.verbose) process.stderr.write(`echo: ${req.method} ${req.url}\n`);
});

server.on('error', (err) => {
  process.stderr.write(`echo: ${err.message}\n`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`echo listening on http://127.0.0.1:${server.address().port}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { server.close(); server.closeAllConnections(); process.exit(0); });
}
