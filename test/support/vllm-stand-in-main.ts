/**
 * A stand-in for `python -m vllm.entrypoints.openai.api_server`, for tests where vLLM is absent: it
 * takes vLLM's command line (`--host`, `--port`, `--api-key`, `--served-model-name`,
 * `--max-model-len`, any other flags), answers vLLM's unauthenticated `GET /health`, lists the
 * served model with its `max_model_len` on `GET /v1/models` as vLLM does, and serves the OpenAI
 * routes through the local OpenAI stand-in (test/support/openai-upstream.ts).
 *
 * Environment knobs:
 * - `BYZERLLM_VLLM_STAND_IN_RECORD=<file>` — writes `{pid, argv, cudaVisibleDevices}` there at start,
 *   so a test can check the flags and environment it was given. The flag `--stand-in-record <file>`
 *   does the same (a deployment passes it as `backend.stand_in_record=<file>`).
 * - `BYZERLLM_VLLM_STAND_IN_UNHEALTHY=<n>` — answers 503 to the first n health checks, as vLLM does
 *   while it loads weights.
 *
 * Without `--port` it exits at once (`node --test dist/test/` runs every file under a test folder).
 */
import fs from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { startOpenAIUpstream } from './openai-upstream.js';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const position = argv.indexOf(name);
  return position >= 0 ? argv[position + 1] : undefined;
};
const port = flag('--port');

if (port === undefined) {
  if (!process.env.NODE_TEST_CONTEXT) {
    process.stderr.write('usage: vllm-stand-in-main --port <port> [--api-key KEY] [vLLM flags…]\n');
    process.exitCode = 2;
  }
} else {
  const apiKey = flag('--api-key') ?? 'EMPTY';
  const servedModelName = flag('--served-model-name') ?? flag('--model') ?? 'model';
  const maxModelLength = Number(flag('--max-model-len') ?? 4096);
  let unhealthyLeft = Number(process.env.BYZERLLM_VLLM_STAND_IN_UNHEALTHY ?? 0);
  const recordFile = flag('--stand-in-record') ?? process.env.BYZERLLM_VLLM_STAND_IN_RECORD;
  if (recordFile) {
    const record = { pid: process.pid, argv, cudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES ?? null };
    fs.writeFileSync(recordFile, JSON.stringify(record));
  }
  const upstream = await startOpenAIUpstream({ apiKey, models: [servedModelName] });
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method === 'GET' && path === '/health') {
      const healthy = unhealthyLeft <= 0;
      unhealthyLeft--;
      response.writeHead(healthy ? 200 : 503).end();
      return;
    }
    if (request.method === 'GET' && path === '/v1/models') {
      if (request.headers.authorization !== `Bearer ${apiKey}`) {
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"Unauthorized"}');
        return;
      }
      const card = { id: servedModelName, object: 'model', owned_by: 'vllm', max_model_len: maxModelLength };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ object: 'list', data: [card] }));
      return;
    }
    const forwarded = httpRequest(
      {
        host: '127.0.0.1',
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  server.listen(Number(port), flag('--host') ?? '127.0.0.1');
  const stop = () => {
    server.close();
    server.closeAllConnections();
    upstream.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
