/**
 * The OpenAI pass-through of the OpenAI-compatible engine (`OpenAIPassThroughV1`): the caller's
 * validated OpenAI body goes upstream as it is, and the upstream's JSON comes back as it is.
 *
 * What it still does, because the general path (`doGenerate`/`doStream`) does it too: the answer
 * must be an object with `choices` (else `upstream_error`, as the zod wire schemas say), an error
 * object inside a stream becomes the stream's error, a stream must end with `[DONE]` or a finish
 * reason, and a `reasoning` field is renamed `reasoning_content`. What it does not do: zod per chunk,
 * a `StreamPart` per chunk, or parse and re-serialise a chunk that needs none of this (its text is
 * searched for the keys that matter, see `core/openai-chunk-text.ts`).
 */
import type { OpenAIChatObject, OpenAIChunkText } from '../../../core/chat-model.js';
import { jsonKeyPattern } from '../../../core/openai-chunk-text.js';
import { UpstreamError } from '../../../core/errors.js';
import type { EventSourceMessage } from '../server-sent-events.js';
import { incompleteStreamError, parseStreamEventJson } from '../stream-errors.js';
import { type ErrorMappingContext, errorFromStreamPayload } from '../upstream-errors.js';

/** The body as the upstream gets it: its model, and no sampling fields where they are rejected. */
export function upstreamBody(
  body: Record<string, unknown>,
  modelId: string,
  options: { stream: boolean; omitSamplingParams: boolean },
): Record<string, unknown> {
  body.model = modelId;
  if (options.omitSamplingParams) {
    delete body.temperature;
    delete body.top_p;
  }
  if (options.stream) body.stream = true;
  else {
    delete body.stream;
    delete body.stream_options;
  }
  return body;
}

/** A non-stream answer: an object with a `choices` list, reasoning under its protocol name. */
export function checkCompletion(answer: unknown, provider: string): OpenAIChatObject {
  if (!isObject(answer) || !Array.isArray(answer.choices)) {
    throw new UpstreamError(
      'upstream_error',
      `${provider} answered with something that is not a chat completion`,
      {
        details: { provider },
      },
    );
  }
  if (answer.choices.length === 0) {
    throw new UpstreamError('upstream_error', `${provider} answered with no choices`, {
      details: { provider },
    });
  }
  for (const choice of answer.choices) {
    if (isObject(choice) && isObject(choice.message)) renameReasoning(choice.message);
  }
  return answer;
}

/**
 * The upstream's SSE events → its chunks' JSON texts, checked as the contract says, in the batches
 * they arrived in (one step per network read, not per chunk).
 */
export async function* passThroughChunks(
  batches: AsyncIterable<EventSourceMessage[]>,
  errorContext: ErrorMappingContext,
): AsyncGenerator<OpenAIChunkText[]> {
  const progress = { ended: false, complete: false };
  for await (const events of batches) {
    // After `[DONE]` the events are read on (the connection goes back to the pool) but not sent.
    if (progress.ended) continue;
    const chunks: OpenAIChunkText[] = [];
    for (const event of events) {
      if (progress.ended) break;
      const chunk = readChunk(event.data, progress, errorContext);
      if (chunk !== undefined) chunks.push(chunk);
    }
    if (chunks.length > 0) yield chunks;
  }
  if (!progress.complete) {
    throw incompleteStreamError(errorContext.provider, 'ended the stream before the answer was complete');
  }
}

/**
 * What makes a chunk worth parsing: an error object, a `reasoning` field to rename, a finish
 * reason (the end of the answer). Nearly every chunk has none and goes on as its text.
 */
const NEEDS_PARSING = jsonKeyPattern(['error', 'reasoning'], false);
const FINISHES = jsonKeyPattern(['finish_reason'], true);

/** One event: its chunk's text, or undefined for `[DONE]`; throws the error an error chunk reports. */
function readChunk(
  data: string,
  progress: { ended: boolean; complete: boolean },
  errorContext: ErrorMappingContext,
): OpenAIChunkText | undefined {
  if (data === '[DONE]') {
    progress.ended = true;
    progress.complete = true;
    return undefined;
  }
  if (
    data.charCodeAt(0) === 0x7b /* { */ &&
    data.charCodeAt(data.length - 1) === 0x7d /* } */ &&
    !NEEDS_PARSING.test(data) &&
    !FINISHES.test(data)
  ) {
    return data;
  }
  const { provider } = errorContext;
  const chunk = parseStreamEventJson(data, provider);
  if (!isObject(chunk)) {
    throw new UpstreamError('upstream_error', `${provider} sent a stream chunk that is not an object`, {
      details: { provider, data: data.slice(0, 200) },
    });
  }
  if (chunk.error !== undefined && chunk.error !== null) throw errorFromStreamPayload(chunk, errorContext);
  if (Array.isArray(chunk.choices)) {
    for (const choice of chunk.choices) {
      if (!isObject(choice)) continue;
      // A server that omits `[DONE]` but sent a finish reason is complete too (as `mapChatStream`).
      if (choice.finish_reason) progress.complete = true;
      if (isObject(choice.delta)) renameReasoning(choice.delta);
    }
  }
  return JSON.stringify(chunk);
}

function renameReasoning(message: Record<string, unknown>): void {
  if (message.reasoning === undefined) return;
  if (message.reasoning_content == null) message.reasoning_content = message.reasoning;
  delete message.reasoning;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
