/**
 * `chatOai`: one chat call, plus the abilities layered on it — function calling, structured output
 * (direct or after chat) and Byzer-LLM's audio/image JSON content for non-chat models.
 */
import type { z } from 'zod';
import { type ChatRequest, type ChatResult, InvalidArgumentError, type ToolCall } from '../core/index.js';
import type { ClientSession } from './client-session.js';
import type { ChatOaiOptions, FeatureMode } from './chat-options.js';
import type { Conversation, ConversationMessage } from './conversation.js';
import {
  defaultFunctionCallingFormat,
  executeToolCalls,
  parsePromptToolCalls,
  toToolDefinition,
} from './function-calling.js';
import { EventName, type RawModelResult } from './client-events.js';
import { type ChatResponse, chatResponse, emptyMeta, type ResponseMeta } from './responses.js';
import {
  afterChatPrompt,
  defaultResponseClassFormat,
  jsonSchemaOf,
  parseStructured,
  repairPrompt,
} from './structured-output.js';
import { type Ability, withDefaultSystemMessage } from './system-message.js';
import { chatViaTask } from './tasks.js';

/**
 * One plain chat call: request built, the BEFORE/AFTER event callbacks run, sent (abortable by
 * `requestId`), answer cleaned and measured. `onlyReturnPrompt` stops after building the request.
 */
export async function generate(
  llm: ClientSession,
  model: string,
  conversation: Conversation,
  options: Pick<
    ChatOaiOptions,
    'llmConfig' | 'extraRequestParams' | 'signal' | 'requestId' | 'roleMapping' | 'onlyReturnPrompt'
  >,
  adjust: (request: ChatRequest) => void = () => {},
): Promise<ChatResponse> {
  const request = await llm.buildRequest(model, conversation, options.llmConfig, options.extraRequestParams, {
    roleMapping: options.roleMapping,
  });
  adjust(request);
  if (options.onlyReturnPrompt) {
    return chatResponse({ output: '', meta: emptyMeta(), input: request, toolCalls: [] });
  }
  const replaced = await llm.runEvent(EventName.BEFORE_CALL_MODEL, model, [request]);
  if (replaced) return fromRawResult(replaced, request);
  const cluster = await llm.cluster();
  const started = performance.now();
  const handle = llm.inFlight.open(options.requestId, options.signal);
  let result: ChatResult;
  try {
    result = await cluster.call(model, 'chat', request, { signal: handle.signal });
  } finally {
    handle.close();
  }
  const response = toResponse(llm, model, request, result, (performance.now() - started) / 1000);
  const after = await llm.runEvent(EventName.AFTER_CALL_MODEL, model, [
    { predict: response.output, metadata: { ...response.meta }, input: request },
  ]);
  return after ? fromRawResult(after, request) : response;
}

/** A callback's `[{ predict, metadata }]` as the response (the first item; an empty list: empty text). */
function fromRawResult(results: RawModelResult[], request: ChatRequest): ChatResponse {
  const [first] = results;
  const meta = { ...emptyMeta(), ...(first?.metadata ?? {}) } as ResponseMeta;
  return chatResponse({ output: first?.predict ?? '', meta, input: first?.input ?? request, toolCalls: [] });
}

function toResponse(
  llm: ClientSession,
  model: string,
  request: ChatRequest,
  result: ChatResult,
  seconds: number,
): ChatResponse {
  const meta = emptyMeta();
  meta.request_id = result.requestId;
  meta.input_tokens_count = result.usage.inputTokens;
  meta.generated_tokens_count = result.usage.outputTokens;
  meta.time_cost = seconds;
  meta.speed = seconds > 0 ? result.usage.outputTokens / seconds : 0;
  meta.finish_reason = result.finishReason;
  meta.reasoning_content = result.reasoning ?? '';
  if (result.warnings.length > 0) meta.warnings = result.warnings;
  return chatResponse({
    output: llm.cleanOutput(model, result.text),
    meta,
    input: request,
    toolCalls: result.toolCalls,
  });
}

export async function runChatOai(
  llm: ClientSession,
  model: string,
  callerOptions: ChatOaiOptions,
): Promise<ChatResponse> {
  let options = callerOptions;
  if (options.responseClass && options.tools?.length) {
    throw new InvalidArgumentError('responseClass and tools cannot be used in the same chatOai call');
  }
  if (options.implFunc) {
    throw new InvalidArgumentError(
      'implFunc is run by the client facade (ByzerLLM.chatOai), not by runChatOai',
    );
  }
  const meta = await llm.getMeta({ model });
  if (!meta.tasks.includes('chat')) return chatViaTask(llm, model, meta, options);
  if (options.enableDefaultSysMessage) {
    const abilities: Ability[] = [];
    if (options.tools?.length) abilities.push('function_calling');
    if (options.responseClass) abilities.push('response_with_class');
    const base = llm.modelSettings(model).baseSystemMessage;
    options = { ...options, conversations: withDefaultSystemMessage(options.conversations, abilities, base) };
  }
  if (options.tools?.length)
    return withTools(llm, model, options, await useNative(llm, model, options.toolMode, 'support_tools'));
  if (options.responseClass) {
    return withResponseClass(
      llm,
      model,
      options,
      options.responseClass,
      await useNative(llm, model, options.structuredMode, 'support_response_format'),
    );
  }
  return generate(llm, model, options.conversations, options);
}

