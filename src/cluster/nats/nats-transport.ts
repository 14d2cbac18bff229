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
import { faultTimeoutMs } from './connection-watch.js';
import { startedWorkerSchema } from './nats-messages.js';
import { NODE_TIMEOUT_MS, subjects } from './nats-protocol.js';
import { natsRequest, type ResendPolicy, requestWithResend } from './nats-request.js';
import { requestStream } from './nats-streams.js';
import { sealSpec } from './sealed-spec.js';
import { signedEnvelope } from './signed-envelope.js';

/** How long a node may take to load a model for a worker. */
const START_TIMEOUT_MS = 10 * 60_000;

/** The bounds of waiting on a worker over NATS. */
export interface NatsTransportTimeouts {
  /**
   * Backstop of one non-stream call whose node still heartbeats but never answers. Faults end calls
   * much sooner: a lost node fails them after `NODE_TIMEOUT_MS`, a dropped NATS connection at once.
   * It is longer than the engines' own total deadline (`saas.deadline`, 600 s by default), so that
   * an engine's own timeout error, which names the upstream, is what the caller sees. Defaults to 11 min.
   */
  callTimeoutMs: number;
  /** How long a call waits for a lost NATS connection to come back. Defaults to `BYZERLLM_FAULT_TIMEOUT`. */
  faultTimeoutMs: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 11 * 60_000;

export interface NatsTransportOptions extends Partial<NatsTransportTimeouts> {
  /** Signs what the head asks of nodes and seals the secrets in start requests. */
  clusterKey?: ClusterKey;
}

export interface StartedWorker {
  workerId: string;
  pid?: number;
  warnings: string[];
}

export class NatsTransport implements WorkerTransport {
  readonly name = 'nats';
  private readonly endpoints = new Set<NatsWorkerEndpoint>();

  private readonly timeouts: NatsTransportTimeouts;
  private readonly clusterKey: ClusterKey | undefined;

  /**
   * `headId` tells node agents which head placed a worker (a new head drops older workers).
   * `options.clusterKey` signs what the head asks of nodes and seals the secrets in start requests.
   */
  constructor(
    private readonly connection: NatsConnection,
    readonly headId: string = nuid.next(),
    options: NatsTransportOptions = {},
  ) {
    this.clusterKey = options.clusterKey;
    this.timeouts = {
      callTimeoutMs: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      faultTimeoutMs: options.faultTimeoutMs ?? faultTimeoutMs(),
    };
  }

  async startWorker(options: StartWorkerOptions): Promise<WorkerEndpoint> {
    const node = options.node;
    if (!node) throw new InvalidArgumentError('the NATS transport needs the node to start a worker on');
    const key = this.clusterKey;
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
      { id: reply.workerId, node, pid: reply.pid },
      this.timeouts,
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

  readonly id: string;

  constructor(
    private readonly connection: NatsConnection,
    worker: { id: string; node: string; pid: number | undefined },
    private readonly timeouts: NatsTransportTimeouts,
    private readonly onClose: () => void,
    private readonly clusterKey: ClusterKey | undefined,
  ) {
    this.id = worker.id;
    this.location = worker.pid === undefined ? { node: worker.node } : { node: worker.node, pid: worker.pid };
  }

  async call<Kind extends WorkerCallKind>(
    kind: Kind,
    callRequest: WorkerCallMap[Kind][0],
    options: CallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    if (options.signal?.aborted) throw new AbortedError();
    const requestId = nuid.next();
    const onAbort = () => this.connection.publish(subjects.cancel(requestId));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // Sent again to this worker when the head's own connection dropped meanwhile (NATS restarted),
      // never when the node stopped answering: that is for the deployment to retry elsewhere.
      return await requestWithResend(
        this.connection,
        (reconnectWaitMs) =>
          natsRequest<WorkerCallMap[Kind][1]>(
            this.connection,
            subjects.workerCall(this.id),
            { requestId, kind, request: callRequest },
            this.timeouts.callTimeoutMs,
            { reconnectWaitMs, onFail: (fail) => this.trackInFlight(fail, options.signal) },
          ),
        this.resendPolicy(options.signal),
      );
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  stream(streamRequest: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    return requestStream(
      this.connection,
      subjects.workerStream(this.id),
      { request: streamRequest },
      options.signal,
      {
        onFail: (fail) => this.trackInFlight(fail, options.signal),
        resend: this.resendPolicy(options.signal),
      },
    );
  }

  /** Registers work that `fail` ends when this worker's node is lost (or the caller aborts). */
  private trackInFlight(fail: (error: ByzerLLMError) => void, signal?: AbortSignal): () => void {
    const onAbort = () => fail(new AbortedError());
    this.inFlight.add(fail);
    signal?.addEventListener('abort', onAbort, { once: true });
    return () => {
      this.inFlight.delete(fail);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  private resendPolicy(signal: AbortSignal | undefined): ResendPolicy {
    return {
      faultTimeoutMs: this.timeouts.faultTimeoutMs,
      noRespondersGraceMs: 0,
      settleMs: NODE_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    };
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
