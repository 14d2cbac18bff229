import { after } from 'node:test';
import {
  connectNats,
  createInProcessTransport,
  NatsTransport,
  startNodeAgent,
  type WorkerTransport,
} from '../../src/cluster/index.js';
import { startNatsServer } from '../support/nats-server.js';
import { runTransportConformance } from './transport-conformance.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

runTransportConformance('NATS (head and node in separate connections)', async () => {
  const server = await startNatsServer();
  const nodeConnection = await connectNats(server.url, 'test-node');
  const agent = await startNodeAgent({
    connection: nodeConnection,
    nodeId: 'node-t',
    resources: { cpus: 2, memoryBytes: 2 ** 30, gpus: [] },
    transport: createInProcessTransport({ nodeId: 'node-t' }),
  });
  const headConnection = await connectNats(server.url, 'test-head');
  const nats = new NatsTransport(headConnection);
  const transport: WorkerTransport = {
    name: nats.name,
    startWorker: (options) => nats.startWorker({ ...options, node: 'node-t' }),
  };
  return {
    transport,
    close: async () => {
      await agent.close();
      await headConnection.drain();
      await nodeConnection.drain();
      await server.close();
    },
  };
});
