/**
 * `streamChatOai`: an async iterable of `[text, meta]`.
 *
 * `deltaMode: true` yields each new piece of text (and `meta.reasoning_content` carries the new
 * reasoning); `false` yields the text (and reasoning) so far. The final text equals the non-stream
 * answer. Cancelling: pass `signal`, stop iterating (`break`), or `abort(requestId)` (the caller's
 * `requestId` or the engine's `meta.request_id`) — each aborts the upstream request. Streamed speech
 * (a TTS deployment) yields its audio: bytes in `meta.audio`, base64 as the text.
 */
import type { StreamPart } from '../core/index.js';
import { EventName } from './client-events.js';
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
      yield [
        replaced[0]?.predict ?? '',
        { ...emptyMeta(), ...(replaced[0]?.metadata ?? {}) } as ResponseMeta,
      ];
      return;
    }
    const cluster = await llm.cluster();
    const started = performance.now();
    const stream = await cluster.stream(model, request, { signal: handle.signal });
    yield* readStream(llm, model, options, stream, started, handle);
  } finally {
    handle.close();
  }
}

async function* readStream(
  llm: ClientSession,
  model: string,
  options: StreamChatOaiOptions,
  stream: AsyncIterable<StreamPart>,
  started: number,
  handle: InFlightRequest,
): AsyncGenerator<StreamItem> {
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
        const whole = audio.length > 0 && !options.deltaMode ? Buffer.concat(audio).toString('base64') : '';
        yield [options.deltaMode ? '' : emitted || whole, { ...meta }];
      } else if (part.type === 'error') {
        throw part.error;
      }
    }
  } finally {
    // Ends the upstream request when the consumer stopped early (break, throw, abort).
    handle.cancel();
  }
}
