/**
 * `streamChatOai`: an async iterable of `[text, meta]`.
 *
 * `deltaMode: true` yields each new piece of text (and `meta.reasoning_content` carries the new
 * reasoning); `false` yields the text (and reasoning) so far. The final text equals the non-stream
 * answer. Cancelling: pass `signal`, or stop iterating (`break`) — both abort the upstream request.
 */
import { AbortedError } from '../core/index.js';
import type { ClientSession } from './client-session.js';
import type { StreamChatOaiOptions } from './chat-options.js';
import { emptyMeta, type ResponseMeta } from './responses.js';

export type StreamItem = [text: string, meta: ResponseMeta];

export async function* streamChat(
  llm: ClientSession,
  model: string,
  options: StreamChatOaiOptions,
): AsyncGenerator<StreamItem> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) throw new AbortedError();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const request = await llm.buildRequest(
      model,
      options.conversations,
      options.llmConfig,
      options.extraRequestParams,
    );
    const cluster = await llm.cluster();
    const started = performance.now();
    const stream = await cluster.stream(model, request, { signal: controller.signal });
    const meta = emptyMeta();
    let text = '';
    let reasoning = '';
    let emitted = '';
    const seconds = () => (performance.now() - started) / 1000;
    for await (const part of stream) {
      if (part.type === 'response-metadata') meta.request_id = part.requestId;
      else if (part.type === 'text-delta' || part.type === 'reasoning-delta') {
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
      } else if (part.type === 'finish') {
        meta.finish_reason = part.finishReason;
        meta.input_tokens_count = part.usage.inputTokens;
        meta.generated_tokens_count = part.usage.outputTokens;
        meta.time_cost = seconds();
        meta.speed = meta.time_cost > 0 ? part.usage.outputTokens / meta.time_cost : 0;
        meta.reasoning_content = options.deltaMode ? '' : reasoning;
        if (part.warnings?.length) meta.warnings = part.warnings;
        yield [options.deltaMode ? '' : emitted, { ...meta }];
      } else if (part.type === 'error') {
        throw part.error;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    // Ends the upstream request when the consumer stopped early (break, throw, abort).
    controller.abort();
  }
}
