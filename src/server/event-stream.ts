/**
 * Streams `StreamPart`s as typed server-sent events (`event: NAME` + `data: {...}`), the framing the
 * Responses and Messages APIs use, through one loop: headers go out with the first part, so a
 * failure before anything was generated is still a proper JSON error with its status; a failure
 * after that is the API's own error event, and the answer ends. A slow client is waited for
 * (`drained`); a client that left ends the loop.
 */
import type { ByzerLLMError, FinishReason, StreamPart, Usage } from '../core/index.js';
import type { Exchange } from './exchange.js';
import { type DeltaWriter, drained, renderDelta, SSE_HEADERS, startEventStream } from './stream.js';

/** Renders one API's events; each method returns the SSE text to write (possibly several events). */
export interface EventWriter extends DeltaWriter {
  start(): string;
  finish(reason: FinishReason, usage: Usage): string;
  fail(error: ByzerLLMError): { events: string; status: number };
}

export interface PumpEventsInput {
  exchange: Exchange;
  parts: AsyncIterable<StreamPart>;
  writer: EventWriter;
  /** Runs after `finish` was rendered and before its events are sent (storing a response). */
  beforeFinishSent?: () => Promise<void>;
  /** Headers besides the SSE ones (the Messages API's `request-id`). */
  headers?: Record<string, string>;
}

/** Returns the status to record. Throws (before headers) when the first part is an error. */
export async function pumpEvents(input: PumpEventsInput): Promise<number> {
  const { exchange, parts, writer } = input;
  const { response } = exchange;
  let started = false;
  for await (const part of parts) {
    if (response.destroyed) return 499;
    if (!started) {
      startEventStream(exchange, part, { ...SSE_HEADERS, ...input.headers }, () => writer.start());
      started = true;
    }
    const events = renderDelta(part, writer);
    switch (part.type) {
      case 'finish': {
        exchange.inputTokens = part.usage.inputTokens;
        exchange.outputTokens = part.usage.outputTokens;
        const last = writer.finish(part.finishReason, part.usage);
        await input.beforeFinishSent?.();
        response.end(last);
        return 200;
      }
      case 'error': {
        const failed = writer.fail(part.error);
        response.end(failed.events);
        return failed.status;
      }
    }
    if (events && !response.write(events)) await drained(response);
  }
  // A stream must end with finish or error; one that just stops is cut short.
  if (!started) response.writeHead(200, { ...SSE_HEADERS, ...input.headers });
  response.end();
  return 200;
}
