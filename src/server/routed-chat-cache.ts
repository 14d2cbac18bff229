/**
 * The response cache of a route, at the gateway: which requests may use it, their key, and a
 * cached answer replayed as a stream.
 *
 * A client opts out per request with `cache-control: no-cache` (or `no-store`) or
 * `x-byzerllm-cache: skip`: the request goes to the route and its answer is not stored.
 */
import type { IncomingMessage } from 'node:http';
import type { ChatRequest, ChatResult, StreamPart } from '../core/index.js';

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
  const { includeUsage: _includeUsage, ...rest } = request;
  return JSON.stringify([route, rest]);
}

/** A cached answer as the stream parts an engine would have sent. */
export async function* replayResult(result: ChatResult): AsyncIterable<StreamPart> {
  yield { type: 'response-metadata', requestId: result.requestId };
  if (result.reasoning) yield { type: 'reasoning-delta', delta: result.reasoning };
  if (result.text) yield { type: 'text-delta', delta: result.text };
  for (const toolCall of result.toolCalls) yield { type: 'tool-call', toolCall };
  yield { type: 'finish', finishReason: result.finishReason, usage: result.usage };
}
