/**
 * Chat on a local GGUF model through node-llama-cpp.
 *
 * Each request takes one sequence of the worker's context (see `SequencePool`), renders the history
 * with the model's chat wrapper (the GGUF template by default, resolved once per model) and
 * generates; requests on different sequences that evaluate at the same time share llama.cpp batches.
 * Requests that need nothing of `LlamaChat` (no tools, grammar, penalties, assistant prefix or
 * context shift) generate on the plain path (plain-generation.ts): the same text for less CPU per
 * token; the others go through `LlamaChat`.
 * Streaming forwards node-llama-cpp's text chunks as `text-delta` parts, merging chunks that come
 * faster than `streamIntervalMs` apart (a part costs more than a token of a tiny model), on one clock
 * for all streams of the model, so that concurrent streams' parts leave together. `responseFormat` with a JSON schema becomes a
 * llama.cpp grammar, so the output is valid JSON of that shape by construction (schemas are compiled
 * once and cached). `tools` go to node-llama-cpp's function calling (tool-calls.ts), which also
 * names the fields the engine refuses with a 400. Usage comes from the sequence's token meter and
 * length. A sequence keeps its tokens between requests, so a prompt that starts like the last one
 * it served evaluates only the rest (`SequencePool`).
 */
import { randomUUID } from 'node:crypto';
import {
  type ChatHistoryItem,
  type ChatWrapper,
  type Llama,
  LlamaChat,
  type LlamaChatResponse,
  type LlamaContextSequence,
  type LlamaGrammar,
} from 'node-llama-cpp';
import type {
  CallOptions,
  ChatModelV1,
  ChatRequest,
  ChatResult,
  FinishReason,
  StreamPart,
  Warning,
} from '../../core/chat-model.js';
import { AbortedError, InvalidArgumentError, throwIfAborted, toByzerLLMError } from '../../core/errors.js';
import { AsyncQueue } from '../shared/async-queue.js';
import { toChatHistory } from './convert-messages.js';
import { DeltaCoalescer, StreamClock } from './delta-coalescer.js';
import { generatePlainText, preparePlainPrompt, samplingOf } from './plain-generation.js';
import { promptKey, type SequencePool } from './sequence-pool.js';
import { isRefusedExtra, refuseUnsupported, toFunctions, toToolCalls } from './tool-calls.js';

export interface LlamaCppChatConfig {
  modelId: string;
  llama: Llama;
  sequences: SequencePool;
  /**
   * The model's chat wrapper, resolved once when the model loaded (`chat-wrapper.ts`). Required: a
   * `LlamaChat` without one resolves it again, which costs about a second per request.
   */
  chatWrapper: ChatWrapper;
  /** Generation cap when the request has none: the context left is the real limit. */
  defaultMaxTokens: number;
  /** Minimum milliseconds between streamed text parts; faster tokens are merged (`DeltaCoalescer`). */
  streamIntervalMs: number;
  /**
   * Generate requests that need nothing of `LlamaChat` on the plain path (`plain-generation.ts`):
   * the same text for less CPU per token. Defaults to true; false sends every request through
   * `LlamaChat` (the tests compare the two).
   */
  plainGeneration?: boolean;
}

/** Request extras (`gen.*` / `extra_body`) the engine understands. */
const KNOWN_EXTRA = ['repeat_penalty', 'min_p'];

