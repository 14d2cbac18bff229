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
    const lines = createInterface({ input: response.body, crlfDelay: Number.POSITIVE_INFINITY });
    return (async function* parseNdjson(): AsyncIterable<StreamPart> {
      try {
        for await (const line of lines) {
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
        lines.close();
        response.body.destroy();
      }
    })();
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
