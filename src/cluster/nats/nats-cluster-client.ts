/**
 * `ClusterApi` over NATS: what the CLI, the client library and the server use with
 * `--address nats://HOST:4222`. Reconnects on its own when the NATS server restarts.
 */
import { type NatsConnection, nuid } from '@nats-io/transport-node';
import {
  AbortedError,
  type ChatRequest,
  type DeploymentSpecInput,
  HeadUnreachableError,
  type ModelMeta,
  type StreamPart,
} from '../../core/index.js';
import type {
  ClusterApi,
  ClusterCallOptions,
  ClusterStatus,
  DeploymentInfo,
  DeployOutcome,
} from '../cluster-api.js';
import type { WorkerCallKind, WorkerCallMap } from '../transport/transport.js';
import type { DeploymentStat } from '../worker-pool.js';
import { connectNats } from './nats-connection.js';
import { subjects } from './nats-protocol.js';
import { type NatsSecurityOptions, redactNatsUrl } from './nats-security.js';
import { NoAnswerError, natsRequest } from './nats-request.js';
import { requestStream } from './nats-streams.js';

const ADMIN_TIMEOUT_MS = 10 * 60_000;
/** How long a request waits for a head to (re)appear before saying none answers. */
const NO_RESPONDER_GRACE_MS = 5_000;

export class NatsClusterClient implements ClusterApi {
  /** The NATS address with any user, password or token masked: safe to show. */
  readonly address: string;

  private constructor(
    private readonly connection: NatsConnection,
    address: string,
  ) {
    this.address = redactNatsUrl(address);
  }

  /** `security` adds a credentials file and TLS; user/password or a token may be in the URL. */
  static async connect(address: string, security: NatsSecurityOptions = {}): Promise<NatsClusterClient> {
    return new NatsClusterClient(await connectNats(address, 'byzerllm-client', security), address);
  }

  deploy(spec: DeploymentSpecInput): Promise<DeployOutcome> {
    return this.admin('deploy', { spec });
  }
  undeploy(name: string, options: { force?: boolean } = {}): Promise<{ removed: boolean }> {
    return this.admin('undeploy', { name, force: options.force === true });
  }
  list(): Promise<DeploymentInfo[]> {
    return this.admin('list', {});
  }
  stat(name: string): Promise<DeploymentStat> {
    return this.admin('stat', { name });
  }
  meta(name: string): Promise<ModelMeta> {
    return this.admin('meta', { name });
  }
  status(): Promise<ClusterStatus> {
    return this.admin('status', {});
  }

  call<Kind extends WorkerCallKind>(
    name: string,
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options: ClusterCallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    if (options.signal?.aborted) return Promise.reject(new AbortedError());
    const requestId = nuid.next();
    // One listener, removed when the call settles: the gateway passes one signal per client
    // connection, which outlives thousands of calls.
    let rejectAborted: (error: Error) => void = () => {};
    const aborted = new Promise<never>((_resolve, reject) => {
      rejectAborted = reject;
    });
    const onAbort = () => {
      this.connection.publish(subjects.cancel(requestId));
      rejectAborted(new AbortedError());
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const pending = this.admin<WorkerCallMap[Kind][1]>('call', { requestId, name, kind, request });
    return Promise.race([pending, aborted]).finally(() =>
      options.signal?.removeEventListener('abort', onAbort),
    );
  }

  stream(
    name: string,
    request: ChatRequest,
    options: ClusterCallOptions = {},
  ): Promise<AsyncIterable<StreamPart>> {
    return requestStream(this.connection, subjects.admin('stream'), { name, request }, options.signal);
  }

  /** Resolves when the connection has reconnected after the next disconnection (NATS restarts). */
  async nextReconnect(): Promise<void> {
    for await (const status of this.connection.status()) {
      if (status.type === 'reconnect') return;
    }
  }

  async close(): Promise<void> {
    await this.connection.drain().catch(() => {});
  }

  /**
   * Sends an admin request. "No responders" means nobody received it, so it is safe to send again:
   * after a NATS restart the head may reconnect a moment after this client does.
   */
  private async admin<Result>(operation: string, payload: Record<string, unknown>): Promise<Result> {
    const deadline = Date.now() + NO_RESPONDER_GRACE_MS;
    for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
      try {
        return await natsRequest<Result>(
          this.connection,
          subjects.admin(operation),
          payload,
          ADMIN_TIMEOUT_MS,
        );
      } catch (error) {
        if (!(error instanceof NoAnswerError) || !error.noResponders || Date.now() + delay > deadline) {
          throw this.explain(error);
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private explain(error: unknown): unknown {
    if (!(error instanceof NoAnswerError)) return error;
    return new HeadUnreachableError(
      `no byzerllm head answers on ${this.address}; start one with \`byzerllm start --head --nats ${this.address}\``,
    );
  }
}
