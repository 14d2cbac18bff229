/**
 * The yardstick of the gateway benchmark: the least any Node gateway can do. A node:http server that
 * parses the JSON request, forwards it on an undici keep-alive pool and re-serialises the JSON answer
 * (streams are piped through). `node dist/bench/gateway/bare-proxy.js --upstream http://127.0.0.1:PORT`
 * prints `{"url": …}` once listening.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { upstream: { type: 'string' } } });
if (!values.upstream) {
  process.stderr.write('usage: bare-proxy --upstream http://127.0.0.1:PORT\n');
  process.exit(2);
}
const pool = new Pool(values.upstream, { connections: 256 });

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', async () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream?: boolean };
      const answer = await pool.request({
        method: 'POST',
        path: request.url ?? '/',
        headers: {
          'content-type': 'application/json',
          authorization: request.headers.authorization ?? '',
        },
        body: JSON.stringify(body),
      });
      if (body.stream) {
        response.writeHead(answer.statusCode, { 'content-type': 'text/event-stream' });
        for await (const chunk of answer.body) response.write(chunk);
        response.end();
        return;
      }
      const text = JSON.stringify(await answer.body.json());
      response.writeHead(answer.statusCode, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      response.end(text);
    } catch (error) {
      response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: String(error) } }));
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`,
  );
});
process.on('SIGTERM', () => process.exit(0));