export class LlamaCppChatModel implements ChatModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'llama_cpp';
  readonly modelId: string;
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  /** One for all streams of this model: their parts leave on the same ticks (`StreamClock`). */
  private readonly streamClock: StreamClock;

  constructor(private readonly config: LlamaCppChatConfig) {
    this.modelId = config.modelId;
    this.streamClock = new StreamClock(config.streamIntervalMs);
  }

  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const requestId = `llama_cpp-${randomUUID()}`;
    const warnings: Warning[] = [];
    refuseUnsupported(request);
    const { response, usage } = await this.generate(request, options, warnings, undefined);
    return {
      text: response.text,
      toolCalls: toToolCalls(response.functionCalls),
      finishReason: mapStopReason(response.stopReason),
      usage,
      requestId,
      modelId: this.modelId,
      warnings,
    };
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    throwIfAborted(options.signal);
    const requestId = `llama_cpp-${randomUUID()}`;
    const warnings: Warning[] = [];
    const queue = new AsyncQueue<StreamPart>();
    queue.push({ type: 'response-metadata', requestId, modelId: this.modelId });
    // Validate the request (grammar, settings) before answering, so bad requests throw, not stream.
    refuseUnsupported(request);
    const grammar = await this.grammarFor(request);
    const deltas = new DeltaCoalescer(this.streamClock, (delta) => queue.push({ type: 'text-delta', delta }));
    this.generate(request, options, warnings, (delta) => deltas.push(delta), grammar)
      .then(({ response, usage }) => {
        deltas.flush();
        for (const toolCall of toToolCalls(response.functionCalls))
          queue.push({ type: 'tool-call', toolCall });
        queue.push({
          type: 'finish',
          finishReason: mapStopReason(response.stopReason),
          usage,
          ...(warnings.length ? { warnings } : {}),
        });
        queue.end();
      })
      .catch((error: unknown) => {
        deltas.flush();
        queue.push({ type: 'error', error: toByzerLLMError(error) });
        queue.end();
      });
    return queue;
  }

  private async generate(
    request: ChatRequest,
    options: CallOptions,
    warnings: Warning[],
    onDelta: ((delta: string) => void) | undefined,
    knownGrammar?: LlamaGrammar,
  ): Promise<{ response: Generated; usage: ChatResult['usage'] }> {
    throwIfAborted(options.signal);
    const grammar = knownGrammar ?? (await this.grammarFor(request));
    const history = toChatHistory(request.messages, warnings);
    reportUnsupported(request, warnings);
    const sequence = await this.config.sequences.acquire(promptKey(request.messages));
    try {
      throwIfAborted(options.signal);
      const before = meterOf(sequence);
      const maxTokens = request.maxTokens ?? this.config.defaultMaxTokens;
      // Repeat, presence and frequency penalties stay with LlamaChat: the tokens it penalises lag
      // behind the generated ones, so the same request would sample differently on the plain path.
      const plain =
        this.config.plainGeneration !== false &&
        !grammar &&
        !toFunctions(request) &&
        !repeatPenaltyOf(request)
          ? preparePlainPrompt(sequence, this.config.chatWrapper, history, maxTokens)
          : undefined;
      let response: Generated;
      if (plain) {
        plainGenerations++;
        const { text, stopReason } = await generatePlainText(sequence, plain, {
          maxTokens,
          stop: request.stop ?? [],
          sampling: samplingOf(samplingSettingsOf(request)),
          sequences: this.config.sequences,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(onDelta ? { onTextChunk: onDelta } : {}),
        });
        response = { text, stopReason };
      } else {
        response = await this.generateWithChat(sequence, history, { request, options, onDelta, grammar });
      }
      return { response, usage: usageOf(sequence, before) };
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError(undefined, { cause: error });
      throw error;
    } finally {
      this.config.sequences.release(sequence);
    }
  }

  /** Generation through `LlamaChat`: tools, grammars, thought segments, assistant prefixes, long prompts. */
  private async generateWithChat(
    sequence: LlamaContextSequence,
    history: ChatHistoryItem[],
    call: {
      request: ChatRequest;
      options: CallOptions;
      onDelta: ((delta: string) => void) | undefined;
      grammar: LlamaGrammar | undefined;
    },
  ): Promise<Generated> {
    const { request, options, onDelta, grammar } = call;
    const chat = new LlamaChat({
      contextSequence: sequence,
      autoDisposeSequence: false,
      chatWrapper: this.config.chatWrapper,
    });
    // LlamaChat cannot pause between tokens for another request's erase (SequencePool).
    const chatEnded = this.config.sequences.chatStarted();
    try {
      const functions = toFunctions(request);
      const repeatPenalty = repeatPenaltyOf(request);
      const response: GenerateResponse = await chat.generateResponse(history, {
        maxTokens: request.maxTokens ?? this.config.defaultMaxTokens,
        ...samplingSettingsOf(request),
        ...(request.stop?.length ? { customStopTriggers: request.stop } : {}),
        ...(repeatPenalty ? { repeatPenalty } : {}),
        ...(grammar ? { grammar } : functions ? { functions, documentFunctionParams: true } : {}),
        ...(options.signal ? { signal: options.signal, stopOnAbortSignal: false } : {}),
        ...(onDelta ? { onTextChunk: onDelta } : {}),
      });
      return {
        text: response.response,
        ...(response.functionCalls ? { functionCalls: response.functionCalls } : {}),
        stopReason: response.metadata.stopReason,
      };
    } finally {
      chatEnded();
      chat.dispose({ disposeSequence: false });
    }
  }

  private grammarFor(request: ChatRequest): Promise<LlamaGrammar | undefined> {
    const format = request.responseFormat;
    if (format?.type !== 'json') return Promise.resolve(undefined);
    const schema = format.schema ?? { type: 'object' };
    const key = JSON.stringify(schema);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = this.config.llama
        .createGrammarForJsonSchema(
          stripAnnotations(schema) as Parameters<Llama['createGrammarForJsonSchema']>[0],
        )
        .catch((error: unknown) => {
          this.grammars.delete(key);
          throw new InvalidArgumentError(
            `responseFormat schema cannot become a llama.cpp grammar: ${(error as Error).message}`,
          );
        });
      this.grammars.set(key, grammar);
    }
    return grammar;
  }
}

