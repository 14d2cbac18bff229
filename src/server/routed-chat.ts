/**
 * `POST /v1/chat/completions` for a `model` that names a route (see `Governance`): the route picks
 * the deployment(s) to try, with retries, timeouts, fallbacks and cooldowns; the answer carries the
 * route's name as `model`, and `x-byzerllm-deployment` / `x-byzerllm-attempts` say which deployment
 * answered and after how many tries (on errors too: the last one tried).
 *
 * With `cache` in the route, an identical earlier answer is sent from the cache (streamed when
 * asked: `routed-chat-cache.ts`), marked `x-byzerllm-cache: hit`; non-stream answers fill it, and
 * so do streamed ones that ran complete to their finish. An answer is stored after it was sent
 * (`storeAfterAnswer`): a cache in NATS KV costs the client no round trip to KV.
 *
 * A route whose deployments all offer the OpenAI pass-through in this process (`saas/openai`-family
 * deployments of the gateway's own head) runs its tries on it (`routed-pass-through.ts`), a key's
 * ticket included; others, and every route on a gateway that reaches its head over NATS, take the
 * general path here.
 *
 * A stream counts as answered once its first part arrived: a failure before it is a failed try
 * (the route moves on), one after it is an error event, as for any stream. A target's timeout
 * bounds the wait for that first part only, never the rest of the answer.
 */
import { randomUUID } from 'node:crypto';
import { type ActiveRoute, type Governance, openRoutedStream, type RouteProgress } from '../cluster/index.js';
import type { ChatRequest, ChatResult } from '../core/index.js';
import type { ChatBody } from './chat-request.js';
import { toChatRequest } from './chat-request.js';
import { ChatChunkWriter, chatCompletion, exchangeCompletion } from './chat-response.js';
import { type Exchange, setRouteHeaders } from './exchange.js';
import { sendJson } from './http.js';
import { badField } from './map-error.js';
import {
  cacheableResult,
  cacheKeyOf,
  replayResult,
  routeFailed,
  sendRoutedAnswer,
  skipsCache,
  storeAfterAnswer,
  StreamRecorder,
} from './routed-chat-cache.js';
import { handleRoutedPassThrough, routeOffersPassThrough } from './routed-pass-through.js';
import { pumpStream } from './stream.js';

export async function handleRoutedChat(
  exchange: Exchange,
  governance: Governance,
  parsed: ChatBody,
  route: ActiveRoute,
): Promise<number> {
  const choices = parsed.n ?? 1;
  const cacheable = route.cache !== undefined && choices === 1 && !skipsCache(exchange.request);
  const passThrough = choices === 1 && routeOffersPassThrough(exchange.cluster, route);
  // The pass-through needs the `ChatRequest` only for the cache key, which is the general path's, so
  // that gateways with and without the pass-through (NATS) share a cache in KV.
  const request = passThrough && !cacheable ? undefined : toChatRequest(parsed);
  // A stream's usage is shown only to clients that asked (a gate or cache may ask the upstream too).
  const clientUsage = parsed.stream === true && parsed.stream_options?.include_usage === true;
  exchange.resolveModel(route.name);
  const cacheKey = cacheable ? cacheKeyOf(route.name, request!) : undefined;
  if (cacheKey !== undefined) {
    // The in-process cache answers at once: no promise to wait a turn on (one over NATS is waited for).
    const lookup = route.cache!.get(cacheKey);
    const cached = lookup instanceof Promise ? await lookup : lookup;
    // A non-stream miss sends its headers with the answer, in one `writeHead` (or on its error).
    if (cached || parsed.stream) exchange.response.setHeader('x-byzerllm-cache', cached ? 'hit' : 'miss');
    if (cached) return replayCached(exchange, cached, parsed.stream === true, clientUsage);
  }
  if (passThrough) return handleRoutedPassThrough(exchange, governance, { parsed, route, cacheKey });
  return routedGeneralPath(exchange, governance, { parsed, route, cacheKey, request: request! });
}

/** A cache hit: the stored answer as JSON, or replayed as a stream. */
function replayCached(
  exchange: Exchange,
  cached: ChatResult,
  stream: boolean,
  clientUsage: boolean,
): number | Promise<number> {
  const created = Math.floor(Date.now() / 1000);
  const id = `chatcmpl-${randomUUID()}`;
  if (stream) {
    const writer = new ChatChunkWriter(id, exchange.model, created);
    return pumpStream(exchange, replayResult(cached), writer, clientUsage);
  }
  sendJson(exchange.response, 200, chatCompletion(id, exchange.model, created, [cached]));
  return 200;
}

/** A route's tries on the general path: `ChatRequest` → engine → `ChatResult`/`StreamPart`s. */
async function routedGeneralPath(
  exchange: Exchange,
  governance: Governance,
  input: { parsed: ChatBody; route: ActiveRoute; cacheKey: string | undefined; request: ChatRequest },
): Promise<number> {
  const { parsed, route, cacheKey, request } = input;
  const clientUsage = request.includeUsage === true;
  const model = exchange.model;
  const created = Math.floor(Date.now() / 1000);
  const id = `chatcmpl-${randomUUID()}`;
  const choices = parsed.n ?? 1;
  const progress: RouteProgress = { attempts: 0, deployment: '' };
  try {
    if (parsed.stream) {
      if (choices > 1) throw badField('n', `model ${route.name} is a route: it streams one choice (n = 1)`);
      if (exchange.ticket !== undefined) request.includeUsage = true;
      const parts = await governance.execute(
        route,
        (deployment, signal) =>
          openRoutedStream(exchange.cluster, {
            deployment,
            request,
            clientSignal: exchange.signal,
            attemptSignal: signal,
            ...(exchange.ticket ? { ticket: exchange.ticket.id } : {}),
          }),
        exchange.signal,
        progress,
      );
      setRouteHeaders(exchange, progress);
      const writer = new ChatChunkWriter(id, model, created);
      if (cacheKey === undefined) return await pumpStream(exchange, parts, writer, clientUsage);
      // Stored only once the whole answer reached a client still there: never after an error
      // part, a cancellation or a stream that stopped before its finish.
      const recorder = new StreamRecorder(parts);
      const status = await pumpStream(exchange, recorder, writer, clientUsage);
      const result = status === 200 && !exchange.signal.aborted ? await recorder.result() : undefined;
      if (result && !exchange.response.destroyed) storeAfterAnswer(route, cacheKey, cacheableResult(result));
      return status;
    }
    const callOnce = () =>
      governance.execute(
        route,
        (deployment, signal) => {
          const options = exchange.callOptions(deployment);
          options.signal = signal;
          return exchange.cluster.call(deployment, 'chat', request, options);
        },
        exchange.signal,
        progress,
      );
    const results =
      choices === 1 ? [await callOnce()] : await Promise.all(Array.from({ length: choices }, callOnce));
    const completion = exchangeCompletion(exchange, id, model, created, results);
    sendRoutedAnswer(exchange, progress, completion, cacheKey !== undefined);
    if (cacheKey !== undefined) storeAfterAnswer(route, cacheKey, cacheableResult(results[0]!));
    return 200;
  } catch (error) {
    routeFailed(exchange, progress, cacheKey !== undefined && !parsed.stream);
    throw error;
  }
}
