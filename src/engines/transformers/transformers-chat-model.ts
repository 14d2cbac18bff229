/**
 * `ChatModelV1` (and the tokenizer calls) for `custom/auto` on the transformers backend: a decoder-only
 * ONNX export (`onnx/model.onnx` with a key/value cache, as Optimum writes it) run by transformers.js
 * `AutoModelForCausalLM.generate`.
 *
 * The conversation is rendered with the model's own chat template (`tokenizer_config.json`), tokenized
 * without extra special tokens (templates carry their own), and generated token by token; streaming
 * sends text as `StopAwareStreamer` releases it. Sampling follows OpenAI's meaning: no temperature or
 * `0` is greedy decoding, a positive one samples with it (and `topP`/`topK`). transformers.js samples
 * with `Math.random`, so a `seed` cannot be honoured and comes back as a warning, as do the penalties
 * it has no equivalent for. `tools` and a JSON `responseFormat` are refused (400): nothing here can
 * constrain the output, and meta says so (`support_tools`/`support_response_format` false), so
 * clients prompt for them instead.
 *
 * Concurrent requests (`--worker_concurrency` above 1) need no queue: they generate interleaved, a
 * step each in turn, on the one model. transformers.js keeps everything a `generate` call changes
 * (its key/value cache, its ids, the logits processors) in that call, onnxruntime-node sessions
 * accept concurrent runs (transformers.js serialises runs only in browsers, whose WASM runtime does
 * not), and the tokenizer is synchronous. Each stream therefore moves on at once, and a greedy
 * answer is the same alone or among others (transformers-chat.test.ts checks both).
 */
import { randomUUID } from 'node:crypto';
import type {
  CallOptions,
  ChatMessage,
  ChatModelV1,
  ChatRequest,
  ChatResult,
  FinishReason,
  StreamPart,
  Warning,
} from '../../core/chat-model.js';
import { AbortedError, InvalidArgumentError, throwIfAborted, toByzerLLMError } from '../../core/errors.js';
import type {
  ChatTemplateRequest,
  ChatTemplateResult,
  TokenizeRequest,
  TokenizeResult,
  TokenizerModelV1,
} from '../../core/models.js';
import { AsyncQueue } from '../shared/async-queue.js';
import type { TransformersLibrary } from './load-library.js';
import { StopAwareStreamer } from './stop-aware-streamer.js';
import { localLoadOptions, type TransformersParams } from './transformers-params.js';

/** The parts of transformers.js's tokenizer this engine uses. */
interface CausalTokenizer {
  apply_chat_template(
    messages: { role: string; content: string }[],
    options: { tokenize: false; add_generation_prompt: boolean },
  ): string;
  encode(text: string, options: { add_special_tokens: boolean }): number[];
  decode(
    tokens: bigint[],
    options: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean },
  ): string;
  /** `tokenizer_config.json`; transformers.js cleans up tokenization spaces unless it says false. */
  config?: { clean_up_tokenization_spaces?: unknown };
}

interface CausalModel {
  generate(options: Record<string, unknown>): Promise<unknown>;
  dispose(): Promise<unknown>;
  generation_config?: { eos_token_id?: number | number[] | null };
}

/** Request extras (`gen.*` / `extra_body`) the engine understands. */
const KNOWN_EXTRA = ['repetition_penalty'];
/** Answer length for requests that set none (the context left caps it further). */
const DEFAULT_MAX_TOKENS = 1024;

