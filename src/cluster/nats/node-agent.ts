/**
 * A worker node (`byzerllm start --address nats://…`): advertises its resources, heartbeats, and
 * starts/stops workers when the head asks, serving each over NATS.
 *
 * Workers run through a local transport (in-process for SaaS engines; worker processes where that
 * transport is configured). The node's record lives in the `byzerllm_nodes` KV bucket for discovery;
 * liveness is the heartbeat subject, which the head watches with a timeout. With a cluster key, the
 * node signs its registration and heartbeats and obeys only signed head messages (signed-envelope.ts).
 */
import os from 'node:os';
import { Kvm } from '@nats-io/kv';
import { type Msg, type NatsConnection, nuid, type Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { AlreadyExistsError, InvalidArgumentError, WorkerFailedError } from '../../core/index.js';
import type { NodeResources } from '../resources.js';
import type { WorkerEndpoint, WorkerTransport } from '../transport/transport.js';
import type { ClusterKey } from './cluster-key.js';
import {
  headHelloSchema,
  NODE_ID_PATTERN,
  type NodeAdvert,
  reconcileMessageSchema,
  startWorkerMessageSchema,
  stopWorkerMessageSchema,
  subscribeParsed,
} from './nats-messages.js';
import {
  encode,
  HEARTBEAT_INTERVAL_MS,
  KV_NODES,
  kvKey,
  NODE_TIMEOUT_MS,
  type Reply,
  subjects,
  subjectToken,
} from './nats-protocol.js';
import { failureReply } from '../wire/index.js';
import { watchConnection } from './connection-watch.js';
import type { TrainingJobRunner } from './job-messages.js';
import { serveJobsOnNode } from './node-jobs.js';
import { NoAnswerError, natsRequest } from './nats-request.js';
import { CancellationRegistry, serveWorkerOverNats } from './nats-worker-server.js';
import { openSpec } from './sealed-spec.js';
import { decodeSigned, encodeSigned, signedEnvelope } from './signed-envelope.js';

export type { NodeAdvert } from './nats-messages.js';

export interface NodeAgentOptions {
  connection: NatsConnection;
  nodeId: string;
  resources: NodeResources;
  labels?: Record<string, string>;
  /** Starts workers on this machine. */
  transport: WorkerTransport;
  /** The cluster key (same file as the head's): signs this node's messages, opens sealed secrets. */
  clusterKey?: ClusterKey;
  log?: (line: string) => void;
  /** Runs training jobs the head places here (injected by the CLI); without one, none are. */
  jobRunner?: TrainingJobRunner;
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

const pingReplySchema = z.object({ instanceId: z.string(), hostname: z.string(), pid: z.number() });

/** Refuses a node id that is not one subject token, naming it. */
export function checkNodeId(nodeId: string): void {
  if (!NODE_ID_PATTERN.test(nodeId)) {
    throw new InvalidArgumentError(
      `invalid node id ${JSON.stringify(nodeId)}: 1-128 letters, digits, "_" or "-"`,
    );
  }
}

/** The default node id: this machine's host name, made a valid id. */
export function defaultNodeId(): string {
  return subjectToken(os.hostname()).slice(0, 128) || 'node';
}

/** A live node process already answering for this id (same id on two machines) is refused. */
async function refuseLiveDuplicate(connection: NatsConnection, nodeId: string): Promise<void> {
  let answer: unknown;
  try {
    const reply = await connection.request(subjects.nodePing(nodeId), encode({}), { timeout: 1_000 });
    answer = JSON.parse(new TextDecoder().decode(reply.data));
  } catch {
    return; // nobody answers: the id is free (or its last process is gone)
  }
  const other = pingReplySchema.safeParse(answer);
  const where = other.success ? ` on host ${other.data.hostname} (pid ${other.data.pid})` : '';
  throw new AlreadyExistsError(
    `node id ${nodeId} is already used by a live node${where}; give this node another --node_id`,
  );
}

export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  const { connection, nodeId, clusterKey } = options;
  checkNodeId(nodeId);
  const log = options.log ?? (() => {});
  await refuseLiveDuplicate(connection, nodeId);
  const workers = new Map<string, ServedWorker>();
  const cancellations = new CancellationRegistry(connection);
  const instanceId = nuid.next();
  const startedAt = new Date().toISOString();
  const advert = (): NodeAdvert => ({
    nodeId,
    instanceId,
    hostname: os.hostname(),
    resources: options.resources,
    labels: options.labels ?? {},
    pid: process.pid,
    startedAt,
    workers: workers.size,
  });
  const nodes = await new Kvm(connection).create(KV_NODES, { history: 1 });
  await nodes.put(kvKey(nodeId), JSON.stringify(advert()));
  const subscriptions = subscribeToHead({ options, instanceId, workers, cancellations, log });

  const jobs =
    options.jobRunner &&
    serveJobsOnNode({
      connection,
      nodeId,
      runner: options.jobRunner,
      log,
      ...(clusterKey ? { clusterKey } : {}),
    });

  const close = async () => {
    clearInterval(heartbeat);
    for (const subscription of subscriptions) subscription.unsubscribe();
    jobs?.close();
    cancellations.close();
    for (const worker of workers.values()) worker.server.close();
    await Promise.allSettled([...workers.values()].map((worker) => worker.endpoint.close()));
    workers.clear();
    await nodes.delete(kvKey(nodeId)).catch(() => {});
  };
  const beat = () =>
    connection.publish(
      subjects.heartbeat(nodeId),
      encodeSigned(clusterKey, subjects.heartbeat(nodeId), advert()),
    );
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    await register(connection, advert, clusterKey, log);
  } catch (error) {
    await close();
    throw error;
  }
  beat();
  heartbeat = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  log(`node ${nodeId} joined with ${options.resources.cpus} CPUs and ${options.resources.gpus.length} GPUs`);
  return { nodeId, workerIds: () => [...workers.keys()], close };
}