/** Byzer-LLM's answer to `only_return_prompt` with tools or a response class. */
function onlyPrompt(response: ChatResponse): ChatResponse {
  response.meta.reason = 'Only return prompt';
  return response;
}

async function useNative(
  llm: ClientSession,
  model: string,
  mode: FeatureMode | undefined,
  flag: 'support_tools' | 'support_response_format',
): Promise<boolean> {
  if (mode === 'native') return true;
  if (mode === 'prompt') return false;
  return (await llm.getMeta({ model }))[flag] === true;
}

/** A copy of the conversation with the last user message's text replaced. */
function withLastUserText(
  conversation: Conversation,
  rewrite: (text: string) => string,
): ConversationMessage[] {
  const list: ConversationMessage[] =
    typeof conversation === 'string'
      ? [{ role: 'user', content: conversation }]
      : conversation.map((message) => ({ ...message }));
  const last = list.at(-1);
  if (!last || typeof last.content !== 'string') {
    throw new InvalidArgumentError('the last message must be a text message for tools or structured output');
  }
  last.content = rewrite(last.content);
  return list;
}

async function withTools(
  llm: ClientSession,
  model: string,
  options: ChatOaiOptions,
  native: boolean,
): Promise<ChatResponse> {
  const tools = options.tools ?? [];
  const definitions = tools.map(toToolDefinition);
  let response: ChatResponse;
  let calls: ToolCall[];
  const reasons: string[] = [];
  if (native) {
    response = await generate(llm, model, options.conversations, options, (request) => {
      request.tools = definitions;
      if (options.toolChoice !== undefined) request.toolChoice = options.toolChoice;
    });
    if (options.onlyReturnPrompt) return onlyPrompt(response);
    calls = response.toolCalls;
    if (calls.length === 0) reasons.push('the model called no tool');
  } else {
    const format = llm.modelSettings(model).functionCallingFormat ?? defaultFunctionCallingFormat;
    const toolChoice = typeof options.toolChoice === 'object' ? options.toolChoice.name : undefined;
    const conversation = withLastUserText(options.conversations, (question) =>
      format({ question, tools: definitions, ...(toolChoice ? { toolChoice } : {}) }),
    );
    response = await generate(llm, model, conversation, options);
    if (options.onlyReturnPrompt) return onlyPrompt(response);
    const parsed = parsePromptToolCalls(response.output);
    calls = parsed.calls;
    response.toolCalls = calls;
    if (parsed.reason) reasons.push(parsed.reason);
  }
  if (options.executeTool) {
    const outcome = await executeToolCalls(calls, tools, options.funcParams);
    response.values = outcome.values;
    response.meta.selected_functions = outcome.selected;
    reasons.push(...outcome.reasons);
  }
  if (reasons.length > 0) response.meta.reason = reasons.join('; ');
  return response;
}

async function withResponseClass(
  llm: ClientSession,
  model: string,
  options: ChatOaiOptions,
  schema: z.ZodType,
  native: boolean,
): Promise<ChatResponse> {
  const jsonSchema = jsonSchemaOf(schema);
  const askNative = (request: ChatRequest) => {
    if (native) request.responseFormat = { type: 'json', schema: jsonSchema, name: 'response' };
  };
  let conversation: ConversationMessage[];
  let response: ChatResponse;
  if (options.responseAfterChat) {
    // Answer first, then ask the same model (Byzer-LLM forgot to forward it) to extract the JSON.
    const first = await generate(llm, model, options.conversations, options);
    if (options.onlyReturnPrompt) return onlyPrompt(first);
    conversation = [
      ...(typeof options.conversations === 'string'
        ? [{ role: 'user', content: options.conversations }]
        : options.conversations),
      { role: 'assistant', content: first.output },
      { role: 'user', content: afterChatPrompt(jsonSchema) },
    ];
  } else if (native) {
    conversation = withLastUserText(options.conversations, (question) => question);
  } else {
    const format = llm.modelSettings(model).responseClassFormat ?? defaultResponseClassFormat;
    conversation = withLastUserText(options.conversations, (question) =>
      format({ question, schema: jsonSchema }),
    );
  }
  response = await generate(llm, model, conversation, options, askNative);
  if (options.onlyReturnPrompt) return onlyPrompt(response);
  let parsed = parseStructured(response.output, schema);
  if (!parsed.ok) {
    // One repair round: the model sees what was wrong with its answer.
    const repair = [
      ...conversation,
      { role: 'assistant', content: response.output },
      { role: 'user', content: repairPrompt(parsed.reason) },
    ];
    const repaired = await generate(llm, model, repair, options, askNative);
    const second = parseStructured(repaired.output, schema);
    if (second.ok) {
      response = repaired;
      parsed = second;
    } else {
      response.meta.reason = `${parsed.reason}; after one repair round: ${second.reason}`;
      return response;
    }
  }
  response.value = parsed.value;
  return response;
}