export class TransformersChatModel implements ChatModelV1, TokenizerModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'transformers';
  private readonly endTokens: Set<bigint>;

  private constructor(
    readonly modelId: string,
    private readonly library: TransformersLibrary,
    private readonly tokenizer: CausalTokenizer,
    private readonly model: CausalModel,
    private readonly contextLength: number,
  ) {
    const eos = model.generation_config?.eos_token_id;
    this.endTokens = new Set((Array.isArray(eos) ? eos : eos == null ? [] : [eos]).map(BigInt));
  }

  static async load(
    library: TransformersLibrary,
    options: { modelId: string; folder: string; params: TransformersParams; contextLength: number },
  ): Promise<TransformersChatModel> {
    const tokenizer = (await library.AutoTokenizer.from_pretrained(options.folder, {
      local_files_only: true,
    })) as unknown as CausalTokenizer;
    const model = (await library.AutoModelForCausalLM.from_pretrained(
      options.folder,
      localLoadOptions(options.params),
    )) as unknown as CausalModel;
    const chat = new TransformersChatModel(options.modelId, library, tokenizer, model, options.contextLength);
    // One token at load: a graph that does not fit transformers.js's decoder fails the deploy, not a request.
    await chat.doGenerate({ messages: [{ role: 'user', content: 'hello' }], maxTokens: 1 });
    return chat;
  }

  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const requestId = `transformers-${randomUUID()}`;
    const warnings: Warning[] = [];
    const answer = await this.generate(request, options, warnings, undefined);
    return { ...answer, toolCalls: [], requestId, modelId: this.modelId, warnings };
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    throwIfAborted(options.signal);
    refuseUnsupported(request);
    const warnings: Warning[] = [];
    const queue = new AsyncQueue<StreamPart>();
    queue.push({
      type: 'response-metadata',
      requestId: `transformers-${randomUUID()}`,
      modelId: this.modelId,
    });
    this.generate(request, options, warnings, (delta) => queue.push({ type: 'text-delta', delta }))
      .then(({ finishReason, usage }) => {
        queue.push({ type: 'finish', finishReason, usage, ...(warnings.length ? { warnings } : {}) });
      })
      .catch((error: unknown) => queue.push({ type: 'error', error: toByzerLLMError(error) }))
      .finally(() => queue.end());
    return queue;
  }

  async doTokenize(request: TokenizeRequest): Promise<TokenizeResult> {
    return { tokens: this.tokenizer.encode(request.text, { add_special_tokens: false }) };
  }

  async doApplyChatTemplate(request: ChatTemplateRequest): Promise<ChatTemplateResult> {
    return { text: this.render(request.messages, []) };
  }

  dispose(): Promise<void> {
    return this.model.dispose().then(() => undefined);
  }

  private async generate(
    request: ChatRequest,
    options: CallOptions,
    warnings: Warning[],
    onDelta: ((delta: string) => void) | undefined,
  ): Promise<Pick<ChatResult, 'text' | 'finishReason' | 'usage'>> {
    throwIfAborted(options.signal);
    refuseUnsupported(request);
    const prompt = this.tokenizer.encode(this.render(request.messages, warnings), {
      add_special_tokens: false,
    });
    const room = this.contextLength - prompt.length;
    if (room < 1) {
      throw new InvalidArgumentError(
        `the prompt has ${prompt.length} tokens; ${this.modelId} takes at most ${this.contextLength - 1} to leave room for an answer`,
      );
    }
    const maxTokens = Math.min(request.maxTokens ?? DEFAULT_MAX_TOKENS, room);
    const criteria = new this.library.InterruptableStoppingCriteria();
    const streamer = new StopAwareStreamer({
      decode: (tokens) =>
        this.tokenizer.decode(tokens, { skip_special_tokens: true, clean_up_tokenization_spaces: false }),
      cleanUpSpaces: this.tokenizer.config?.clean_up_tokenization_spaces !== false,
      stop: request.stop ?? [],
      onDelta: onDelta ?? (() => {}),
      interrupt: () => criteria.interrupt(),
    });
    const abort = () => criteria.interrupt();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      const ids = BigInt64Array.from(prompt, BigInt);
      await this.model.generate({
        input_ids: new this.library.Tensor('int64', ids, [1, ids.length]),
        attention_mask: new this.library.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [
          1,
          ids.length,
        ]),
        max_new_tokens: maxTokens,
        ...samplingOf(request, warnings),
        streamer,
        stopping_criteria: [criteria],
      });
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
    if (options.signal?.aborted) throw new AbortedError();
    const last = streamer.tokens.at(-1);
    const finishReason: FinishReason =
      streamer.stopped || (last !== undefined && this.endTokens.has(last))
        ? 'stop'
        : streamer.tokens.length >= maxTokens || prompt.length + streamer.tokens.length >= this.contextLength
          ? 'length'
          : 'stop';
    return {
      text: streamer.text,
      finishReason,
      usage: { inputTokens: prompt.length, outputTokens: streamer.tokens.length },
    };
  }

  /** The conversation as the model's chat template renders it, ready for the answer. */
  private render(messages: ChatMessage[], warnings: Warning[]): string {
    const last = messages.at(-1);
    const prefix = last?.role === 'assistant' && last.prefix ? last.content : undefined;
    const history = prefix === undefined ? messages : messages.slice(0, -1);
    const rendered = this.tokenizer.apply_chat_template(toTemplateMessages(history, warnings), {
      tokenize: false,
      add_generation_prompt: true,
    });
    return prefix === undefined ? rendered : rendered + prefix;
  }
}

