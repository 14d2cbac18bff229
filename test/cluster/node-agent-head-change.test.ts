/**
 * A node agent keeps only the workers of the newest head. A head killed while a worker starts
 * (a `--deploy` in flight, say) is replaced by one that places its deployments anew; the worker
 * the old head asked for must not run unseen beside them. Real nats-server, a real node agent with
 * the in-process transport, and a worker of the local OpenAI stand-in.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  connectNats,
  createInProcessTransport,
  NatsTransport,
  type NodeAgent,
  startNodeAgent,
} from '../../src/cluster/index.js';
import { subjects } from '../../src/cluster/nats/nats-protocol.js';
import { encodeSigned } from '../../src/cluster/nats/signed-envelope.js';
import { deploymentSpecSchema } from '../../src/core/index.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

let server: NatsServer;
let upstream: OpenAIUpstream;
let nodeConnection: NatsConnection;
let headConnection: NatsConnection;
let agent: NodeAgent;

before(async () => {
  server = await startNatsServer();
  upstream = await startOpenAIUpstream({ apiKey: 'sk-heads', recordRequests: false });
  nodeConnection = await connectNats(server.url, 'heads-node');
  agent = await startNodeAgent({
    connection: nodeConnection,
    nodeId: 'node-heads',
    resources: { cpus: 2, memoryBytes: 2 ** 30, gpus: [] },
    transport: createInProcessTransport({ nodeId: 'node-heads' }),
  });
  headConnection = await connectNats(server.url, 'heads-head');
});

after(async () => {
  await agent?.close();
  await headConnection?.drain();
  await nodeConnection?.drain();
  await upstream?.close();
  await server?.close();
});

const start = (transport: NatsTransport, name: string) =>
  transport.startWorker({
    spec: deploymentSpecSchema.parse({
      name,
      pretrainedModelType: 'saas/openai',
      inferParams: { 'saas.api_key': 'sk-heads', 'saas.base_url': upstream.url, 'saas.max_retries': '0' },
    }),
    workerIndex: 0,
    gpuIndices: [],
    node: 'node-heads',
    warn: () => {},
  });

test("a worker start of a head older than the newest hello is refused, and the newest head's is kept", async () => {
  const oldHead = new NatsTransport(headConnection);
  const newHead = new NatsTransport(headConnection);
  const stale = start(oldHead, 'stale');
  // Same connection, so in order: the hello goes out before the start's request (startWorker first
  // awaits a connection check), and the node hears of the new head before the old head's worker is
  // up — as when a head is replaced while its start is in flight.
  headConnection.publish(
    subjects.headHello,
    encodeSigned(undefined, subjects.headHello, { headId: newHead.headId }),
  );
  await assert.rejects(stale, /a new head started while this worker started/);
  assert.deepEqual(agent.workerIds(), [], 'no worker of the old head runs on the node');

  const fresh = await start(newHead, 'fresh');
  try {
    assert.deepEqual(agent.workerIds(), [fresh.id], "the newest head's worker runs");
  } finally {
    await fresh.close();
  }
});