/** What the handlers of the head's messages share. */
interface AgentState {
  options: NodeAgentOptions;
  instanceId: string;
  workers: Map<string, ServedWorker>;
  cancellations: CancellationRegistry;
  log: (line: string) => void;
  /** Answers a request; replies survive a short disconnection of this node (sent again once back). */
  respond: (message: Msg, value: Reply<unknown>) => void;
  /** The head that said hello last: a worker another head placed is stopped, also one still starting. */
  latestHeadId?: string;
}

/** One subscription per head message (ping, start, stop, reconcile, hello), each parsed and signed. */
function subscribeToHead(state: Omit<AgentState, 'respond'>): Subscription[] {
  const { connection, nodeId, clusterKey } = state.options;
  const watch = watchConnection(connection);
  const agent: AgentState = {
    ...state,
    respond: (message, value) => {
      if (!message.reply) return;
      const data = encode(value);
      watch.publishReliably(() => message.respond(data));
    },
  };
  /** Subscribes to a signed head message; invalid or unsigned ones are dropped with a log line. */
  const onSigned = <Value>(
    subject: string,
    schema: z.ZodType<Value>,
    handle: (value: Value, message: Msg) => void,
  ) =>
    subscribeParsed(
      connection,
      subject,
      (message) => decodeSigned(clusterKey, message.subject, message.data, schema),
      handle,
      agent.log,
    );
  return [
    connection.subscribe(subjects.nodePing(nodeId), {
      callback: (_error, message) => {
        const pid = process.pid;
        if (message.reply)
          message.respond(encode({ instanceId: agent.instanceId, hostname: os.hostname(), pid }));
      },
    }),
    onSigned(subjects.nodeStart(nodeId), startWorkerMessageSchema, (start, message) =>
      startWorker(agent, start, message),
    ),
    onSigned(subjects.nodeStop(nodeId), stopWorkerMessageSchema, ({ workerId }, message) => {
      const worker = agent.workers.get(workerId);
      void (worker ? stopWorker(agent, workerId, worker) : Promise.resolve()).finally(() => {
        if (worker) agent.log(`stopped worker ${workerId}`);
        agent.respond(message, { ok: true, result: null });
      });
    }),
    // A node cut off long enough to be declared lost had its workers placed elsewhere: when it is
    // back, the head lists what it still runs here and the rest is stopped.
    onSigned(subjects.nodeReconcile(nodeId), reconcileMessageSchema, ({ keep }, message) => {
      const stopped: string[] = [];
      for (const [workerId, worker] of agent.workers) {
        if (keep.includes(workerId)) continue;
        void stopWorker(agent, workerId, worker);
        stopped.push(workerId);
      }
      if (stopped.length > 0)
        agent.log(`stopped ${stopped.length} workers the head placed elsewhere: ${stopped.join(', ')}`);
      agent.respond(message, { ok: true, result: { stopped } });
    }),
    onSigned(subjects.headHello, headHelloSchema, ({ headId }) => {
      agent.latestHeadId = headId;
      for (const [workerId, worker] of agent.workers) {
        if (worker.headId === headId) continue;
        agent.log(`a new head (${headId}) started: stopping ${workerId}, placed by the previous head`);
        void stopWorker(agent, workerId, worker);
      }
    }),
  ];
}