function toTemplateMessages(
  messages: ChatMessage[],
  warnings: Warning[],
): { role: string; content: string }[] {
  return messages.map((message) => {
    if (message.role === 'assistant' && message.toolCalls?.length) {
      warnings.push({ type: 'other', message: 'earlier tool calls are left out of the prompt' });
    }
    if (typeof message.content === 'string') return { role: message.role, content: message.content };
    const texts: string[] = [];
    for (const part of message.content) {
      if (part.type === 'text') texts.push(part.text);
      else
        warnings.push({ type: 'other', message: `${part.type} parts are left out: this model reads text` });
    }
    return { role: 'user', content: texts.join('\n') };
  });
}

function refuseUnsupported(request: ChatRequest): void {
  if (request.tools?.length && request.toolChoice !== 'none') {
    throw new InvalidArgumentError(
      'tools are not supported by the transformers backend (it cannot constrain output to a call); describe the tools in the prompt or use llama_cpp or vllm',
    );
  }
  if (request.responseFormat?.type === 'json') {
    throw new InvalidArgumentError(
      'responseFormat json is not supported by the transformers backend (it cannot constrain output); ask for JSON in the prompt',
    );
  }
}

/** OpenAI sampling fields → transformers.js generation options; what cannot be honoured is a warning. */
function samplingOf(request: ChatRequest, warnings: Warning[]): Record<string, unknown> {
  const unsupported = (setting: string, message: string) =>
    warnings.push({ type: 'unsupported-setting', setting, message });
  if (request.seed !== undefined)
    unsupported('seed', 'transformers.js samples without a seed; seed is ignored');
  if (request.presencePenalty !== undefined)
    unsupported('presencePenalty', 'not supported by transformers.js');
  if (request.frequencyPenalty !== undefined)
    unsupported('frequencyPenalty', 'not supported by transformers.js');
  const extra = request.extra ?? {};
  for (const key of Object.keys(extra)) {
    if (!KNOWN_EXTRA.includes(key)) {
      unsupported(
        key,
        `extra setting ${key} is not used by the transformers engine (known: ${KNOWN_EXTRA.join(', ')})`,
      );
    }
  }
  const penalty =
    typeof extra.repetition_penalty === 'number' ? { repetition_penalty: extra.repetition_penalty } : {};
  const temperature = request.temperature ?? 0;
  if (temperature <= 0) {
    if (request.topP !== undefined || request.topK !== undefined) {
      unsupported('topP', 'topP/topK have no effect with greedy decoding (temperature unset or 0)');
    }
    return { do_sample: false, ...penalty };
  }
  return {
    do_sample: true,
    temperature,
    ...(request.topP === undefined ? {} : { top_p: request.topP }),
    ...(request.topK === undefined ? {} : { top_k: request.topK }),
    ...penalty,
  };
}
