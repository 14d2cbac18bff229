/**
 * `POST /v1/chat/completions` for a `model` that names a route (see `Governance`): the route picks
 * the deployment(s) to try, with retries, timeouts, fallbacks and cooldowns; the answer carries the
 * route's name as `model`, and `x-byzerllm-deployment` / `x-byzerllm-attempts` say which deployment
 * answered and after how many tries (on errors too: the last one tried).
 *
 * With `cache` in the route, an identical earlier answer is sent from the cache (streamed when
 * asked: `routed-chat-cache.ts`), marked `x-byzerllm-cache: hit`; non-stream answers fill it, and
 * so do streamed ones that ran complete to their finish.
 *
 * A stream counts as answered once its first part arrived: a failure before it is a failed try
 * (the route moves on), one after it is an error event, as for any stream. A target's timeout
 * bounds the wait for that first part only, never the rest of the answer.
 */
import { randomUUID } from 'node:crypto';
import { type ActiveRoute, type Governance, openRoutedStream, type RouteProgress } from '../cluster/index.js';
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
  skipsCache,
  StreamRecorder,
} from './routed-chat-cache.js';
import { pumpStream } from './stream.js';

export async function handleRoutedChat(
  exchange: Exchange,
  governance: Governance,
  parsed: ChatBody,
  route: ActiveRoute,
): Promise<number> {
  const request = toChatRequest(parsed);
  // A key or limit is charged a stream's usage, which an upstream sends only when asked: the gate
  // asks for it whenever the request has a ticket, and only clients that asked too are shown it.
  const clientUsage = request.includeUsage === true;
  const model = exchange.resolveModel(route.name);
  const created = Math.floor(Date.now() / 1000);
  const id = `chatcmpl-${randomUUID()}`;
  const choices = parsed.n ?? 1;
  const progress: RouteProgress = { attempts: 0, deployment: '' };
  const cacheKey =
    route.cache && choices === 1 && !skipsCache(exchange.request)
      ? cacheKeyOf(route.name, request)
      : undefined;
  if (cacheKey !== undefined) {
    // The in-process cache answers at once: no promise to wait a turn on (one over NATS is waited for).
    const lookup = route.cache!.get(cacheKey);
    const cached = lookup instanceof Promise ? await lookup : lookup;
    // A non-stream miss sends its headers with the answer, in one `writeHead` (or on its error).
    if (cached || parsed.stream) exchange.response.setHeader('x-byzerllm-cache', cached ? 'hit' : 'miss');
    if (cached) {
      if (parsed.stream) {
        const writer = new ChatChunkWriter(id, model, created);
        return pumpStream(exchange, replayResult(cached), writer, clientUsage);
      }
      sendJson(exchange.response, 200, chatCompletion(id, model, created, [cached]));
      return 200;
    }
  }
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
      if (result && !exchange.response.destroyed) await route.cache!.set(cacheKey, cacheableResult(result));
      return status;
    }
    const callOnce = () =>
      governance.execute(
        route,
        (deployment, signal) =>
          exchange.cluster.call(deployment, 'chat', request, { ...exchange.callOptions(deployment), signal }),
        exchange.signal,
        progress,
      );
    const results =
      choices === 1 ? [await callOnce()] : await Promise.all(Array.from({ length: choices }, callOnce));
    // Stored before answering, so the client's next request, on any gateway, finds it.
    if (cacheKey !== undefined) {
      const stored = route.cache!.set(cacheKey, cacheableResult(results[0]!));
      if (stored) await stored;
    }
    const completion = exchangeCompletion(exchange, id, model, created, results);
    exchange.answeredBy = progress.deployment;
    const headers: Record<string, string> = {
      'x-byzerllm-deployment': progress.deployment,
      'x-byzerllm-attempts': String(progress.attempts),
    };
    if (cacheKey !== undefined) headers['x-byzerllm-cache'] = 'miss';
    sendJson(exchange.response, 200, completion, headers);
    return 200;
  } catch (error) {
    if (cacheKey !== undefined && !parsed.stream && !exchange.response.headersSent) {
      exchange.response.setHeader('x-byzerllm-cache', 'miss');
    }
    setRouteHeaders(exchange, progress);
    throw error;
  }
}
