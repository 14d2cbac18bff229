/**
 * The Anthropic Messages API body and result, shared by `claude/` and Bedrock's Anthropic family
 * (`aws-bedrock/`), which sends the same body minus `model`.
 */
import { randomUUID } from 'node:crypto';
import type { ChatRequest, ChatResult, Warning } from '../../../core/chat-model.js';
import { parseWireBody } from '../wire-body.js';
import { convertMessages } from './convert-messages.js';
import { mapStopReason, messageSchema } from './wire-schemas.js';

/** The Messages API body for a request, without `stream`. */
export function buildClaudeBody(
  modelId: string,
  request: ChatRequest,
  defaultMaxTokens: number,
): { body: Record<string, unknown>; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const { system, messages } = convertMessages(request.messages, warnings);
  const body: Record<string, unknown> = {
    model: modelId,
    max_tokens: request.maxTokens ?? defaultMaxTokens,
    messages,
  };
  if (system !== undefined) body.system = system;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.topK !== undefined) body.top_k = request.topK;
  if (request.stop && request.stop.length > 0) body.stop_sequences = request.stop;
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      input_schema: tool.parameters,
    }));
  }
  if (request.toolChoice !== undefined) {
    const choice = request.toolChoice;
    body.tool_choice =
      choice === 'required'
        ? { type: 'any' }
        : typeof choice === 'string'
          ? { type: choice }
          : { type: 'tool', name: choice.name };
  }
  for (const [setting, value] of [
    ['seed', request.seed],
    ['presencePenalty', request.presencePenalty],
    ['frequencyPenalty', request.frequencyPenalty],
  ] as const) {
    if (value !== undefined) warnings.push(unsupported(setting));
  }
  if (request.responseFormat?.type === 'json') warnings.push(unsupported('responseFormat'));
  for (const [key, value] of Object.entries(request.extra ?? {})) {
    if (value === undefined) continue;
    if (key === 'stream') warnings.push(unsupported('extra.stream'));
    else body[key] = value;
  }
  return { body, warnings };
}

/** A Messages API `message` object → `ChatResult`. */
export function claudeResultFromMessage(
  value: unknown,
  context: { provider: string; modelId: string; fallbackRequestId: string; warnings: Warning[] },
): ChatResult {
  const message = parseWireBody(messageSchema, value, { provider: context.provider, what: 'message' });
  let text = '';
  let reasoning = '';
  const result: ChatResult = {
    text: '',
    toolCalls: [],
    finishReason: mapStopReason(message.stop_reason),
    usage: {
      inputTokens: message.usage?.input_tokens ?? 0,
      outputTokens: message.usage?.output_tokens ?? 0,
    },
    requestId: message.id || context.fallbackRequestId,
    modelId: message.model || context.modelId,
    warnings: context.warnings,
  };
  for (const block of message.content) {
    if (block.type === 'text') text += block.text ?? '';
    else if (block.type === 'thinking') reasoning += block.thinking ?? '';
    else if (block.type === 'tool_use') {
      result.toolCalls.push({
        id: block.id || `toolu_${randomUUID()}`,
        name: block.name ?? '',
        arguments: JSON.stringify(block.input ?? {}),
      });
    }
  }
  result.text = text;
  if (reasoning) result.reasoning = reasoning;
  return result;
}

function unsupported(setting: string): Warning {
  return {
    type: 'unsupported-setting',
    setting,
    message: `the Anthropic Messages API has no ${setting} setting; it was not sent`,
  };
}
