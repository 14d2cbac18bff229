/**
 * `streamChatOai`: an async iterable of `[text, meta]`.
 *
 * `deltaMode: true` yields each new piece of text (and `meta.reasoning_content` carries the new
 * reasoning); `false` yields the text (and reasoning) so far. The final text equals the non-stream
 * answer. Cancelling: pass `signal`, stop iterating (`break`), or `abort(requestId)` (the caller's
 * `requestId` or the engine's `meta.request_id`) — each aborts the upstream request. Streamed speech
 * (a TTS deployment) yields its audio: bytes in `meta.audio`, base64 as the text.
 *
 * Event callbacks (byzer-spec §3.8) run as for `chatOai`: `BEFORE_CALL_MODEL` before the request is
 * sent (a callback answering `[false, results]` is the whole stream: one item with its text), and
 * `AFTER_CALL_MODEL` once the model's stream has ended, with the assembled answer as one
 * `{ predict, metadata, input }` (the text as the last non-delta item has it; the final meta). A
 * callback answering `[false, results]` there replaces the last item: its text and metadata become
 * the result's. In delta mode that item then carries the whole replacement text, since the pieces
 * before it were already delivered. A stream that fails or that the caller leaves early has no
 * assembled answer and runs no `AFTER_CALL_MODEL`.
 */
import type { ChatRequest, StreamPart } from '../core/index.js';
import { EventName, type RawModelResult } from './client-events.js';
import type { ClientSession } from './client-session.js';
import type { InFlightRequest } from './in-flight-requests.js';
import type { StreamChatOaiOptions } from './chat-options.js';
import { emptyMeta, type ResponseMeta } from './responses.js';

export type StreamItem = [text: string, meta: ResponseMeta];

export async function* streamChat(
  llm: ClientSession,
  model: string,
  options: StreamChatOaiOptions,
): AsyncGenerator<StreamItem> {
  const handle = llm.inFlight.open(options.requestId, options.signal);
  try {
    const request = await llm.buildRequest(
      model,
      options.conversations,
      options.llmConfig,
      options.extraRequestParams,
      { roleMapping: options.roleMapping },
    );
    const replaced = await llm.runEvent(EventName.BEFORE_CALL_MODEL, model, [request]);
    if (replaced) {
      // A BEFORE_CALL_MODEL callback answered instead of the model: one item with its text.
      yield itemOf(replaced, emptyMeta());
      return;
    }
    const cluster = await llm.cluster();
    const started = performance.now();
    const stream = await cluster.stream(model, request, { signal: handle.signal });
    yield* readStream(llm, { model, request, options, stream, started, handle });
  } finally {
    handle.close();
  }
}

/** A callback's `[{ predict, metadata }]` as a stream item (the first one; an empty list: empty text). */
function itemOf(results: RawModelResult[], meta: ResponseMeta): StreamItem {
  return [results[0]?.predict ?? '', { ...meta, ...(results[0]?.metadata ?? {}) } as ResponseMeta];
}

interface OpenStream {
  model: string;
  request: ChatRequest;
  options: StreamChatOaiOptions;
  stream: AsyncIterable<StreamPart>;
  started: number;
  handle: InFlightRequest;
}

async function* readStream(llm: ClientSession, open: OpenStream): AsyncGenerator<StreamItem> {
  const { model, options, stream, started, handle } = open;
  const meta = emptyMeta();
  let text = '';
  let reasoning = '';
  let emitted = '';
  const audio: Uint8Array[] = [];
  const seconds = () => (performance.now() - started) / 1000;
  try {
    for await (const part of stream) {
      if (part.type === 'response-metadata') {
        meta.request_id = part.requestId;
        handle.alias(part.requestId);
      } else if (part.type === 'text-delta' || part.type === 'reasoning-delta') {
        if (meta.first_token_time === 0) meta.first_token_time = seconds();
        let delta = '';
        let reasoningDelta = '';
        if (part.type === 'text-delta') {
          text += part.delta;
          // The template's clean function applies to the text so far; yield only what it keeps.
          const cleaned = llm.cleanOutput(model, text);
          delta = cleaned.startsWith(emitted) ? cleaned.slice(emitted.length) : '';
          if (delta === '') continue;
          emitted = cleaned;
        } else {
          reasoning += part.delta;
          reasoningDelta = part.delta;
        }
        meta.time_cost = seconds();
        meta.reasoning_content = options.deltaMode ? reasoningDelta : reasoning;
        yield [options.deltaMode ? delta : emitted, { ...meta }];
      } else if (part.type === 'audio-delta') {
        // Streamed speech: the bytes in `meta.audio`, base64 as the text (as chatOai's TTS output).
        audio.push(part.data);
        const bytes = options.deltaMode ? part.data : Buffer.concat(audio);
        if (meta.first_token_time === 0) meta.first_token_time = seconds();
        meta.time_cost = seconds();
        yield [
          Buffer.from(bytes).toString('base64'),
          { ...meta, audio: bytes, audio_media_type: part.mediaType ?? '' },
        ];
      } else if (part.type === 'finish') {
        meta.finish_reason = part.finishReason;
        meta.input_tokens_count = part.usage.inputTokens;
        meta.generated_tokens_count = part.usage.outputTokens;
        meta.time_cost = seconds();
        meta.speed = meta.time_cost > 0 ? part.usage.outputTokens / meta.time_cost : 0;
        meta.reasoning_content = options.deltaMode ? '' : reasoning;
        if (part.warnings?.length) meta.warnings = part.warnings;
        const whole = emitted || (audio.length > 0 ? Buffer.concat(audio).toString('base64') : '');
        const replaced = await llm.runEvent(EventName.AFTER_CALL_MODEL, model, [
          { predict: whole, metadata: { ...meta }, input: open.request },
        ]);
        yield replaced ? itemOf(replaced, meta) : [options.deltaMode ? '' : whole, { ...meta }];
      } else if (part.type === 'error') {
        throw part.error;
      }
    }
  } finally {
    // Ends the upstream request when the consumer stopped early (break, throw, abort).
    handle.cancel();
  }
}
