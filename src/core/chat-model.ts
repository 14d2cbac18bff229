/**
 * Model protocol v1 — chat.
 *
 * This is the contract every chat engine (SaaS provider, local engine), every worker and every
 * transport speaks. It is deliberately small: an engine implements `doGenerate` and `doStream`;
 * everything user-facing (templates, tools by prompt, structured output, prompt functions) is built
 * on top of it in upper layers.
 *
 * Versioning: `specificationVersion` is `'v1'`. A field may be added in a compatible way (optional);
 * changing the meaning of a field means a `'v2'`.
 */
import type { ByzerLLMError } from './errors.js';

export const MODEL_PROTOCOL_VERSION = 'v1' as const;

/** A piece of message content. Plain strings are the common case; parts carry multimodal input. */
export type ContentPart =
  | { type: 'text'; text: string }
  /** `url` is an http(s) URL or a `data:image/...;base64,` URL. `detail` follows OpenAI. */
  | { type: 'image'; url: string; detail?: 'auto' | 'low' | 'high' }
  /** `url` is a `data:audio/...;base64,` URL (or http URL where the provider accepts one). */
  | { type: 'audio'; url: string };

export interface ToolCall {
  /** Provider-assigned id, echoed back in the tool result message. */
  id: string;
  name: string;
  /** The arguments as the JSON text the model produced (may be invalid JSON; validate upstream). */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | ContentPart[] }
  | {
      role: 'assistant';
      content: string;
      toolCalls?: ToolCall[];
      /**
       * Marks the last assistant message as a prefix the model must continue (chat prefix
       * completion, DeepSeek `prefix: true`, Anthropic prefill). Only valid on the last message.
       */
      prefix?: boolean;
    }
  | { role: 'tool'; toolCallId: string; content: string };

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema (draft 2020-12 subset, as OpenAI accepts) of the arguments object. */
  parameters: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type ResponseFormat =
  | { type: 'text' }
  /** JSON output; with `schema` the engine constrains or asks for that JSON Schema. */
  | { type: 'json'; schema?: Record<string, unknown>; name?: string };

export interface ChatRequest {
  messages: ChatMessage[];
  /** Upper bound of generated tokens. Undefined means the engine's default (never a tiny value). */
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
  /** Ask a streaming engine to report usage in the final `finish` part. Defaults to true. */
  includeUsage?: boolean;
  /**
   * Engine-specific settings that have no portable field (`gen.*` keys of Byzer-LLM, OpenAI
   * `extra_body`). Engines take what they understand and report the rest as warnings.
   */
  extra?: Record<string, unknown>;
  /**
   * The whole conversation pre-formatted by a client template (`Templates.qwen()`, …). Engines that
   * support raw completion (meta `message_format: false`) use it instead of applying their own chat
   * template; message-format engines ignore it. `messages` stays filled for them and for logs.
   */
  prompt?: string;
  /**
   * Run another task of the deployment instead of chat (Byzer-LLM's JSON task messages): the last
   * user message is a JSON object with that task's fields (`{"input", "voice"}` for speech,
   * `{"input", "size"}` for an image, `{"audio"}` for a transcription). Without this field a chat
   * message is read as a task only on a deployment whose `ModelMeta.primary_task` is not `chat`;
   * chat text is never guessed to be a task.
   */
  task?: ChatTaskKind;
}

/** The tasks a chat call can run instead of chat (see `ChatRequest.task`). */
export type ChatTaskKind = 'speech' | 'image' | 'transcription';

/** Why a generation ended; the wire and the cluster's stored answers check against this list. */
export const FINISH_REASONS = [
  'stop',
  'length',
  'tool-calls',
  'content-filter',
  'error',
  'other',
  'unknown',
] as const;

