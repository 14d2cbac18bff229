/**
 * Anthropic SSE events → protocol `StreamPart`s.
 *
 * `message_start` carries the id, model and input tokens (→ `response-metadata`); `content_block_*`
 * events carry text (`text_delta`), thinking (`thinking_delta` → `reasoning-delta`) and tool input
 * fragments (`input_json_delta`, assembled per block index and emitted whole); `message_delta`
 * carries the stop reason and output tokens; `message_stop` ends the answer; an `error` event ends
 * the stream with one `error` part (`overloaded_error` → `upstream_overloaded`, retryable).
 * `ping` and unknown event types are ignored, as the API's versioning policy asks.
 */
import type { StreamPart, ToolCall, Usage, Warning } from '../../../core/chat-model.js';
import { UpstreamError, toByzerLLMError } from '../../../core/errors.js';
import { parseWireBody } from '../wire-body.js';
import type { EventSourceMessage } from '../server-sent-events.js';
import { redactSecretsInValue } from '../redact-secrets.js';
import { mapStopReason, streamEventSchema } from './wire-schemas.js';
import { incompleteStreamError, parseStreamEventJson } from '../stream-errors.js';

export interface ClaudeStreamInput {
  events: AsyncIterable<EventSourceMessage>;
  provider: string;
  secrets: readonly string[];
  fallbackRequestId: string;
  warnings: Warning[];
}

export async function* mapClaudeStream(input: ClaudeStreamInput): AsyncGenerator<StreamPart> {
  const { provider } = input;
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  const toolCalls = new Map<number, ToolCall>();
  let started = false;
  let stopped = false;
  let stopReason: string | null | undefined;
  try {
    for await (const message of input.events) {
      if (stopped) continue;
      const event = parseEvent(message.data, provider);
      switch (event.type) {
        case 'message_start': {
          started = true;
          const start = event.message;
          usage.inputTokens = start?.usage?.input_tokens ?? 0;
          usage.outputTokens = start?.usage?.output_tokens ?? 0;
          const requestId = start?.id || input.fallbackRequestId;
          yield start?.model
            ? { type: 'response-metadata', requestId, modelId: start.model }
            : { type: 'response-metadata', requestId };
          break;
        }
        case 'content_block_start': {
          const block = event.content_block;
          if (block?.type === 'tool_use' && event.index != null) {
            toolCalls.set(event.index, { id: block.id ?? '', name: block.name ?? '', arguments: '' });
          } else if (block?.type === 'text' && block.text) {
            yield { type: 'text-delta', delta: block.text };
          }
          break;
        }
        case 'content_block_delta': {
          const delta = event.delta;
          if (delta?.type === 'text_delta' && delta.text) yield { type: 'text-delta', delta: delta.text };
          else if (delta?.type === 'thinking_delta' && delta.thinking)
            yield { type: 'reasoning-delta', delta: delta.thinking };
          else if (delta?.type === 'input_json_delta' && event.index != null) {
            const call = toolCalls.get(event.index);
            if (call) call.arguments += delta.partial_json ?? '';
          }
          break;
        }
        case 'message_delta':
          if (event.delta?.stop_reason) stopReason = event.delta.stop_reason;
          if (event.usage?.output_tokens != null) usage.outputTokens = event.usage.output_tokens;
          if (event.usage?.input_tokens != null) usage.inputTokens = event.usage.input_tokens;
          break;
        case 'message_stop':
          stopped = true;
          break;
        case 'error':
          yield { type: 'error', error: streamError(event, input) };
          return;
        default:
          break;
      }
    }
  } catch (error) {
    yield { type: 'error', error: toByzerLLMError(error) };
    return;
  }
  if (!started) yield { type: 'response-metadata', requestId: input.fallbackRequestId };
  if (!stopped) {
    yield {
      type: 'error',
      error: incompleteStreamError(provider, 'ended the stream before message_stop'),
    };
    return;
  }
  for (const call of toolCalls.values()) {
    yield { type: 'tool-call', toolCall: { ...call, arguments: call.arguments || '{}' } };
  }
  yield {
    type: 'finish',
    finishReason: mapStopReason(stopReason),
    usage,
    ...(input.warnings.length > 0 ? { warnings: input.warnings } : {}),
  };
}

function parseEvent(data: string, provider: string) {
  const json = parseStreamEventJson(data, provider);
  return parseWireBody(streamEventSchema, json, { provider, what: 'stream event' });
}

function streamError(
  event: { error?: { type?: string | null; message?: string | null } | null },
  input: ClaudeStreamInput,
): UpstreamError {
  const body = redactSecretsInValue(event, input.secrets);
  const type = event.error?.type ?? 'api_error';
  const text = redactSecretsInValue(event.error?.message ?? 'unknown error', input.secrets);
  const message = `${input.provider} reported ${type} mid-stream: ${String(text)}`;
  if (type === 'overloaded_error')
    return new UpstreamError('upstream_overloaded', message, {
      isRetryable: true,
      details: { provider: input.provider, body },
    });
  if (type === 'rate_limit_error')
    return new UpstreamError('upstream_rate_limit', message, {
      isRetryable: true,
      details: { provider: input.provider, body },
    });
  return new UpstreamError('upstream_error', message, {
    isRetryable: type === 'api_error',
    details: { provider: input.provider, body },
  });
}
