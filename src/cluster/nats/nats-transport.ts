/**
 * The head side of the NATS transport: starts workers on node agents and reaches them over NATS.
 *
 * Passes the transport conformance suite like the in-process transport. When a node is lost,
 * `failNode` ends every call in flight on it with a retryable `WorkerFailedError` (the deployment
 * retries non-stream calls elsewhere) and every stream with an `error` part.
 */
import { createInbox, type NatsConnection, nuid, type Subscription } from '@nats-io/transport-node';
import {
  AbortedError,
  type ByzerLLMError,
  type CallOptions,
  type ChatRequest,
  errorFromJSON,
  InvalidArgumentError,
  type SerializedError,
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
import { decode, encode, type Reply, STREAM_WINDOW, type StreamMessage, subjects } from './nats-protocol.js';

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

  constructor(private readonly connection: NatsConnection) {}

  async startWorker(options: StartWorkerOptions): Promise<WorkerEndpoint> {
    const node = options.node;
    if (!node) throw new InvalidArgumentError('the NATS transport needs the node to start a worker on');
    const reply = await request<StartedWorker>(
      this.connection,
      subjects.nodeStart(node),
      { spec: options.spec, workerIndex: options.workerIndex, gpuIndices: options.gpuIndices },
      START_TIMEOUT_MS,
    );
    for (const warning of reply.warnings) options.warn(warning);
    const endpoint = new NatsWorkerEndpoint(this.connection, reply.workerId, node, reply.pid, () =>
      this.endpoints.delete(endpoint),
    );
    this.endpoints.add(endpoint);
    return endpoint;
  }

  /** Fails everything in flight on a lost node. */
  failNode(node: string, reason: string): void {
    for (const endpoint of this.endpoints) {
      if (endpoint.location.node === node) endpoint.fail(new WorkerFailedError(`node ${node} was lost: ${reason}`));
    }
  }
}

async function request<Result>(
  connection: NatsConnection,
  subject: string,
  payload: unknown,
  timeoutMs: number,
): Promise<Result> {
  let message: Awaited<ReturnType<NatsConnection['request']>>;
  try {
    message = await connection.request(subject, encode(payload), { timeout: timeoutMs });
  } catch (error) {
    throw new WorkerFailedError(`no answer on ${subject}: ${(error as Error).message}`, { cause: error });
  }
  const reply = decode<Reply<Result>>(message.data);
  if (!reply.ok) throw errorFromJSON(reply.error);
  return reply.result;
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
      request<WorkerCallMap[Kind][1]>(
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

  async stream(streamRequest: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    if (options.signal?.aborted) throw new AbortedError();
    const requestId = nuid.next();
    const inbox = createInbox();
    const subscription = this.connection.subscribe(inbox);
    try {
      await request<null>(this.connection, subjects.workerStream(this.id), { requestId, inbox, request: streamRequest }, 30_000);
    } catch (error) {
      subscription.unsubscribe();
      throw error;
    }
    return this.readParts(subscription, inbox, requestId, options.signal);
  }

  private async *readParts(
    subscription: Subscription,
    inbox: string,
    requestId: string,
    signal: AbortSignal | undefined,
  ): AsyncIterable<StreamPart> {
    let lostWith: ByzerLLMError | undefined;
    const fail = (error: ByzerLLMError) => {
      lostWith = error;
      subscription.unsubscribe();
    };
    const onAbort = () => {
      this.connection.publish(subjects.cancel(requestId));
      subscription.unsubscribe();
    };
    this.inFlight.add(fail);
    signal?.addEventListener('abort', onAbort, { once: true });
    let received = 0;
    try {
      for await (const message of subscription) {
        const { part } = decode<StreamMessage>(message.data) as { part: StreamPart | { type: 'error'; error: SerializedError } };
        received++;
        if (received % (STREAM_WINDOW / 4) === 0) {
          this.connection.publish(`${inbox}.ack`, encode({ acknowledged: received }));
        }
        if (part.type === 'error') {
          yield { type: 'error', error: errorFromJSON(part.error as SerializedError) };
          return;
        }
        yield part as StreamPart;
        if (part.type === 'finish') return;
      }
      if (lostWith) yield { type: 'error', error: lostWith };
      else if (signal?.aborted) yield { type: 'error', error: new AbortedError() };
    } finally {
      this.inFlight.delete(fail);
      signal?.removeEventListener('abort', onAbort);
      subscription.unsubscribe();
      if (!signal?.aborted) this.connection.publish(subjects.cancel(requestId));
    }
  }

  fail(error: ByzerLLMError): void {
    for (const fail of [...this.inFlight]) fail(error);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    try {
      await request<null>(this.connection, subjects.nodeStop(this.location.node), { workerId: this.id }, 10_000);
    } catch {
      // The node may already be gone; its workers went with it.
    }
  }
}
