/**
 * A worker node (`byzerllm start --address nats://…`): advertises its resources, heartbeats, and
 * starts/stops workers when the head asks, serving each over NATS.
 *
 * Workers run through a local transport (in-process for SaaS engines; worker processes where that
 * transport is configured). The node's record lives in the `byzerllm_nodes` KV bucket for discovery;
 * liveness is the heartbeat subject, which the head watches with a timeout.
 */
import { Kvm } from '@nats-io/kv';
import { type NatsConnection, nuid } from '@nats-io/transport-node';
import { type DeploymentSpec, toByzerLLMError } from '../../core/index.js';
import type { NodeResources } from '../resources.js';
import type { WorkerEndpoint, WorkerTransport } from '../transport/transport.js';
import {
  decode,
  encode,
  HEARTBEAT_INTERVAL_MS,
  KV_NODES,
  type Reply,
  subjects,
  subjectToken,
} from './nats-protocol.js';
import { watchConnection } from './connection-watch.js';
import { natsRequest } from './nats-request.js';
import { CancellationRegistry, serveWorkerOverNats } from './nats-worker-server.js';

export interface NodeAgentOptions {
  connection: NatsConnection;
  nodeId: string;
  resources: NodeResources;
  labels?: Record<string, string>;
  /** Starts workers on this machine. */
  transport: WorkerTransport;
  log?: (line: string) => void;
}

/** What a node advertises in its heartbeat and its KV record. */
export interface NodeAdvert {
  nodeId: string;
  resources: NodeResources;
  labels: Record<string, string>;
  pid: number;
  startedAt: string;
  workers: number;
}

interface ServedWorker {
  /** The head that placed it. */
  headId: string;
  endpoint: WorkerEndpoint;
  server: { close(): void };
}

export interface NodeAgent {
  readonly nodeId: string;
  workerIds(): string[];
  close(): Promise<void>;
}

export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  const { connection, nodeId } = options;
  const log = options.log ?? (() => {});
  const workers = new Map<string, ServedWorker>();
  const cancellations = new CancellationRegistry(connection);
  const startedAt = new Date().toISOString();
  const advert = (): NodeAdvert => ({
    nodeId,
    resources: options.resources,
    labels: options.labels ?? {},
    pid: process.pid,
    startedAt,
    workers: workers.size,
  });
  const nodes = await new Kvm(connection).create(KV_NODES, { history: 1 });
  await nodes.put(subjectToken(nodeId), JSON.stringify(advert()));

  const watch = watchConnection(connection);
  // Replies survive a short disconnection of this node (sent again once it is back).
  const respond = (reply: (data: Uint8Array) => boolean, value: Reply<unknown>) => {
    const data = encode(value);
    watch.publishReliably(() => reply(data));
  };

  const startSubscription = connection.subscribe(subjects.nodeStart(nodeId), {
    callback: (_error, message) => {
      const start = decode<{
        spec: DeploymentSpec;
        workerIndex: number;
        gpuIndices: number[];
        headId: string;
      }>(message.data);
      const warnings: string[] = [];
      options.transport
        .startWorker({
          spec: start.spec,
          workerIndex: start.workerIndex,
          gpuIndices: start.gpuIndices,
          warn: (line) => warnings.push(line),
        })
        .then(
          (endpoint) => {
            const workerId = subjectToken(`${start.spec.name}-${start.workerIndex}-${nuid.next()}`);
            workers.set(workerId, {
              headId: start.headId,
              endpoint,
              server: serveWorkerOverNats(connection, endpoint, workerId, cancellations),
            });
            log(`started worker ${start.spec.name}#${start.workerIndex} as ${workerId}`);
            respond(message.respond.bind(message), {
              ok: true,
              result: { workerId, pid: endpoint.location.pid ?? process.pid, warnings },
            });
          },
          (error: unknown) =>
            respond(message.respond.bind(message), { ok: false, error: toByzerLLMError(error).toJSON() }),
        );
    },
  });

  const stopSubscription = connection.subscribe(subjects.nodeStop(nodeId), {
    callback: (_error, message) => {
      const { workerId } = decode<{ workerId: string }>(message.data);
      const worker = workers.get(workerId);
      workers.delete(workerId);
      worker?.server.close();
      void (worker?.endpoint.close() ?? Promise.resolve()).finally(() => {
        if (worker) log(`stopped worker ${workerId}`);
        respond(message.respond.bind(message), { ok: true, result: null });
      });
    },
  });

  // A node cut off long enough to be declared lost had its workers placed elsewhere: when it is
  // back, the head lists what it still runs here and the rest is stopped.
  const reconcileSubscription = connection.subscribe(subjects.nodeReconcile(nodeId), {
    callback: (_error, message) => {
      const { keep } = decode<{ keep: string[] }>(message.data);
      const stopped: string[] = [];
      for (const [workerId, worker] of workers) {
        if (keep.includes(workerId)) continue;
        workers.delete(workerId);
        worker.server.close();
        void worker.endpoint.close().catch(() => {});
        stopped.push(workerId);
      }
      if (stopped.length > 0)
        log(`stopped ${stopped.length} workers the head placed elsewhere: ${stopped.join(', ')}`);
      respond(message.respond.bind(message), { ok: true, result: { stopped } });
    },
  });

  const helloSubscription = connection.subscribe(subjects.headHello, {
    callback: (_error, message) => {
      const { headId } = decode<{ headId: string }>(message.data);
      for (const [workerId, worker] of workers) {
        if (worker.headId === headId) continue;
        log(`a new head (${headId}) started: stopping ${workerId}, placed by the previous head`);
        workers.delete(workerId);
        worker.server.close();
        void worker.endpoint.close().catch(() => {});
      }
    },
  });

  const heartbeat = setInterval(
    () => connection.publish(subjects.heartbeat(nodeId), encode(advert())),
    HEARTBEAT_INTERVAL_MS,
  );
  connection.publish(subjects.heartbeat(nodeId), encode(advert()));
  try {
    await natsRequest(connection, subjects.admin('register'), advert(), 5_000);
  } catch {
    log('no head answered the registration yet; it will see this node by its heartbeats');
  }
  log(`node ${nodeId} joined with ${options.resources.cpus} CPUs and ${options.resources.gpus.length} GPUs`);

  return {
    nodeId,
    workerIds: () => [...workers.keys()],
    async close() {
      clearInterval(heartbeat);
      startSubscription.unsubscribe();
      stopSubscription.unsubscribe();
      helloSubscription.unsubscribe();
      reconcileSubscription.unsubscribe();
      cancellations.close();
      for (const worker of workers.values()) worker.server.close();
      await Promise.allSettled([...workers.values()].map((worker) => worker.endpoint.close()));
      workers.clear();
      await nodes.delete(subjectToken(nodeId)).catch(() => {});
    },
  };
}
