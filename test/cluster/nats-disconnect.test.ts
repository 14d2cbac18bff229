/**
 * One side's NATS connection drops for a moment (a network blip on one machine), then the whole
 * server restarts: head and node in this process on their own connections to a real nats-server, a
 * worker on the node serving the local OpenAI stand-in. Nothing waits for what a disconnection lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  connectNats,
  createInProcessTransport,
  NatsTransport,
  type NodeAgent,
  startNodeAgent,
  type WorkerEndpoint,
} from '../../src/cluster/index.js';
import { deploymentSpecSchema, type StreamPart } from '../../src/core/index.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

/** Resolves when the connection reports its next `reconnect`. */
async function nextReconnect(connection: NatsConnection): Promise<void> {
  for await (const status of connection.status()) if (status.type === 'reconnect') return;
}

describe('a short disconnection of one side', () => {
  let server: NatsServer;
  let upstream: OpenAIUpstream;
  let nodeConnection: NatsConnection;
  let headConnection: NatsConnection;
  let agent: NodeAgent;
  let worker: WorkerEndpoint;

  before(async () => {
    server = await startNatsServer();
    upstream = await startOpenAIUpstream({ apiKey: 'sk-blip', recordRequests: false });
    nodeConnection = await connectNats(server.url, 'blip-node');
    agent = await startNodeAgent({
      connection: nodeConnection,
      nodeId: 'node-blip',
      resources: { cpus: 2, memoryBytes: 2 ** 30, gpus: [] },
      transport: createInProcessTransport({ nodeId: 'node-blip' }),
    });
    headConnection = await connectNats(server.url, 'blip-head');
    worker = await new NatsTransport(headConnection).startWorker({
      spec: deploymentSpecSchema.parse({
        name: 'blip',
        pretrainedModelType: 'saas/openai',
        inferParams: { 'saas.api_key': 'sk-blip', 'saas.base_url': upstream.url, 'saas.max_retries': '0' },
      }),
      workerIndex: 0,
      gpuIndices: [],
      node: 'node-blip',
      warn: () => {},
    });
  });

  after(async () => {
    await worker?.close();
    await agent?.close();
    await headConnection?.drain();
    await nodeConnection?.drain();
    await upstream?.close();
    await server?.close();
  });

  test("the node's connection drops mid-stream: the stream ends with worker_failed, no part silently missing", async () => {
    const parts = await worker.stream({
      messages: [{ role: 'user', content: 'chunk-delay:200 one two three four five six seven eight' }],
    });
    const iterator = parts[Symbol.asyncIterator]();
    let first = await iterator.next();
    while (!first.done && first.value.type !== 'text-delta') first = await iterator.next();
    const reconnected = nextReconnect(nodeConnection);
    await nodeConnection.reconnect();
    await reconnected;
    const rest: StreamPart[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    const last = rest.at(-1);
    assert.equal(last?.type, 'error', JSON.stringify(rest));
    assert.equal(last?.type === 'error' && last.error.code, 'worker_failed');
    assert.ok(!rest.some((part) => part.type === 'finish'));
  });

  test("the head's connection drops while a call is in flight: the call is sent again and answered", async () => {
    const answer = worker.call('chat', { messages: [{ role: 'user', content: 'delay:300 again' }] });
    await upstream.waitUntil(() => upstream.inFlight() >= 1);
    await headConnection.reconnect();
    assert.equal((await answer).text, 'echo: delay:300 again');
  });

  test("the node's connection drops while it answers calls: every call is answered", async () => {
    const answers = Array.from({ length: 20 }, (_, index) =>
      worker.call('chat', { messages: [{ role: 'user', content: `delay:${20 * index} call ${index}` }] }),
    );
    await upstream.waitUntil(() => upstream.inFlight() >= 10);
    await nodeConnection.reconnect();
    assert.deepEqual(
      (await Promise.all(answers)).map((answer) => answer.text),
      Array.from({ length: 20 }, (_, index) => `echo: delay:${20 * index} call ${index}`),
    );
  });

  test('a NATS restart mid-stream ends the stream with worker_failed at once; the next stream is answered', async () => {
    const parts = await worker.stream({
      messages: [{ role: 'user', content: 'chunk-delay:200 one two three four five six seven eight' }],
    });
    const iterator = parts[Symbol.asyncIterator]();
    let first = await iterator.next();
    while (!first.done && first.value.type !== 'text-delta') first = await iterator.next();
    await server.restart();
    const rest: StreamPart[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    const last = rest.at(-1);
    assert.equal(last?.type === 'error' && last.error.code, 'worker_failed', JSON.stringify(rest));
    // Sent while the node may not have subscribed again yet: retried until it has.
    const again = await worker.stream({ messages: [{ role: 'user', content: 'after the restart' }] });
    let text = '';
    let end: StreamPart | undefined;
    for await (const part of again) {
      if (part.type === 'text-delta') text += part.delta;
      end = part;
    }
    assert.equal(end?.type, 'finish');
    assert.equal(text, 'echo: after the restart');
  });
});