export type FinishReason = (typeof FINISH_REASONS)[number];

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /**
   * Busy time of a local worker without GPUs: the worker process's CPU time (all its threads)
   * while the request ran, shared equally with the requests running beside it (see
   * `cluster/worker/busy-meter.ts`). Set by the worker process, never by an engine; absent for
   * in-process (SaaS) engines. Added in v1 as an optional field (issue 19).
   */
  cpuSeconds?: number;
  /**
   * Busy time of a local worker with GPUs: wall time while the request ran × the worker's GPUs,
   * shared equally with the requests running beside it. A worker sets this or `cpuSeconds`, never
   * both.
   */
  gpuSeconds?: number;
}

/** Busy seconds as usage and spend keep them: whole microseconds, so their sums are exact. */
export function wholeMicroseconds(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

/** Something the engine ignored or adjusted, e.g. an unsupported setting. Never fatal. */
export interface Warning {
  type: 'unsupported-setting' | 'other';
  setting?: string;
  message: string;
}

export interface ChatResult {
  text: string;
  /** Reasoning ("thinking") text for models that expose it (DeepSeek R1, o-series via proxies). */
  reasoning?: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
  /** Provider request id when known; otherwise one generated by the engine. */
  requestId: string;
  /** Model id as reported by the provider. */
  modelId?: string;
  warnings: Warning[];
}

/**
 * One part of a streamed answer. Streams are async iterables of these parts, ending with exactly one
 * `finish` part or one `error` part. Errors that happen before the first part throw instead.
 */
export type StreamPart =
  | { type: 'response-metadata'; requestId: string; modelId?: string }
  | { type: 'text-delta'; delta: string }
  | { type: 'reasoning-delta'; delta: string }
  /** A complete tool call (engines assemble partial argument deltas before emitting it). */
  | { type: 'tool-call'; toolCall: ToolCall }
  /**
   * Bytes of generated audio (a TTS answer streamed through chat; Byzer-LLM's binary stream). The
   * pieces concatenate to the audio file; `collectStream` returns them base64 in `text`, as a
   * non-stream TTS answer has it. Added in v1 as an optional part (providers-b).
   */
  | { type: 'audio-delta'; data: Uint8Array; mediaType?: string }
  | { type: 'finish'; finishReason: FinishReason; usage: Usage; warnings?: Warning[] }
  | { type: 'error'; error: ByzerLLMError };

export interface CallOptions {
  /** Cancels the call; engines abort the upstream request and stop generating. */
  signal?: AbortSignal;
}

export interface ChatModelV1 {
  readonly specificationVersion: typeof MODEL_PROTOCOL_VERSION;
  /** e.g. `saas/openai`, `llama_cpp`. */
  readonly provider: string;
  readonly modelId: string;
  doGenerate(request: ChatRequest, options?: CallOptions): Promise<ChatResult>;
  /** Resolves once the upstream has accepted the request (errors before that reject). */
  doStream(request: ChatRequest, options?: CallOptions): Promise<AsyncIterable<StreamPart>>;
  /**
   * Optional OpenAI pass-through (added to v1 by issue 11; see `OpenAIPassThroughV1`). Offered only
   * by engines whose upstream speaks OpenAI chat completions; callers check for it and use
   * `doGenerate`/`doStream` otherwise.
   */
  doGenerateOpenAI?: OpenAIPassThroughV1['doGenerateOpenAI'];
  doStreamOpenAI?: OpenAIPassThroughV1['doStreamOpenAI'];
}

/**
 * An OpenAI `chat.completion` or `chat.completion.chunk` object as JSON, passed through.
 * The pass-through checks only what it relies on (an object with a `choices` list where one is
 * required); the rest is the upstream's and goes to the client unchanged.
 */
export type OpenAIChatObject = Record<string, unknown>;

/**
 * The OpenAI pass-through capability (protocol v1, optional, version `'v1'` of the capability).
 *
 * For an OpenAI-compatible gateway in front of an OpenAI-compatible upstream, translating the request
 * to a `ChatRequest` and back, and every stream chunk to a `StreamPart` and back, costs more CPU than
 * everything else the gateway does. An engine that offers this takes the caller's OpenAI chat
 * completion body instead and answers with the upstream's own JSON.
 *
 * The contract:
 * - `body` has been validated by the caller as an OpenAI chat completion request (messages, sampling
 *   fields, tools, response format) with `n` absent or 1 and `extra_body` already merged in. It is
 *   handed over: the engine may change it (it sets `model` to its upstream model, removes what its
 *   upstream rejects, such as the sampling fields of reasoning models) and the caller must not use
 *   it afterwards. `stream` and `stream_options` are the engine's to set.
 * - Errors are the same `ByzerLLMError`s as `doGenerate`/`doStream` throw, and only those (a
 *   transport hands the engine's promises on as they are, without a mapping hop): before the answer
 *   starts they reject; during a stream the iterable throws, after which nothing more comes. A stream that
 *   ends without the upstream's end (`[DONE]` or a finish reason) throws a retryable `upstream_error`.
 *   An error object sent inside a stream is thrown as its mapped error.
 * - The answer objects are the upstream's, with `reasoning` renamed to `reasoning_content` (the name
 *   Byzer-LLM's clients read); the caller rewrites `model` (and anything else it owns) itself.
 * - A stream's chunks are JSON texts (`OpenAIChunkText`), not parsed objects: parsing and
 *   re-serialising every chunk costs several times what forwarding it does, and most chunks need no
 *   change. The caller edits them with `openai-chunk-text.ts` (and parses the rare one it must read,
 *   such as the one with `usage`).
 * - No generation defaults, task dispatch or warnings happen here: the cluster offers the
 *   pass-through only for deployments that need none of them (see `RunningDeployment`).
 */
export interface OpenAIPassThroughV1 {
  doGenerateOpenAI(body: Record<string, unknown>, options?: CallOptions): Promise<OpenAIChatObject>;
  /**
   * Resolves once the upstream accepted the request; yields the `data:` chunks in order, in
   * batches (never empty) as they arrived: a consumer takes a step per network read, not per chunk.
   */
  doStreamOpenAI(
    body: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<AsyncIterable<OpenAIChunkText[]>>;
}

/**
 * The JSON text of one streamed `chat.completion.chunk` (a `data:` event of the upstream) with the
 * pass-through's checks applied: it is an object (`{` … `}`), it carries no error object (those are
 * thrown), and a `reasoning` field is renamed `reasoning_content`. Otherwise it is the upstream's
 * text as sent; its JSON is not re-validated (as a proxy that pipes bytes does not).
 */
export type OpenAIChunkText = string;

/** Whether a chat model offers the OpenAI pass-through (both methods). */
export function offersOpenAIPassThrough(
  model: ChatModelV1 | undefined,
): model is ChatModelV1 & OpenAIPassThroughV1 {
  return model?.doGenerateOpenAI !== undefined && model.doStreamOpenAI !== undefined;
}

/** Drains a stream into the equivalent non-stream result (used by tests and by fallbacks). */
export async function collectStream(stream: AsyncIterable<StreamPart>): Promise<ChatResult> {
  const result: ChatResult = {
    text: '',
    toolCalls: [],
    finishReason: 'unknown',
    usage: { inputTokens: 0, outputTokens: 0 },
    requestId: '',
    warnings: [],
  };
  let reasoning = '';
  const audio: Uint8Array[] = [];
  for await (const part of stream) {
    switch (part.type) {
      case 'response-metadata':
        result.requestId = part.requestId;
        if (part.modelId !== undefined) result.modelId = part.modelId;
        break;
      case 'text-delta':
        result.text += part.delta;
        break;
      case 'reasoning-delta':
        reasoning += part.delta;
        break;
      case 'tool-call':
        result.toolCalls.push(part.toolCall);
        break;
      case 'audio-delta':
        audio.push(part.data);
        break;
      case 'finish':
        result.finishReason = part.finishReason;
        result.usage = part.usage;
        if (part.warnings) result.warnings.push(...part.warnings);
        break;
      case 'error':
        throw part.error;
      default:
        assertNever(part);
    }
  }
  if (reasoning) result.reasoning = reasoning;
  if (audio.length > 0) result.text += Buffer.concat(audio).toString('base64');
  return result;
}

/** Exhaustiveness helper for switches over discriminated unions. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