/** Starts a worker the head placed here and serves it over NATS; the reply names it or says why not. */
function startWorker(
  agent: AgentState,
  start: z.output<typeof startWorkerMessageSchema>,
  message: Msg,
): void {
  const { connection, clusterKey } = agent.options;
  const warnings: string[] = [];
  let spec: ReturnType<typeof openSpec>;
  try {
    spec = openSpec(start, clusterKey);
  } catch (error) {
    agent.log(`refused a worker start: ${(error as Error).message}`);
    agent.respond(message, failureReply(error));
    return;
  }
  agent.options.transport
    .startWorker({
      spec,
      workerIndex: start.workerIndex,
      gpuIndices: start.gpuIndices,
      warn: (line) => warnings.push(line),
    })
    .then(
      (endpoint) => {
        if (agent.latestHeadId !== undefined && agent.latestHeadId !== start.headId) {
          // Its head was replaced while it started (a head killed mid-deploy): the new head places
          // its deployments itself, so this one would run unseen beside them.
          agent.log(`a new head started while worker ${spec.name}#${start.workerIndex} started: stopping it`);
          void endpoint.close().catch(() => {});
          agent.respond(
            message,
            failureReply(new WorkerFailedError('a new head started while this worker started')),
          );
          return;
        }
        const workerId = subjectToken(`${spec.name}-${start.workerIndex}-${nuid.next()}`);
        agent.workers.set(workerId, {
          headId: start.headId,
          endpoint,
          server: serveWorkerOverNats(connection, endpoint, workerId, agent.cancellations, agent.log),
        });
        agent.log(`started worker ${spec.name}#${start.workerIndex} as ${workerId}`);
        agent.respond(message, {
          ok: true,
          result: { workerId, pid: endpoint.location.pid ?? process.pid, warnings },
        });
      },
      (error: unknown) => agent.respond(message, failureReply(error)),
    );
}

function stopWorker(agent: AgentState, workerId: string, worker: ServedWorker): Promise<void> {
  agent.workers.delete(workerId);
  worker.server.close();
  return worker.endpoint.close().catch(() => {});
}

/**
 * Registers with the head, so that `byzerllm start --address …` returns once the head knows the
 * node. A refusal is an error (never swallowed); a duplicate id is retried while the head may still
 * be timing out this node's previous process, then refused. No head yet is fine: a head that starts
 * later finds the node by its heartbeats.
 */
async function register(
  connection: NatsConnection,
  advert: () => NodeAdvert,
  clusterKey: ClusterKey | undefined,
  log: (line: string) => void,
): Promise<void> {
  const subject = subjects.admin('register');
  const deadline = Date.now() + NODE_TIMEOUT_MS + 2 * HEARTBEAT_INTERVAL_MS;
  for (;;) {
    try {
      // Signed like a heartbeat: the head admits only nodes holding the cluster key.
      await natsRequest(connection, subject, signedEnvelope(clusterKey, subject, advert()), 5_000);
      return;
    } catch (error) {
      if (error instanceof NoAnswerError) {
        log('no head answered the registration yet; it will see this node by its heartbeats');
        return;
      }
      if (!(error instanceof AlreadyExistsError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_INTERVAL_MS));
    }
  }
}
