/**
 * `n > 1` with `stream: true` on chat completions: one engine stream per choice, interleaved into one
 * SSE answer as parts arrive. Every chunk carries its choice's `index`; each choice ends with its
 * own chunk with a `finish_reason`; the usage chunk (`stream_options.include_usage`) and `[DONE]`
 * follow once every choice finished. The prompt counts once in the usage, as in the non-stream
 * answer. A failure of any choice after the start ends the whole answer with an error event.
 */
import type { StreamPart, Usage } from '../core/index.js';
import { ChatChunkWriter, SSE_DONE } from './chat-response.js';
import type { Exchange } from './exchange.js';
import { mapError } from './map-error.js';
import { drained, renderDelta, SSE_HEADERS, startEventStream } from './stream.js';

/** Yields the parts of all streams as they arrive, each with its stream's index. */
async function* interleave(
  streams: AsyncIterable<StreamPart>[],
): AsyncGenerator<{ index: number; part: StreamPart }> {
  const iterators = streams.map((stream) => stream[Symbol.asyncIterator]());
  const next = (index: number) => iterators[index]!.next().then((result) => ({ index, result }));
  const pending = new Map(iterators.map((_, index) => [index, next(index)] as const));
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
        continue;
      }
      pending.set(index, next(index));
      yield { index, part: result.value };
    }
  } finally {
    // Streams still open when the answer ends early (an error, a client that left) are closed.
    for (const index of pending.keys()) void iterators[index]!.return?.();
  }
}

/**
 * Waits for every choice's stream to start. When one fails to start, the ones that did are closed
 * (so their engines stop generating) and that failure is thrown.
 */
export async function startAll(
  starting: Promise<AsyncIterable<StreamPart>>[],
): Promise<AsyncIterable<StreamPart>[]> {
  const settled = await Promise.allSettled(starting);
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (!failed)
    return settled.map((outcome) => (outcome as PromiseFulfilledResult<AsyncIterable<StreamPart>>).value);
  for (const outcome of settled) {
    if (outcome.status === 'fulfilled') void outcome.value[Symbol.asyncIterator]().return?.();
  }
  throw failed.reason;
}

export interface ChoicesStreamInput {
  exchange: Exchange;
  streams: AsyncIterable<StreamPart>[];
  chunk: { id: string; model: string; created: number };
  includeUsage: boolean;
}

/** Returns the status to record. Throws (before headers) when the first part is an error. */
export async function pumpChoices(input: ChoicesStreamInput): Promise<number> {
  const { exchange, streams, chunk } = input;
  const { response } = exchange;
  const writers = streams.map((_, index) => new ChatChunkWriter(chunk.id, chunk.model, chunk.created, index));
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  let started = false;
  let finished = 0;
  for await (const { index, part } of interleave(streams)) {
    if (response.destroyed) return 499;
    if (!started) {
      startEventStream(exchange, part, SSE_HEADERS, () => writers.map((writer) => writer.role()).join(''));
      started = true;
    }
    const writer = writers[index]!;
    let text = renderDelta(part, writer);
    switch (part.type) {
      case 'finish':
        usage.inputTokens = Math.max(usage.inputTokens, part.usage.inputTokens);
        usage.outputTokens += part.usage.outputTokens;
        exchange.addBusySeconds(part.usage);
        text = writer.finish(part.finishReason);
        if (++finished === streams.length) {
          exchange.inputTokens = usage.inputTokens;
          exchange.outputTokens = usage.outputTokens;
          response.end(text + (input.includeUsage ? writer.usage(usage) : '') + SSE_DONE);
          return 200;
        }
        break;
      case 'error': {
        const mapped = mapError(part.error);
        response.end(`data: ${JSON.stringify(mapped.body)}\n\n`);
        return mapped.status;
      }
    }
    if (text && !response.write(text)) await drained(response);
  }
  // Streams must end with finish or error; ones that just stop are cut short.
  if (!started) response.writeHead(200, SSE_HEADERS);
  response.end(SSE_DONE);
  return 200;
}
