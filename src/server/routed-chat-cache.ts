/**
 * The response cache of a route, at the gateway: which requests may use it, their key, and a
 * cached answer replayed as a stream.
 *
 * A client opts out per request with `cache-control: no-cache` (or `no-store`) or
 * `x-byzerllm-cache: skip`: the request goes to the route and its answer is not stored.
 */
import type { IncomingMessage } from 'node:http';
import type { ActiveRoute, RouteProgress } from '../cluster/index.js';
import { type ChatRequest, type ChatResult, collectStream, type StreamPart } from '../core/index.js';
import { type Exchange, setRouteHeaders } from './exchange.js';
import { sendJson } from './http.js';

export function skipsCache(request: IncomingMessage): boolean {
  const control = request.headers['cache-control'];
  if (control && /\bno-(cache|store)\b/i.test(control)) return true;
  return request.headers['x-byzerllm-cache'] === 'skip';
}

/**
 * The key of a request: the route and the normalised request (model, messages, parameters, tools),
 * without what only changes how the answer is delivered (usage in a stream).
 */
export function cacheKeyOf(route: string, request: ChatRequest): string {
  // Only streams carry `includeUsage`: other requests are keyed as they are, without a copy.
  if (request.includeUsage === undefined) return JSON.stringify([route, request]);
  const { includeUsage: _includeUsage, ...rest } = request;
  return JSON.stringify([route, rest]);
}

/**
 * An answer as a route's cache stores it: without the busy seconds its worker reported, which a
 * replay does not spend (and which the cluster's KV cache would refuse as not a chat answer).
 */
export function cacheableResult(result: ChatResult): ChatResult {
  const { cpuSeconds, gpuSeconds, ...usage } = result.usage;
  if (cpuSeconds === undefined && gpuSeconds === undefined) return result;
  return { ...result, usage };
}

/**
 * Stores an answer that has been sent: the client does not wait for the store (a cache in NATS KV
 * is a round trip, up to its 1 s timeout). A store that fails is counted in the cache's
 * `storeFailures` (`/metrics`) and logged by a KV cache; the next identical request is a miss.
 * The next request of the same client may come before the store landed: it is then a miss too.
 */
export function storeAfterAnswer(route: ActiveRoute, key: string, value: ChatResult): void {
  const cache = route.cache!;
  const stored = cache.set(key, value);
  // `RouteCache.set` never rejects; should one, it is a failed store, not a crash of the gateway.
  if (stored)
    stored.catch(() => {
      cache.storeFailures++;
    });
}

/**
 * A route's non-stream answer: `x-byzerllm-deployment`, `x-byzerllm-attempts` and, for a cached
 * route, `x-byzerllm-cache: miss` go out in its one `writeHead`; the key is charged the answering
 * deployment's price.
 */
export function sendRoutedAnswer(
  exchange: Exchange,
  progress: RouteProgress,
  completion: unknown,
  cached: boolean,
): void {
  exchange.answeredBy = progress.deployment;
  const headers: Record<string, string> = {
    'x-byzerllm-deployment': progress.deployment,
    'x-byzerllm-attempts': String(progress.attempts),
  };
  if (cached) headers['x-byzerllm-cache'] = 'miss';
  sendJson(exchange.response, 200, completion, headers);
}

/** A route's failure: its headers while they can still be sent, before the error answer. */
export function routeFailed(exchange: Exchange, progress: RouteProgress, cacheMiss: boolean): void {
  if (cacheMiss && !exchange.response.headersSent) exchange.response.setHeader('x-byzerllm-cache', 'miss');
  setRouteHeaders(exchange, progress);
}

/** A cached answer as the stream parts an engine would have sent. */
export async function* replayResult(result: ChatResult): AsyncIterable<StreamPart> {
  yield { type: 'response-metadata', requestId: result.requestId };
  if (result.reasoning) yield { type: 'reasoning-delta', delta: result.reasoning };
  if (result.text) yield { type: 'text-delta', delta: result.text };
  for (const toolCall of result.toolCalls) yield { type: 'tool-call', toolCall };
  yield { type: 'finish', finishReason: result.finishReason, usage: result.usage };
}

/**
 * Passes a routed stream through while keeping its parts, so that a stream that ran to its
 * `finish` can fill the cache afterwards. `result()` is the assembled answer only for a complete
 * stream: none after an error part, a stream cut short, or audio (a cached answer replays text).
 */
export class StreamRecorder {
  private readonly parts: StreamPart[] = [];

  constructor(private readonly source: AsyncIterable<StreamPart>) {}

  async *[Symbol.asyncIterator](): AsyncIterator<StreamPart> {
    for await (const part of this.source) {
      this.parts.push(part);
      yield part;
    }
  }

  async result(): Promise<ChatResult | undefined> {
    const last = this.parts.at(-1);
    if (last?.type !== 'finish') return undefined;
    if (this.parts.some((part) => part.type === 'error' || part.type === 'audio-delta')) return undefined;
    const parts = this.parts;
    return collectStream(
      (async function* () {
        yield* parts;
      })(),
    );
  }
}