/** What `generateResponse` answers, with the function calls it makes when given `functions`. */
type GenerateResponse = Omit<LlamaChatResponse, 'functionCalls'> & {
  functionCalls?: readonly { functionName: string; params: unknown }[];
};

/** What either generation path answers. */
interface Generated {
  text: string;
  functionCalls?: GenerateResponse['functionCalls'];
  stopReason: LlamaChatResponse['metadata']['stopReason'];
}

let plainGenerations = 0;

/**
 * How many requests this process generated on the plain path (`plain-generation.ts`), not through
 * `LlamaChat`. A test seam: the tests check which path a request took.
 */
export function plainGenerationCount(): number {
  return plainGenerations;
}

/** The request's sampling settings, under node-llama-cpp's names. */
function samplingSettingsOf(request: ChatRequest) {
  const minP = request.extra?.min_p;
  return {
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.topP === undefined ? {} : { topP: request.topP }),
    ...(request.topK === undefined ? {} : { topK: request.topK }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    ...(typeof minP === 'number' ? { minP } : {}),
  };
}

function meterOf(sequence: LlamaContextSequence): { input: number; output: number } {
  const state = sequence.tokenMeter.getState();
  return { input: state.usedInputTokens, output: state.usedOutputTokens };
}

/**
 * The request's usage. The meter counts only the tokens evaluated, and a prompt prefix reused from
 * the sequence's KV cache is not evaluated again; the prompt's length is what the sequence holds
 * minus what it generated, so input tokens count the whole prompt, cached or not (accounting and
 * clients see the same number whichever sequence served the request).
 */
function usageOf(
  sequence: LlamaContextSequence,
  before: { input: number; output: number },
): ChatResult['usage'] {
  const after = meterOf(sequence);
  const outputTokens = after.output - before.output;
  const evaluated = after.input - before.input;
  return { inputTokens: Math.max(evaluated, sequence.contextTokens.length - outputTokens), outputTokens };
}

function repeatPenaltyOf(request: ChatRequest) {
  const extra = request.extra ?? {};
  const penalty = typeof extra.repeat_penalty === 'number' ? extra.repeat_penalty : undefined;
  if (
    penalty === undefined &&
    request.presencePenalty === undefined &&
    request.frequencyPenalty === undefined
  ) {
    return undefined;
  }
  return {
    ...(penalty === undefined ? {} : { penalty }),
    ...(request.presencePenalty === undefined ? {} : { presencePenalty: request.presencePenalty }),
    ...(request.frequencyPenalty === undefined ? {} : { frequencyPenalty: request.frequencyPenalty }),
  };
}

function reportUnsupported(request: ChatRequest, warnings: Warning[]): void {
  for (const key of Object.keys(request.extra ?? {})) {
    if (!KNOWN_EXTRA.includes(key) && !isRefusedExtra(key)) {
      warnings.push({
        type: 'unsupported-setting',
        setting: key,
        message: `extra setting ${key} is not used by the llama_cpp engine (known: ${KNOWN_EXTRA.join(', ')})`,
      });
    }
  }
}

/** JSON Schema keys that carry no constraint; node-llama-cpp's converter rejects some of them. */
function stripAnnotations(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripAnnotations);
  if (schema === null || typeof schema !== 'object') return schema;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$schema' || key === 'title' || key === '$id') continue;
    result[key] =
      key === 'properties' || key === '$defs' ? mapValues(value, stripAnnotations) : stripAnnotations(value);
  }
  return result;
}

function mapValues(value: unknown, map: (value: unknown) => unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, map(entry)]));
}

function mapStopReason(reason: LlamaChatResponse['metadata']['stopReason']): FinishReason {
  switch (reason) {
    case 'eogToken':
    case 'stopGenerationTrigger':
    case 'customStopTrigger':
      return 'stop';
    case 'maxTokens':
      return 'length';
    case 'functionCalls':
      return 'tool-calls';
    case 'abort':
      return 'other';
    default:
      return 'unknown';
  }
}
