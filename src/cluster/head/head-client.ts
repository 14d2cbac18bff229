/**
 * `ClusterApi` over the head's admin HTTP API: what the CLI and remote clients use.
 *
 * Errors come back as the same `ByzerLLMError` subclasses the head threw (`errorFromJSON`); a head
 * that cannot be reached gives `HeadUnreachableError` naming the address.
 */
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import {
  type ChatRequest,
  type DeploymentSpecInput,
  errorFromJSON,
  HeadUnreachableError,
  type ModelMeta,
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
import type { WorkerCallKind, WorkerCallMap } from '../transport/transport.js';
import type { DeploymentStat } from '../worker-pool.js';
import { encodeBinary, reviveBinary } from './admin-api.js';
import type { GatewayStartOptions, OpenedGateway } from './gateway-host.js';

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
}

type Method = 'GET' | 'POST' | 'DELETE';

export class HeadClient implements ClusterApi {
  private readonly pool: Pool;

  constructor(private readonly options: HeadClientOptions) {
    this.pool = new Pool(options.address, { connections: 128, pipelining: 1 });
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
      { kind, request: encodeBinary(request) },
      options.signal,
    );
    return reviveBinary(result) as WorkerCallMap[Kind][1];
  }

  async stream(
    name: string,
    request: ChatRequest,
    options: ClusterCallOptions = {},
  ): Promise<AsyncIterable<StreamPart>> {
    const response = await this.send(
      'POST',
      `/admin/v1/deployments/${encodeURIComponent(name)}/stream`,
      { request },
      options.signal,
    );
    if (response.statusCode >= 400) throw await errorFromResponse(response.body, response.statusCode);
    const body = response.body;
    return (async function* parseNdjson(): AsyncIterable<StreamPart> {
      try {
        for await (const line of ndjsonLines(body)) {
          if (line === '') continue;
          const part = JSON.parse(line) as StreamPart | { type: 'error'; error: SerializedError };
          if (part.type === 'error') {
            yield { type: 'error', error: errorFromJSON(part.error as SerializedError) };
            return;
          }
          yield (part.type === 'audio-delta' ? reviveBinary(part) : part) as StreamPart;
        }
      } catch (error) {
        yield { type: 'error', error: toByzerLLMError(error) };
      } finally {
        body.destroy();
      }
    })();
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

  close(): Promise<void> {
    return this.pool.close();
  }

  private async json<Result>(
    method: Method,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<Result> {
    const response = await this.send(method, path, body, signal);
    if (response.statusCode >= 400) throw await errorFromResponse(response.body, response.statusCode);
    return (await response.body.json()) as Result;
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

/**
 * Splits a body into lines, pulling chunks only as the consumer asks. (A readline interface emits
 * lines as events and drops those that arrive before, or while, its consumer is busy elsewhere.)
 */
async function* ndjsonLines(body: AsyncIterable<Buffer | string>): AsyncIterable<string> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  }
  pending += decoder.decode();
  if (pending !== '') yield pending;
}

async function errorFromResponse(
  body: { text(): Promise<string> },
  status: number,
): Promise<ReturnType<typeof errorFromJSON>> {
  const text = await body.text();
  try {
    const parsed = JSON.parse(text) as { error?: SerializedError };
    if (parsed.error?.code) return errorFromJSON(parsed.error);
  } catch {
    // fall through: not our error body
  }
  return errorFromJSON({
    name: 'ByzerLLMError',
    code: 'internal',
    message: `the head answered HTTP ${status}: ${text.slice(0, 200)}`,
    isRetryable: false,
  });
}
