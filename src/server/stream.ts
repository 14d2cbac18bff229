/**
 * The one mapping of a stream of `StreamPart`s to an OpenAI server-sent-event answer.
 *
 * Headers are sent with the first part, so a failure before anything was generated is still a proper
 * JSON error with its status. After that, a failure is sent as a `data: {"error": …}` event (what the
 * OpenAI SDKs raise as an APIError) and the answer ends. A client that leaves aborts the cluster call
 * through the exchange's signal, and the loop stops writing.
 */
import { drained } from '../cluster/index.js';
import type { FinishReason, StreamPart, ToolCall, Usage } from '../core/index.js';
import { SSE_DONE } from './chat-response.js';
import type { Exchange } from './exchange.js';
import { mapError } from './map-error.js';

/** Renders the SSE events of one endpoint (chat chunks, text completion chunks). */
export interface ChunkWriter extends DeltaWriter {
  role(): string;
  finish(reason: FinishReason): string;
  usage(usage: Usage): string;
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/** Shared with the admin API's NDJSON streams: the one wait for a slow client (see there). */
export { drained };

/**
 * Opens an SSE answer when its first part arrived: headers, the opening events, and the
 * time-to-first-token metric (measured here so every streaming endpoint measures it the same way).
 * A first part that is an error is thrown instead, before any header, so it is answered as a JSON
 * error with its own status.
 */
export function startEventStream(
  exchange: Exchange,
  first: StreamPart,
  headers: Record<string, string>,
  opening: () => string,
): void {
  if (first.type === 'error') throw first.error;
  exchange.response.writeHead(200, headers);
  exchange.response.write(opening());
  exchange.context.metrics.firstTokenAfter(exchange.model, (performance.now() - exchange.startedAt) / 1000);
}

/** The delta renderers every SSE writer has (chat chunks, Responses and Messages events). */
export interface DeltaWriter {
  text(delta: string): string;
  reasoning(delta: string): string;
  toolCall(call: ToolCall): string;
}

/** The SSE text of a text, reasoning or tool-call part; '' for an empty delta or any other part. */
export function renderDelta(part: StreamPart, writer: DeltaWriter): string {
  switch (part.type) {
    case 'text-delta':
      return part.delta ? writer.text(part.delta) : '';
    case 'reasoning-delta':
      return part.delta ? writer.reasoning(part.delta) : '';
    case 'tool-call':
      return writer.toolCall(part.toolCall);
    default:
      return '';
  }
}

/** Returns the status to record. Throws (before headers) when the first part is an error. */
export async function pumpStream(
  exchange: Exchange,
  parts: AsyncIterable<StreamPart>,
  writer: ChunkWriter,
  includeUsage: boolean,
): Promise<number> {
  const { response } = exchange;
  let started = false;
  for await (const part of parts) {
    if (response.destroyed) return 499;
    if (!started) {
      startEventStream(exchange, part, SSE_HEADERS, () => writer.role());
      started = true;
    }
    switch (part.type) {
      case 'response-metadata':
        break;
      case 'text-delta':
        if (part.delta && !response.write(writer.text(part.delta))) await drained(response);
        break;
      case 'reasoning-delta':
        if (part.delta && !response.write(writer.reasoning(part.delta))) await drained(response);
        break;
      case 'tool-call':
        response.write(writer.toolCall(part.toolCall));
        break;
      case 'finish':
        exchange.inputTokens = part.usage.inputTokens;
        exchange.outputTokens = part.usage.outputTokens;
        exchange.addBusySeconds(part.usage);
        response.write(writer.finish(part.finishReason));
        if (includeUsage) response.write(writer.usage(part.usage));
        response.end(SSE_DONE);
        return 200;
      case 'error': {
        const mapped = mapError(part.error);
        response.end(`data: ${JSON.stringify(mapped.body)}\n\n`);
        return mapped.status;
      }
    }
  }
  // A stream must end with finish or error; one that just stops is cut short.
  if (!started) response.writeHead(200, SSE_HEADERS);
  response.end(SSE_DONE);
  return 200;
}
