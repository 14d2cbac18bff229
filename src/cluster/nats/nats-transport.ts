/**
 * The head side of the NATS transport: starts workers on node agents and reaches them over NATS.
 *
 * Passes the transport conformance suite like the in-process transport. When a node is lost,
 * `failNode` ends every call in flight on it with a retryable `WorkerFailedError` (the deployment
 * retries non-stream calls elsewhere) and every stream with an `error` part.
 */
import { type NatsConnection, nuid } from '@nats-io/transport-node';
import {
  AbortedError,
  type ByzerLLMError,
  type CallOptions,
  type ChatRequest,
  InvalidArgumentError,
  type StreamPart,
  toByzerLLMError,
  WorkerFailedError,
} from '../../core/index.js';
import type {
  StartWorkerOptions,
  WorkerCallKind,
  WorkerCallMap,
  WorkerEndpoint,
  WorkerTransport,
} from '../transport/transport.js';
import type { ClusterKey } from './cluster-key.js';
import { startedWorkerSchema } from './nats-messages.js';
import { subjects } from './nats-protocol.js';
import { natsRequest } from './nats-request.js';
import { requestStream } from './nats-streams.js';
import { sealSpec } from './sealed-spec.js';
import { signedEnvelope } from './signed-envelope.js';

/** How long a node may take to load a model for a worker. */
const START_TIMEOUT_MS = 10 * 60_000;
/** Upper bound of one non-stream call (engines have their own, shorter timeouts). */
const CALL_TIMEOUT_MS = 30 * 60_000;

export interface StartedWorker {
  workerId: string;
  pid?: number;
  warnings: string[];
}

export class NatsTransport implements WorkerTransport {
  readonly name = 'nats';
  private readonly endpoints = new Set<NatsWorkerEndpoint>();

  /**
   * `headId` tells node agents which head placed a worker (a new head drops older workers).
   * `clusterKey` signs what the head asks of nodes and seals the secrets in start requests.
   */
  constructor(
    private readonly connection: NatsConnection,
    readonly headId: string = nuid.next(),
    private readonly security: { clusterKey?: ClusterKey } = {},
  ) {}

  async startWorker(options: StartWorkerOptions): Promise<WorkerEndpoint> {
    const node = options.node;
    if (!node) throw new InvalidArgumentError('the NATS transport needs the node to start a worker on');
    const key = this.security.clusterKey;
    const answer = await natsRequest<unknown>(
      this.connection,
      subjects.nodeStart(node),
      signedEnvelope(key, subjects.nodeStart(node), {
        ...sealSpec(options.spec, key),
        workerIndex: options.workerIndex,
        gpuIndices: options.gpuIndices,
        headId: this.headId,
      }),
      START_TIMEOUT_MS,
    );
    const started = startedWorkerSchema.safeParse(answer);
    if (!started.success)
      throw new WorkerFailedError(`node ${node} answered a worker start with an invalid reply`);
    const reply: StartedWorker = started.data;
    for (const warning of reply.warnings) options.warn(warning);
    const endpoint = new NatsWorkerEndpoint(
      this.connection,
      reply.workerId,
      node,
      reply.pid,
      () => this.endpoints.delete(endpoint),
      key,
    );
    this.endpoints.add(endpoint);
    return endpoint;
  }

  /** Fails everything in flight on a lost node. */
  failNode(node: string, reason: string): void {
    for (const endpoint of this.endpoints) {
      if (endpoint.location.node === node)
        endpoint.fail(new WorkerFailedError(`node ${node} was lost: ${reason}`));
    }
  }
}

class NatsWorkerEndpoint implements WorkerEndpoint {
  readonly location: { node: string; pid?: number };
  private readonly inFlight = new Set<(error: ByzerLLMError) => void>();
  private closed = false;

  constructor(
    private readonly connection: NatsConnection,
    readonly id: string,
    node: string,
    pid: number | undefined,
    private readonly onClose: () => void,
    private readonly clusterKey: ClusterKey | undefined,
  ) {
    this.location = pid === undefined ? { node } : { node, pid };
  }

  call<Kind extends WorkerCallKind>(
    kind: Kind,
    callRequest: WorkerCallMap[Kind][0],
    options: CallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    if (options.signal?.aborted) return Promise.reject(new AbortedError());
    const requestId = nuid.next();
    return new Promise((resolve, reject) => {
      const fail = (error: ByzerLLMError) => {
        cleanup();
        reject(error);
      };
      const onAbort = () => {
        this.connection.publish(subjects.cancel(requestId));
        fail(new AbortedError());
      };
      const cleanup = () => {
        this.inFlight.delete(fail);
        options.signal?.removeEventListener('abort', onAbort);
      };
      this.inFlight.add(fail);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      natsRequest<WorkerCallMap[Kind][1]>(
        this.connection,
        subjects.workerCall(this.id),
        { requestId, kind, request: callRequest },
        CALL_TIMEOUT_MS,
      ).then(
        (result) => {
          cleanup();
          resolve(result);
        },
        (error: unknown) => fail(toByzerLLMError(error)),
      );
    });
  }

  stream(streamRequest: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    return requestStream(
      this.connection,
      subjects.workerStream(this.id),
      { request: streamRequest },
      options.signal,
      {
        onFail: (fail) => {
          this.inFlight.add(fail);
          return () => this.inFlight.delete(fail);
        },
      },
    );
  }

  fail(error: ByzerLLMError): void {
    for (const fail of [...this.inFlight]) fail(error);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    try {
      await natsRequest<null>(
        this.connection,
        subjects.nodeStop(this.location.node),
        signedEnvelope(this.clusterKey, subjects.nodeStop(this.location.node), { workerId: this.id }),
        10_000,
      );
    } catch {
      // The node may already be gone; its workers went with it.
    }
  }
}
