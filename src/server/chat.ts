/**
 * `POST /v1/chat/completions`: non-stream and SSE stream, with `n` as parallel calls in both.
 */
import { randomUUID } from 'node:crypto';
import { pumpChoices, startAll } from './chat-choices-stream.js';
import { passThroughCompletion, passThroughStream, toPassThroughBody } from './chat-pass-through.js';
import { parseChatBody, toChatRequest } from './chat-request.js';
import { ChatChunkWriter, exchangeCompletion } from './chat-response.js';
import type { Exchange } from './exchange.js';
import { sendJson } from './http.js';
import { handleRoutedChat } from './routed-chat.js';
import { pumpStream } from './stream.js';

export async function handleChat(exchange: Exchange, body: Record<string, unknown>): Promise<number> {
  const parsed = parseChatBody(body);
  // A route (a virtual model name) is one map lookup; without governance, not even that.
  const governance = exchange.context.governance;
  const route = governance && parsed.model !== undefined ? governance.route(parsed.model) : undefined;
  if (route) return handleRoutedChat(exchange, governance!, parsed, route);
  // A key or limit needs a stream's usage, which an upstream sends only when asked: the gate asks
  // for it and shows it only to clients that asked too.
  const clientUsage = parsed.stream_options?.include_usage === true;
  const usageForGate = exchange.ticket !== undefined && parsed.stream === true && !clientUsage;
  // Deployments whose engine speaks OpenAI in this process skip the `ChatRequest` round trip.
  const passThrough =
    (parsed.n ?? 1) === 1
      ? exchange.cluster.openAIPassThrough?.(parsed.model ?? exchange.context.servedModelName ?? '')
      : undefined;
  if (passThrough) {
    const stream = parsed.stream === true;
    const upstreamBody = toPassThroughBody(parsed);
    if (usageForGate) upstreamBody.stream_options = { include_usage: true };
    exchange.resolveModel(parsed.model);
    return stream
      ? passThroughStream(exchange, passThrough, upstreamBody, usageForGate)
      : passThroughCompletion(exchange, passThrough, upstreamBody);
  }
  const request = toChatRequest(parsed);
  if (usageForGate) request.includeUsage = true;
  const model = exchange.resolveModel(parsed.model);
  const created = Math.floor(Date.now() / 1000);
  const id = `chatcmpl-${randomUUID()}`;
  const choices = parsed.n ?? 1;
  if (parsed.stream) {
    if (choices > 1) {
      const streamOptions = exchange.callOptions(model);
      const streams = await startAll(
        Array.from({ length: choices }, () => exchange.cluster.stream(model, request, streamOptions)),
      );
      const chunk = { id, model, created };
      return pumpChoices({ exchange, streams, chunk, includeUsage: clientUsage });
    }
    const parts = await exchange.cluster.stream(model, request, exchange.callOptions(model));
    return pumpStream(exchange, parts, new ChatChunkWriter(id, model, created), clientUsage);
  }
  const options = exchange.callOptions(model);
  const results =
    choices === 1
      ? [await exchange.cluster.call(model, 'chat', request, options)]
      : await Promise.all(
          Array.from({ length: choices }, () => exchange.cluster.call(model, 'chat', request, options)),
        );
  const completion = exchangeCompletion(exchange, id, model, created, results);
  sendJson(exchange.response, 200, completion);
  return 200;
}
