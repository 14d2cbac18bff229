/**
 * `ClusterApi` over the head's admin HTTP API: what the CLI and remote clients use.
 *
 * Errors come back as the same `ByzerLLMError` subclasses the head threw (`decodeError`); a head
 * that cannot be reached gives `HeadUnreachableError` naming the address. While requests are in
 * flight the head's `/health` is pinged: a head that died (2 s) or hangs (`headTimeoutMs`) fails
 * them with `HeadUnreachableError`, instead of leaving them waiting for its answer.
 */
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import {
  type ChatRequest,
  type DeploymentSpecInput,
  HeadUnreachableError,
  type ModelMeta,
  type ByzerLLMError,
  type SerializedError,
  type StreamPart,
  toByzerLLMError,
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
import { decodeError, encodeBinary, reviveBinary } from '../wire/index.js';
import type { GatewayStartOptions, OpenedGateway } from './gateway-host.js';
import { readNdjsonParts } from './ndjson-reader.js';
import { StreamChannelClient, untilAborted } from './stream-channel-client.js';
import type { GovernanceStat, KeySettings, KeyView, RateLimits } from '../governance/index.js';
import type { RouteSummary } from './route-endpoints.js';

/** A gateway held open by this client; it stops when `close()` is called or this process dies. */
export interface AttachedGateway extends OpenedGateway {
  /** Resolves when the head ends the attachment (it stopped or died). */
  closed: Promise<void>;
  close(): void;
}

export interface HeadClientOptions {
  /** `http://127.0.0.1:PORT` */
  address: string;
  token: string;
  /**
   * How long the head may leave `/health` unanswered (busy or hung) while requests wait. A head that
   * refuses connections (gone) fails them after 2 s. Defaults to `BYZERLLM_HEAD_TIMEOUT` (30 s).
   */
  headTimeoutMs?: number;
}

/** How often `/health` is pinged while requests are in flight. */
const HEALTH_PING_INTERVAL_MS = 1_000;

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export class HeadClient implements ClusterApi {
  private readonly pool: Pool;
  private readonly probe: LivenessProbe;
  /** The stream channel, once a stream asked for it; reopened after the connection closes. */
  private channel: Promise<StreamChannelClient | undefined> | undefined;
  /** The head answered the upgrade with 404: it has no stream channel. */
  private channelRefused = false;

  constructor(private readonly options: HeadClientOptions) {
    this.pool = new Pool(options.address, { connections: 128, pipelining: 1 });
    this.probe = new LivenessProbe({
      intervalMs: HEALTH_PING_INTERVAL_MS,
      timeoutMs: options.headTimeoutMs ?? headTimeoutMs(),
      isGone: (error) => (error as { code?: unknown }).code === 'ECONNREFUSED',
      ping: async (timeoutMs) => {
        const response = await this.pool.request({
          method: 'GET',
          path: '/health',
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.body.dump();
      },
      lost: (silentMs) =>
        new HeadUnreachableError(
          `the byzerllm head at ${options.address} stopped answering (no answer to /health for ${(silentMs / 1000).toFixed(1)}s); is it running? try \`byzerllm status\``,
        ),
    });
  }

  get address(): string {
    return this.options.address;
  }

  deploy(spec: DeploymentSpecInput): Promise<DeployOutcome> {
    return this.json('POST', '/admin/v1/deployments', spec);
  }

  undeploy(name: string, options: { force?: boolean } = {}): Promise<{ removed: boolean }> {
    return this.json(
      'DELETE',
      `/admin/v1/deployments/${encodeURIComponent(name)}?force=${options.force === true}`,
    );
  }

  list(): Promise<DeploymentInfo[]> {
    return this.json('GET', '/admin/v1/deployments');
  }

  stat(name: string): Promise<DeploymentStat> {
    return this.json('GET', `/admin/v1/deployments/${encodeURIComponent(name)}/stat`);
  }

  meta(name: string): Promise<ModelMeta> {
    return this.json('GET', `/admin/v1/deployments/${encodeURIComponent(name)}/meta`);
  }

  status(): Promise<ClusterStatus> {
    return this.json('GET', '/admin/v1/status');
  }

  shutdown(): Promise<{ stopping: boolean }> {
    return this.json('POST', '/admin/v1/shutdown', {});
  }

  async call<Kind extends WorkerCallKind>(
    name: string,
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options: ClusterCallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    const result = await this.json(
      'POST',
      `/admin/v1/deployments/${encodeURIComponent(name)}/call`,
      { kind, request: encodeBinary(request), ...ticketOf(options) },
      options.signal,
    );
    return reviveBinary(result) as WorkerCallMap[Kind][1];
  }

  /**
   * Streams over the head's stream channel (`stream-channel.ts`): one WebSocket carries
   * all of this client's streams, opened on the first. A head without one (404) is streamed from
   * over the admin API's HTTP route, one request per stream.
   */
  async stream(
    name: string,
    request: ChatRequest,
    options: ClusterCallOptions = {},
  ): Promise<AsyncIterable<StreamPart>> {
    const watched = this.watchHead(options.signal);
    let channel: StreamChannelClient | undefined;
    try {
      channel = await untilAborted(this.streamChannel(), watched.signal);
      if (channel) {
        return await channel.open({
          name,
          request,
          ...ticketOf(options),
          signal: watched.signal,
          lost: watched.lost,
          done: watched.done,
        });
      }
    } catch (error) {
      watched.done();
      throw watched.lost() ?? error;
    }
    watched.done();
    return this.streamOverHttp(name, request, options);
  }

  /** `POST /admin/v1/deployments/:name/stream`, read as NDJSON. */
  private async streamOverHttp(
    name: string,
    request: ChatRequest,
    options: ClusterCallOptions,
  ): Promise<AsyncIterable<StreamPart>> {
    const watched = this.watchHead(options.signal);
    let response: Awaited<ReturnType<HeadClient['send']>>;
    try {
      response = await this.send(
        'POST',
        `/admin/v1/deployments/${encodeURIComponent(name)}/stream`,
        { request, ...ticketOf(options) },
        watched.signal,
      );
      if (response.statusCode >= 400) throw await errorFromResponse(response.body, response.statusCode);
    } catch (error) {
      watched.done();
      throw watched.lost() ?? error;
    }
    return readNdjsonParts(response.body, { lost: watched.lost, done: watched.done });
  }

  /**
   * The stream channel, connected on first use and again after it closed; `undefined` when the
   * head has none (remembered) or the upgrade failed (the HTTP route then reports why).
   */
  private streamChannel(): Promise<StreamChannelClient | undefined> {
    if (this.channelRefused) return Promise.resolve(undefined);
    this.channel ??= StreamChannelClient.connect(this.options.address, this.options.token, () => {
      this.channel = undefined;
    }).then(
      (channel) => {
        if (!channel) {
          this.channelRefused = true;
          this.channel = undefined;
        }
        return channel;
      },
      () => {
        this.channel = undefined;
        return undefined;
      },
    );
    return this.channel;
  }

  /** Opens an OpenAI-compatible gateway in the head process (`byzerllm serve`). */
  async openGateway(options: GatewayStartOptions): Promise<AttachedGateway> {
    const abort = new AbortController();
    let response: Awaited<ReturnType<Pool['request']>>;
    try {
      response = await this.pool.request({
        method: 'POST',
        path: '/admin/v1/gateways',
        headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(options),
        signal: abort.signal,
        // The attachment is idle by design for as long as the gateway runs.
        bodyTimeout: 0,
      });
    } catch (error) {
      throw new HeadUnreachableError(
        `cannot reach the byzerllm head at ${this.options.address} (${(error as Error).message})`,
        { cause: error },
      );
    }
    if (response.statusCode >= 400) throw await errorFromResponse(response.body, response.statusCode);
    const lines = createInterface({ input: response.body, crlfDelay: Number.POSITIVE_INFINITY });
    const iterator = lines[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done) throw new HeadUnreachableError('the head closed the gateway before it opened');
    const opened = JSON.parse(first.value) as OpenedGateway;
    const closed = new Promise<void>((resolve) => {
      response.body.once('close', () => resolve());
      response.body.once('error', () => resolve());
      response.body.resume();
    });
    return { ...opened, closed, close: () => abort.abort() };
  }

  /** A Byzer storage request to the store on the head (see `StorageHost`). */
  storage(operation: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.json('POST', `/admin/v1/storage/${encodeURIComponent(operation)}`, body, signal);
  }

  /** Routing configs on the head (see `Governance`); `config` is validated there. */
  readonly routes = {
    list: (): Promise<RouteSummary[]> => this.json('GET', '/admin/v1/routes'),
    get: (name: string): Promise<RouteSummary> =>
      this.json('GET', `/admin/v1/routes/${encodeRouteName(name)}`),
    set: (name: string, config: unknown): Promise<{ name: string; created: boolean }> =>
      this.json('PUT', `/admin/v1/routes/${encodeRouteName(name)}`, config),
    remove: (name: string): Promise<{ removed: boolean }> =>
      this.json('DELETE', `/admin/v1/routes/${encodeRouteName(name)}`),
    stat: (): Promise<GovernanceStat> => this.json('GET', '/admin/v1/route-stat'),
  };

  /** Virtual keys on the head (see `VirtualKeyStore`); settings are validated there. */
  readonly keys = {
    list: (): Promise<KeyView[]> => this.json('GET', '/admin/v1/keys'),
    /** One key by id or listed prefix, with its spend. */
    get: (id: string): Promise<KeyView> => this.json('GET', `/admin/v1/keys/${encodeURIComponent(id)}`),
    create: (settings: KeySettings): Promise<{ key: string; view: KeyView }> =>
      this.json('POST', '/admin/v1/keys', settings),
    revoke: (id: string): Promise<KeyView> => this.json('DELETE', `/admin/v1/keys/${encodeURIComponent(id)}`),
  };

  /** rpm/tpm limits per deployment or route name on the head. */
  readonly limits = {
    list: (): Promise<Record<string, RateLimits>> => this.json('GET', '/admin/v1/limits'),
    set: (name: string, limits: RateLimits): Promise<{ name: string; limits: RateLimits }> =>
      this.json('PUT', `/admin/v1/limits/${encodeRouteName(name)}`, limits),
    remove: (name: string): Promise<{ removed: boolean }> =>
      this.json('DELETE', `/admin/v1/limits/${encodeRouteName(name)}`),
  };

  close(): Promise<void> {
    this.probe.stop();
    void this.channel?.then((channel) => channel?.destroy());
    return this.pool.close();
  }

  private async json<Result>(
    method: Method,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<Result> {
    const watched = this.watchHead(signal);
    try {
      const response = await this.send(method, path, body, watched.signal);
      if (response.statusCode >= 400) throw await errorFromResponse(response.body, response.statusCode);
      return (await response.body.json()) as Result;
    } catch (error) {
      throw watched.lost() ?? error;
    } finally {
      watched.done();
    }
  }

  /**
   * A signal for one request that aborts with the caller's signal or when the head stops answering
   * pings; `lost()` is the error to report in the second case.
   */
  private watchHead(signal: AbortSignal | undefined): {
    signal: AbortSignal;
    lost(): HeadUnreachableError | undefined;
    done(): void;
  } {
    const controller = new AbortController();
    let lostWith: HeadUnreachableError | undefined;
    const onAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const untrack = this.probe.track((error) => {
      lostWith = error as HeadUnreachableError;
      controller.abort(error);
    });
    return {
      signal: controller.signal,
      lost: () => lostWith,
      done: () => {
        untrack();
        signal?.removeEventListener('abort', onAbort);
      },
    };
  }

  private async send(method: Method, path: string, body: unknown, signal: AbortSignal | undefined) {
    try {
      return await this.pool.request({
        method,
        path,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      const failure = toByzerLLMError(error);
      if (failure.code === 'aborted') throw failure;
      throw new HeadUnreachableError(
        `cannot reach the byzerllm head at ${this.options.address} (${(error as Error).message}); is it running? try \`byzerllm status\``,
        { cause: error },
      );
    }
  }
}

async function errorFromResponse(body: { text(): Promise<string> }, status: number): Promise<ByzerLLMError> {
  const text = await body.text();
  try {
    const parsed = JSON.parse(text) as { error?: SerializedError };
    if (parsed.error?.code) return decodeError(parsed.error);
  } catch {
    // fall through: not our error body
  }
  return decodeError({
    name: 'ByzerLLMError',
    code: 'internal',
    message: `the head answered HTTP ${status}: ${text.slice(0, 200)}`,
    isRetryable: false,
  });
}

/** Each segment encoded on its own, so a name with `/` keeps its slashes as path separators. */
function encodeRouteName(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}
