/**
 * Messages that cross a process boundary are parsed at the edge: malformed worker IPC messages (in
 * both directions) and admin API bodies are dropped or answered with a 400 naming the field, never
 * change state, and the head keeps serving. Real processes, a real Head, a local OpenAI upstream.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import {
  createAdminApi,
  createInProcessTransport,
  createProcessTransport,
  DeploymentStore,
  Head,
} from '../../src/cluster/index.js';
import { WORKER_ENTRY } from '../../src/cluster/transport/process-transport.js';
import type { FromWorkerEnvelope, FromWorkerMessage } from '../../src/cluster/transport/worker-protocol.js';
import { type DeploymentSpec, deploymentSpecSchema } from '../../src/core/index.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const GARBLING_WORKER = fileURLToPath(new URL('../support/garbling-worker.js', import.meta.url));

let upstream: OpenAIUpstream;
let spec: DeploymentSpec;

before(async () => {
  upstream = await startOpenAIUpstream();
  spec = deploymentSpecSchema.parse({
    name: 'boundary',
    pretrainedModelType: 'saas/openai',
    inferParams: {
      'saas.api_key': upstream.apiKey,
      'saas.base_url': upstream.url,
      'saas.model': 'm',
      'saas.max_retries': '0',
    },
  });
});
after(() => upstream.close());

const hello = { messages: [{ role: 'user', content: 'hello' }] };

test('a worker process drops malformed messages from the head, fails the ones it can name, and serves', async () => {
  const child = fork(WORKER_ENTRY, [], {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const received: FromWorkerMessage[] = [];
  const waiters: { test: (message: FromWorkerMessage) => boolean; resolve: () => void }[] = [];
  child.on('message', (envelope: FromWorkerEnvelope) => {
    for (const message of envelope.type === 'batch' ? envelope.messages : [envelope]) {
      received.push(message);
      for (const waiter of waiters.filter((each) => each.test(message))) waiter.resolve();
    }
  });
  const next = (test: (message: FromWorkerMessage) => boolean) =>
    new Promise<void>((resolve) => {
      if (received.some(test)) resolve();
      else waiters.push({ test, resolve });
    });
  try {
    const malformed: unknown[] = [
      null,
      'junk',
      {},
      { type: 'call' },
      { type: 'abort', id: 'x' },
      { type: 'start', options: { spec: { name: '../etc' }, workerIndex: 0, gpuIndices: [] } },
      { type: 'call', id: 1, kind: 'bogus', request: {} },
      { type: 'call', id: 2, kind: 'chat', request: { messages: 'not a list' } },
      { type: 'stream', id: 3, request: { messages: [{ role: 'robot', content: 'hi' }] } },
    ];
    for (const message of malformed) child.send(message as never);
    child.send({ type: 'start', options: { spec, workerIndex: 0, gpuIndices: [] } });
    await next((message) => message.type === 'ready');
    child.send({ type: 'call', id: 4, kind: 'chat', request: hello });
    await next((message) => message.type === 'result' && message.id === 4);

    const failedIds = received.flatMap((message) => (message.type === 'failed' ? [message.id] : []));
    assert.deepEqual(failedIds.sort(), [1, 2, 3]);
    const failure = received.find((message) => message.type === 'failed' && message.id === 2);
    assert.match(
      (failure as Extract<FromWorkerMessage, { type: 'failed' }>).error.message,
      /^invalid request: request\.messages: /,
    );
    const result = received.find((message) => message.type === 'result') as { result: { text: string } };
    assert.equal(result.result.text, 'echo: hello');
    const dropped = stderr.split('\n').filter((line) => line.includes('dropped an invalid message'));
    assert.equal(dropped.length, malformed.length, stderr);
  } finally {
    child.kill('SIGKILL');
  }
});

test('the head drops malformed messages from a worker and its calls and streams still complete', async () => {
  const log: string[] = [];
  const worker = await createProcessTransport({
    workerEntry: GARBLING_WORKER,
    log: (line) => log.push(line),
  }).startWorker({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
  try {
    const answer = (await worker.call('chat', hello as never)) as { text: string };
    assert.equal(answer.text, 'echo: hello');
    const parts = [];
    for await (const part of await worker.stream(hello as never)) parts.push(part);
    const text = parts.flatMap((part) => (part.type === 'text-delta' ? [part.delta] : [])).join('');
    assert.equal(text, 'echo: hello');
    assert.equal(parts.at(-1)?.type, 'finish', 'a forged failed/part message ended the stream');
    assert.ok(
      log.filter((line) => line.includes('sent an invalid message, dropped')).length >= 10,
      log.join('\n'),
    );
  } finally {
    await worker.close();
  }
});

describe('admin API bodies', () => {
  let head: Head;
  let directory: string;
  let app: ReturnType<typeof createAdminApi>;
  const post = (route: string, body: string) =>
    app.request(route, {
      method: 'POST',
      headers: { authorization: 'Bearer admin-token', 'content-type': 'application/json' },
      body,
    });

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-boundary-'));
    head = new Head({
      store: new DeploymentStore(directory),
      transport: createInProcessTransport(),
      resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
    });
    await head.deploy(spec);
    app = createAdminApi({ cluster: head, token: 'admin-token' });
  });
  after(async () => {
    await head.close();
    await fs.rm(directory, { recursive: true, force: true });
  });

  const cases: [string, string, RegExp][] = [
    [
      '/admin/v1/deployments',
      '[1,2]',
      /^invalid deployment body: \(the whole value\): expected a deployment spec object/,
    ],
    ['/admin/v1/deployments', '{"name":"a.b","pretrainedModelType":"saas/openai"}', /^invalid name "a\.b": /],
    [
      '/admin/v1/deployments',
      '{"name":"x","pretrainedModelType":"saas/openai","numWorkers":"many"}',
      /numWorkers/,
    ],
    ['/admin/v1/deployments/boundary/call', '{"kind":"chat"}', /^invalid call body: request: /],
    [
      '/admin/v1/deployments/boundary/call',
      '{"kind":"chat","request":{"messages":[{"role":"user"}]}}',
      /messages\.0/,
    ],
    [
      '/admin/v1/deployments/boundary/call',
      '{"kind":"embed","request":{"values":[1]}}',
      /^invalid embedding request body: values\.0/,
    ],
    [
      '/admin/v1/deployments/boundary/call',
      '{"kind":"launch","request":{}}',
      /^invalid call body: kind: unknown call kind "launch"; allowed: chat, embedding/,
    ],
    ['/admin/v1/deployments/boundary/call', 'null', /^invalid call body/],
    [
      '/admin/v1/deployments/boundary/stream',
      '{"request":{"messages":{}}}',
      /^invalid stream body: request\.messages/,
    ],
    ['/admin/v1/deployments/boundary/stream', '{"request":', /^the request body is not valid JSON/],
  ];
  for (const [route, body, message] of cases) {
    test(`${route} ${body}: 400 naming the problem, nothing changes`, async () => {
      const response = await post(route, body);
      assert.equal(response.status, 400);
      const answer = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(answer.error.code, 'invalid_argument');
      assert.match(answer.error.message, message);
      assert.deepEqual(
        (await head.list()).map((deployment) => deployment.name),
        ['boundary'],
      );
    });
  }

  // Call kinds are named after tasks (`embedding`, `transcription`); a peer of an earlier version
  // still sends `embed` / `transcribe`, which are read as the new names.
  for (const kind of ['embedding', 'embed']) {
    test(`a call of kind ${kind} is answered by the deployment's embedding model`, async () => {
      const response = await post(
        '/admin/v1/deployments/boundary/call',
        JSON.stringify({ kind, request: { values: ['a', 'bb'] } }),
      );
      assert.equal(response.status, 200);
      const answer = (await response.json()) as { embeddings: number[][] };
      assert.equal(answer.embeddings.length, 2);
      assert.ok(answer.embeddings.every((vector) => vector.length > 0));
    });
  }

  test('over node:http, bodies with a content-length and chunked ones both reach the stream route', async () => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const send = (headers: Record<string, string>, body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const request = httpRequest(
          {
            port,
            method: 'POST',
            path: '/admin/v1/deployments/boundary/stream',
            headers: { authorization: 'Bearer admin-token', 'content-type': 'application/json', ...headers },
          },
          (response) => {
            let text = '';
            response.setEncoding('utf8').on('data', (chunk: string) => {
              text += chunk;
            });
            response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    try {
      const body = JSON.stringify({ request: hello });
      const sized: Record<string, string> = { 'content-length': String(Buffer.byteLength(body)) };
      for (const headers of [sized, { 'transfer-encoding': 'chunked' }]) {
        const answer = await send(headers, body);
        assert.equal(answer.status, 200, answer.text);
        const lines = answer.text
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { type: string; delta?: string });
        assert.equal(
          lines.flatMap((line) => (line.type === 'text-delta' ? [line.delta] : [])).join(''),
          'echo: hello',
        );
        assert.equal(lines.at(-1)?.type, 'finish');
      }
    } finally {
      server.close();
    }
  });

  test('a body that declares more than the limit is refused with a 400 naming the limit', async () => {
    const response = await app.request('/admin/v1/deployments/boundary/stream', {
      method: 'POST',
      headers: {
        authorization: 'Bearer admin-token',
        'content-type': 'application/json',
        'content-length': String(64 * 1024 * 1024 + 1),
      },
      body: JSON.stringify({ request: hello }),
    });
    assert.equal(response.status, 400);
    const answer = (await response.json()) as { error: { message: string } };
    assert.match(answer.error.message, /^the request body is larger than the limit of 67108864 bytes/);
  });

  test('after all of them, the head still serves a valid call', async () => {
    const response = await post(
      '/admin/v1/deployments/boundary/call',
      JSON.stringify({ kind: 'chat', request: hello }),
    );
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { text: string }).text, 'echo: hello');
  });
});
