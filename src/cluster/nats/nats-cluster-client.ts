/**
 * `ClusterApi` over NATS: what the CLI, the client library and the server use with
 * `--address nats://HOST:4222`. Reconnects on its own when the NATS server restarts.
 *
 * Nothing waits for an answer that cannot come:
 * - a request in flight when the NATS connection drops is sent again once it is back (within the
 *   fault timeout); a stream that had started ends with a retryable `worker_failed` part;
 * - while anything is in flight the head is pinged (the NATS services `PING` of `byzerllm-head`);
 *   when pings find no head for 2 s, or time out for `headTimeoutMs`, everything in flight fails
 *   with `HeadUnreachableError` (exit code 6 in the CLI), instead of waiting for a reply forever;
 * - a new request that nobody receives is sent again for a few seconds (a head reconnecting after
 *   this client), then fails with `HeadUnreachableError`.
 */
import { Empty, type NatsConnection, NoRespondersError, nuid, RequestError } from '@nats-io/transport-node';
import {
  AbortedError,
  type ByzerLLMError,
  type ChatRequest,
  type DeploymentSpecInput,
  HeadUnreachableError,
  InvalidArgumentError,
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
import { ticketOf } from '../cluster-api.js';
import type { WorkerCallKind, WorkerCallMap } from '../transport/transport.js';
import type { DeploymentStat } from '../worker-pool.js';
import { headTimeoutMs, LivenessProbe } from '../liveness-probe.js';
import { ConnectionLostError, faultTimeoutMs, watchConnection } from './connection-watch.js';
import type { RemovedJob } from './head-job-control.js';
import type { JobProgressEvent, PlacedJobRecord } from './job-messages.js';
import { NatsAccessGate } from './nats-access-gate.js';
import { NatsGovernance } from './nats-governance.js';
import { HEAD_SERVICE_NAME } from './nats-admin-server.js';
import { connectNats } from './nats-connection.js';
import { STORAGE_OPERATION_PATTERN } from './nats-messages.js';
import { subjects } from './nats-protocol.js';
import {
  NoAnswerError,
  natsRequest,
  permissionViolation,
  type ResendPolicy,
  requestWithResend,
} from './nats-request.js';
import { type NatsSecurityOptions, redactNatsUrl } from './nats-security.js';
import { requestStream } from './nats-streams.js';

/** Backstop of one admin request whose head answers pings but never this request. */
const ADMIN_TIMEOUT_MS = 12 * 60_000;
/** How long a request waits for a head to (re)appear before saying none answers. */
const NO_RESPONDER_GRACE_MS = 5_000;
/** How often the head is pinged while requests are in flight. */
const HEAD_PING_INTERVAL_MS = 1_000;

export interface NatsClusterClientOptions extends NatsSecurityOptions {
  /**
   * How long the head may leave pings unanswered (while NATS is up, the head still subscribed: busy
   * or hung) before the requests in flight fail with `HeadUnreachableError`. A head that is gone
   * (pings find no responders) fails them after 2 s. Defaults to `BYZERLLM_HEAD_TIMEOUT` (30 s).
   */
  headTimeoutMs?: number;
  /** How long a request waits for a lost NATS connection. Defaults to `BYZERLLM_FAULT_TIMEOUT` (20 s). */
  faultTimeoutMs?: number;
}

export class NatsClusterClient implements ClusterApi {
  /** The NATS address with any user, password or token masked: safe to show. */
  readonly address: string;
  private readonly probe: LivenessProbe;
  private readonly faultTimeoutMs: number;

  private constructor(
    private readonly connection: NatsConnection,
    address: string,
    options: NatsClusterClientOptions,
  ) {
    this.address = redactNatsUrl(address);
    this.faultTimeoutMs = options.faultTimeoutMs ?? faultTimeoutMs();
    const watch = watchConnection(connection);
    const shown = this.address;
    this.probe = new LivenessProbe({
      intervalMs: HEAD_PING_INTERVAL_MS,
      timeoutMs: options.headTimeoutMs ?? headTimeoutMs(),
      // A NATS outage is the connection watch's to handle; the head's clock starts again once back
      // (and the head may take a moment to subscribe again).
      paused: () => !watch.connected || Date.now() - watch.reconnectedAt < NO_RESPONDER_GRACE_MS,
      isGone: (error) =>
        error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders()),
      ping: async (timeoutMs) => {
        await connection.request(`$SRV.PING.${HEAD_SERVICE_NAME}`, Empty, { timeout: timeoutMs });
      },
      lost: (silentMs) =>
        new HeadUnreachableError(
          `the byzerllm head on ${shown} stopped answering (no answer to pings for ${(silentMs / 1000).toFixed(1)}s); ` +
            `is it running? \`byzerllm status --address ${shown}\` shows the cluster`,
        ),
      // A NATS user refused the ping would otherwise see "the head stopped answering" later.
      fatal: (error) => permissionViolation(error),
    });
  }

  /**
   * `options` may add a credentials file and TLS (user/password or a token may be in the URL) and
   * the fault bounds.
   */
  static async connect(address: string, options: NatsClusterClientOptions = {}): Promise<NatsClusterClient> {
    const security: NatsSecurityOptions = {
      ...(options.credsFile !== undefined ? { credsFile: options.credsFile } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    };
    const connection = await connectNats(address, 'byzerllm-client', security);
    return new NatsClusterClient(connection, address, options);
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

  /** Starts a training job on a node the head picks (head-jobs.ts); options as `startTrainingJob` takes. */
  startTrainingJob(options: Record<string, unknown>): Promise<PlacedJobRecord> {
    return this.admin('jobs-start', { options });
  }
  listTrainingJobs(): Promise<PlacedJobRecord[]> {
    return this.admin('jobs-list', {});
  }
  getTrainingJob(name: string): Promise<PlacedJobRecord> {
    return this.admin('jobs-show', { name });
  }
  /** The job's progress events from index `from` (default 0), as its node reported them. */
  readTrainingProgress(name: string, from = 0): Promise<JobProgressEvent[]> {
    return this.admin('jobs-logs', { name, from });
  }
  stopTrainingJob(name: string): Promise<PlacedJobRecord> {
    return this.admin('jobs-stop', { name });
  }
  /** Resumes a failed or stopped job from its newest checkpoint, on the node that ran it. */
  resumeTrainingJob(name: string): Promise<PlacedJobRecord> {
    return this.admin('jobs-resume', { name });
  }
  /** Deletes the job's files on each node it ran on and the head's record (`force` also stops an active job). */
  removeTrainingJob(name: string, force = false): Promise<RemovedJob> {
    return this.admin('jobs-rm', { name, force });
  }

  call<Kind extends WorkerCallKind>(
    name: string,
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options: ClusterCallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    if (options.signal?.aborted) return Promise.reject(new AbortedError());
    const requestId = nuid.next();
    const body = { requestId, name, kind, request, ...ticketOf(options) };
    return this.admin('call', body, options.signal, requestId);
  }

  /**
   * A Byzer storage request to the store on the head (`byzerllm.storage.<operation>`), as
   * `HeadClient.storage` over HTTP: `ByzerStorage` reaches the head's store through either.
   */
  storage(operation: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    if (!STORAGE_OPERATION_PATTERN.test(operation)) {
      return Promise.reject(
        new InvalidArgumentError(`unknown storage operation ${JSON.stringify(operation.slice(0, 64))}`),
      );
    }
    if (signal?.aborted) return Promise.reject(new AbortedError());
    const requestId = nuid.next();
    return this.request(subjects.storage(operation), { requestId, body }, signal, requestId);
  }

  async stream(
    name: string,
    request: ChatRequest,
    options: ClusterCallOptions = {},
  ): Promise<AsyncIterable<StreamPart>> {
    try {
      return await requestStream(
        this.connection,
        subjects.admin('stream'),
        { name, request, ...ticketOf(options) },
        options.signal,
        {
          onFail: (fail) => this.trackHead(fail, options.signal),
          resend: this.resendPolicy(options.signal),
        },
      );
    } catch (error) {
      throw this.explain(error);
    }
  }

  /** Resolves when the connection has reconnected after the next disconnection (NATS restarts). */
  async nextReconnect(): Promise<void> {
    for await (const status of this.connection.status()) {
      if (status.type === 'reconnect') return;
    }
  }

  /** The head's virtual keys and rate limits, for a gateway served from this process. */
  openAccessGate(log?: (line: string) => void): Promise<NatsAccessGate> {
    return NatsAccessGate.open(this.connection, log);
  }

  /**
   * The head's routes, response caches in JetStream KV and cooldowns shared with other gateways,
   * for a gateway served from this process.
   */
  openGovernance(log?: (line: string) => void): Promise<NatsGovernance> {
    return NatsGovernance.open(this.connection, log);
  }

  async close(): Promise<void> {
    this.probe.stop();
    await this.connection.drain().catch(() => {});
  }

  /**
   * Sends an admin request. "No responders" means nobody received it, so it is safe to send again:
   * after a NATS restart the head may reconnect a moment after this client does. A request in flight
   * when the connection drops is sent again once it is back.
   */
  private admin<Result>(
    operation: string,
    payload: Record<string, unknown>,
    signal?: AbortSignal,
    requestId?: string,
  ): Promise<Result> {
    return this.request(subjects.admin(operation), payload, signal, requestId);
  }

  private async request<Result>(
    subject: string,
    payload: Record<string, unknown>,
    signal?: AbortSignal,
    requestId?: string,
  ): Promise<Result> {
    try {
      return await requestWithResend(
        this.connection,
        (reconnectWaitMs) =>
          natsRequest<Result>(this.connection, subject, payload, ADMIN_TIMEOUT_MS, {
            reconnectWaitMs,
            onFail: (fail) => this.trackHead(fail, signal, requestId),
          }),
        this.resendPolicy(signal),
      );
    } catch (error) {
      throw this.explain(error);
    }
  }

  private resendPolicy(signal: AbortSignal | undefined): ResendPolicy {
    return {
      faultTimeoutMs: this.faultTimeoutMs,
      noRespondersGraceMs: NO_RESPONDER_GRACE_MS,
      settleMs: NO_RESPONDER_GRACE_MS,
      ...(signal ? { signal } : {}),
    };
  }

  /**
   * Registers work that ends when the head stops answering pings or the caller aborts (a call's
   * abort also cancels it at the head). Returns the function that unregisters it.
   */
  private trackHead(
    fail: (error: ByzerLLMError) => void,
    signal: AbortSignal | undefined,
    requestId?: string,
  ): () => void {
    const onAbort = () => {
      if (requestId) this.connection.publish(subjects.cancel(requestId));
      fail(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const untrack = this.probe.track(fail);
    return () => {
      signal?.removeEventListener('abort', onAbort);
      untrack();
    };
  }

  private explain(error: unknown): unknown {
    if (!(error instanceof NoAnswerError) && !(error instanceof ConnectionLostError)) return error;
    return new HeadUnreachableError(
      `no byzerllm head answers on ${this.address} (${error.message}); start one with \`byzerllm start --head --nats ${this.address}\``,
      { cause: error },
    );
  }
}
