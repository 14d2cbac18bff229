/**
 * A route's cache entry from an answer of the OpenAI pass-through: the upstream's own JSON turned
 * into the `ChatResult` the cache stores (in memory and in NATS KV), so that an entry written by a
 * pass-through route and one written on the general path are the same, and both replay as JSON and
 * as a stream (`routed-chat-cache.ts`).
 *
 * No zod here: the answer already passed the engine's pass-through checks (an object with
 * `choices`), and these functions read only the fields a `ChatResult` has, each checked for its
 * type. An answer they cannot read completely is not cached (undefined): it is still answered.
 * Mapped as the OpenAI-compatible engine's general path maps it (finish reasons, reasoning, tool
 * calls and their fragments), so a hit replays what a miss on the general path would have stored.
 */
import { randomUUID } from 'node:crypto';
import type { ChatResult, OpenAIChatObject, OpenAIChunkText, ToolCall } from '../core/index.js';
import { mapFinishReason } from '../engines/shared/openai-compatible/map-finish-reason.js';
import { ToolCallAssembler } from '../engines/shared/openai-compatible/map-stream.js';

type JsonObject = Record<string, unknown>;

/** A non-stream `chat.completion` as a cache entry; undefined when a field has an unexpected type. */
export function cachedAnswerOfCompletion(completion: OpenAIChatObject): ChatResult | undefined {
  const choice = firstChoice(completion);
  if (!choice || !isObject(choice.message)) return undefined;
  const message = choice.message;
  const text = textOf(message.content);
  const finishReason = finishReasonOf(choice.finish_reason);
  const usage = usageOf(completion.usage);
  if (text === undefined || finishReason === undefined || usage === undefined) return undefined;
  const toolCalls = completeToolCalls(message.tool_calls);
  if (!toolCalls) return undefined;
  return withMetadata(completion, { text, toolCalls, finishReason, usage }, message.reasoning_content);
}

/**
 * Keeps the chunk texts of a pass-through stream as they go by, so that a stream that ran to its
 * end can fill the cache afterwards (`result()`, which parses them once, after the answer was
 * sent). The upstream's stream ends with its finish (the engine throws otherwise), so only a stream
 * the gateway sent completely is offered to `result()`.
 */
export class ChunkRecorder {
  private readonly chunks: OpenAIChunkText[] = [];

  constructor(private readonly source: AsyncIterable<OpenAIChunkText[]>) {}

  async *[Symbol.asyncIterator](): AsyncIterator<OpenAIChunkText[]> {
    for await (const batch of this.source) {
      for (const chunk of batch) this.chunks.push(chunk);
      yield batch;
    }
  }

  /** The assembled answer of a complete stream, or undefined when a chunk cannot be read. */
  result(): ChatResult | undefined {
    const assembler = new ToolCallAssembler();
    let text = '';
    let reasoning = '';
    let finish: unknown;
    let usage: ChatResult['usage'] | undefined = { inputTokens: 0, outputTokens: 0 };
    let first: JsonObject | undefined;
    for (const chunkText of this.chunks) {
      const chunk = parseObject(chunkText);
      if (!chunk) return undefined;
      first ??= chunk;
      if (chunk.usage != null) usage = usageOf(chunk.usage);
      if (usage === undefined) return undefined;
      const choice = firstChoice(chunk);
      if (!choice) continue;
      const delta = isObject(choice.delta) ? choice.delta : {};
      if (typeof delta.content === 'string') text += delta.content;
      if (typeof delta.reasoning_content === 'string') reasoning += delta.reasoning_content;
      if (delta.tool_calls != null && !addToolCallDeltas(assembler, delta.tool_calls)) return undefined;
      if (choice.finish_reason != null) finish = choice.finish_reason;
    }
    const finishReason = finishReasonOf(finish);
    if (!first || finishReason === undefined || finishReason === 'unknown') return undefined;
    return withMetadata(first, { text, toolCalls: assembler.complete(), finishReason, usage }, reasoning);
  }
}

function withMetadata(
  answer: JsonObject,
  fields: Pick<ChatResult, 'text' | 'toolCalls' | 'finishReason' | 'usage'>,
  reasoning: unknown,
): ChatResult {
  // A literal, not `{ ...fields }`: a spread followed by more keys costs V8 ~2.5 µs here.
  const result: ChatResult = {
    text: fields.text,
    toolCalls: fields.toolCalls,
    finishReason: fields.finishReason,
    usage: fields.usage,
    requestId: typeof answer.id === 'string' && answer.id !== '' ? answer.id : `chatcmpl-${randomUUID()}`,
    warnings: [],
  };
  if (typeof answer.model === 'string' && answer.model !== '') result.modelId = answer.model;
  if (typeof reasoning === 'string' && reasoning !== '') result.reasoning = reasoning;
  return result;
}

function firstChoice(answer: JsonObject): JsonObject | undefined {
  const choices = answer.choices;
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  return isObject(choices[0]) ? choices[0] : undefined;
}

function textOf(content: unknown): string | undefined {
  if (content == null) return '';
  return typeof content === 'string' ? content : undefined;
}

function finishReasonOf(reason: unknown): ChatResult['finishReason'] | undefined {
  if (reason == null) return mapFinishReason(undefined);
  return typeof reason === 'string' ? mapFinishReason(reason) : undefined;
}

/** OpenAI usage → counts (absent counts are 0, as the engine's `toUsage`). */
function usageOf(usage: unknown): ChatResult['usage'] | undefined {
  if (usage == null) return { inputTokens: 0, outputTokens: 0 };
  if (!isObject(usage)) return undefined;
  const input = usage.prompt_tokens ?? 0;
  const output = usage.completion_tokens ?? 0;
  if (!isCount(input) || !isCount(output)) return undefined;
  return { inputTokens: input, outputTokens: output };
}

function completeToolCalls(calls: unknown): ToolCall[] | undefined {
  if (calls == null) return [];
  if (!Array.isArray(calls)) return undefined;
  const result: ToolCall[] = [];
  for (const call of calls) {
    if (!isObject(call) || !isObject(call.function) || typeof call.function.name !== 'string')
      return undefined;
    const { arguments: callArguments } = call.function;
    result.push({
      id: typeof call.id === 'string' && call.id !== '' ? call.id : `call_${randomUUID()}`,
      name: call.function.name,
      arguments: typeof callArguments === 'string' ? callArguments : JSON.stringify(callArguments ?? {}),
    });
  }
  return result;
}

/** A chunk's tool-call fragments into `assembler`; false when one is not shaped as OpenAI's. */
function addToolCallDeltas(assembler: ToolCallAssembler, deltas: unknown): boolean {
  if (!Array.isArray(deltas)) return false;
  for (const delta of deltas) {
    if (!isObject(delta)) return false;
    const { index, id } = delta;
    const functionCall = delta.function;
    if (index != null && typeof index !== 'number') return false;
    if (id != null && typeof id !== 'string') return false;
    if (functionCall != null && (!isObject(functionCall) || !isNameOrNone(functionCall.name))) return false;
    assembler.add(delta as Parameters<ToolCallAssembler['add']>[0]);
  }
  return true;
}

function parseObject(text: string): JsonObject | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isNameOrNone(name: unknown): boolean {
  return name == null || typeof name === 'string';
}
