/**
 * OpenAI `chat.completion.chunk` server-sent events → protocol `StreamPart`s (one mapping, one edge).
 *
 * Order of parts: `response-metadata` (once, from the first chunk), then `reasoning-delta` /
 * `text-delta` as they come, then every assembled `tool-call`, then exactly one `finish` — or one
 * `error` instead of the rest when the upstream fails, the connection drops, or the caller aborts.
 *
 * Two upstream habits shape this: the finish reason and the usage arrive in different chunks (with
 * `stream_options.include_usage` the usage chunk follows, with empty `choices`), so `finish` is
 * emitted only at the end of the stream; and tool-call arguments arrive as fragments keyed by
 * `index`, so calls are assembled and emitted whole.
 */
import { randomUUID } from 'node:crypto';
import type { StreamPart, ToolCall, Warning } from '../../../core/chat-model.js';
import type { EventSourceMessage } from '../server-sent-events.js';
import { type ErrorMappingContext, errorFromStreamPayload } from '../upstream-errors.js';
import { mapFinishReason } from './map-finish-reason.js';
import { type ChatCompletionChunk, chatCompletionChunkSchema, toUsage } from './wire-schemas.js';
import { parseWireBody } from '../wire-body.js';
import { parseStreamEventJson } from '../stream-errors.js';
import { mapVendorStream, metadataOnce } from '../vendor-stream.js';

export interface StreamMappingInput {
  events: AsyncIterable<EventSourceMessage>;
  errorContext: ErrorMappingContext;
  /** Used when the chunks carry no `id` (some local servers). */
  fallbackRequestId: string;
  /** Warnings found while building the request, reported on `finish`. */
  warnings: Warning[];
}

export function mapChatStream(input: StreamMappingInput): AsyncGenerator<StreamPart> {
  const { provider } = input.errorContext;
  const toolCalls = new ToolCallAssembler();
  return mapVendorStream(input.events, {
    provider,
    warnings: input.warnings,
    // `[DONE]` ends the answer; a server that omits it but sent a finish_reason is complete too.
    isComplete: (progress) => progress.ended || Boolean(progress.finishReason),
    incomplete: 'ended the stream before the answer was complete',
    finishReason: (progress) => mapFinishReason(progress.finishReason),
    *onEvent(event, progress) {
      if (event.data === '[DONE]') {
        progress.ended = true;
        return;
      }
      const chunk = parseChunk(event.data, provider);
      if (chunk.error) throw errorFromStreamPayload(chunk, input.errorContext);
      yield* metadataOnce(progress, chunk.id ?? input.fallbackRequestId, chunk.model);
      if (chunk.usage) progress.usage = toUsage(chunk.usage);
      const choice = chunk.choices?.[0];
      if (!choice) return;
      const delta = choice.delta;
      const reasoning = delta?.reasoning_content ?? delta?.reasoning;
      if (reasoning) yield { type: 'reasoning-delta', delta: reasoning };
      if (delta?.content) yield { type: 'text-delta', delta: delta.content };
      for (const toolCallDelta of delta?.tool_calls ?? []) toolCalls.add(toolCallDelta);
      if (choice.finish_reason) progress.finishReason = choice.finish_reason;
    },
    afterEvents: (progress) => metadataOnce(progress, input.fallbackRequestId),
    beforeFinish: () => toolCalls.complete().map((toolCall): StreamPart => ({ type: 'tool-call', toolCall })),
  });
}

function parseChunk(data: string, provider: string): ChatCompletionChunk {
  const json = parseStreamEventJson(data, provider);
  return parseWireBody(chatCompletionChunkSchema, json, { provider, what: 'stream chunk' });
}

type ToolCallDelta = NonNullable<
  NonNullable<NonNullable<ChatCompletionChunk['choices']>[number]['delta']>['tool_calls']
>[number];

/** Collects tool-call fragments: keyed by `index`, else by `id`, else appended to the last call. */
export class ToolCallAssembler {
  private readonly calls: ToolCall[] = [];
  private readonly byIndex = new Map<number, ToolCall>();

  add(delta: ToolCallDelta): void {
    let call =
      delta.index != null
        ? this.byIndex.get(delta.index)
        : delta.id
          ? this.calls.find((existing) => existing.id === delta.id)
          : this.calls.at(-1);
    if (!call) {
      call = { id: '', name: '', arguments: '' };
      this.calls.push(call);
      if (delta.index != null) this.byIndex.set(delta.index, call);
    }
    if (delta.id) call.id = delta.id;
    if (delta.function?.name) call.name = delta.function.name;
    const fragment = delta.function?.arguments;
    if (typeof fragment === 'string') call.arguments += fragment;
    else if (fragment) call.arguments = JSON.stringify(fragment);
  }

  /** The finished calls in order of first appearance; calls without a name are dropped. */
  complete(): ToolCall[] {
    return this.calls
      .filter((call) => call.name !== '')
      .map((call) => ({ ...call, id: call.id || `call_${randomUUID()}` }));
  }
}
