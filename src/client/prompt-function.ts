/**
 * Prompt functions (byzer-spec §4): a nunjucks (jinja2-compatible) template that becomes a model call.
 *
 *   const hello = prompt<{ q: string }>('你好, {{ q }}', { llm });
 *   hello.prompt({ q: '你是谁' });      // the rendered text
 *   await hello.run({ q: '你是谁' });   // the model's answer
 *
 * Configuration methods return a NEW prompt function (nothing is shared or mutated between chains).
 * `body` may return an object whose keys override or add template variables. For class methods,
 * `@promptMethod(template, { llm: (self) => self.llm })` turns the method body into that `body` and
 * the method into a callable prompt function (see `asPrompt`).
 */
import nunjucks from 'nunjucks';
import type { z } from 'zod';
import { ByzerLLMError, InvalidArgumentError } from '../core/index.js';
import type { ChatOaiOptions } from './chat-options.js';
import type { ConversationMessage } from './conversation.js';
import type { LlmConfig } from './llm-config.js';
import {
  continueWithMarkers,
  DEFAULT_MARKERS,
  markerInstruction,
  streamWithMarkers,
} from './response-markers.js';
import type { ResponseMeta } from './responses.js';
import { parseStructured } from './structured-output.js';

import type { PromptLlm } from './prompt-llm.js';

export type { PromptLlm };

export type Variables = Record<string, unknown>;

/** What a prompt function body returns: extra template variables, or nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: bodies and decorated methods may simply not return.
export type BodyResult = Variables | undefined | void;

/** What a prompt function passes to `chatOai` (Byzer-LLM's `options`). */
export interface PromptCallOptions {
  llm_config?: LlmConfig;
  model?: string;
  extraRequestParams?: Record<string, unknown>;
}

export interface PromptConfig<Args extends Variables> {
  /** A client, a model name, or a function giving the client when the call is made. */
  llm?: PromptLlm | string | (() => PromptLlm | undefined) | undefined;
  /** Computes extra template variables from the arguments (Byzer-LLM's function body). */
  body?: ((args: Args) => BodyResult) | undefined;
  callOptions: PromptCallOptions;
  extractor?: ((text: string) => unknown) | undefined;
  returnType?: z.ZodType | undefined;
  conversation: ConversationMessage[];
  markers?: { start: string; end: string; template?: string } | undefined;
  maxTurns: number;
  continuePrompt: string;
  /** `jinja2` (default, nunjucks) or `simple` (`{name}` placeholders, Byzer-LLM's old mode). */
  render: 'jinja2' | 'simple';
  /** Resolves a model name given as `llm` into a client (set by `prompt`). */
  clientForModel?: ((model: string) => PromptLlm) | undefined;
  /** An assistant message continued by the model; prepended to the answer (`withReturnPrefix`). */
  returnPrefix?: string | undefined;
  /** Receives the meta of the last call (`withMeta`). */
  metaHolder?: MetaHolder | undefined;
  /** A typed result that does not validate: warn and return undefined instead of throwing. */
  checkResult: boolean;
}

/**
 * Byzer-LLM's `MetaHolder`: after a call through `withMeta(holder)` it holds the call's meta (for a
 * stream, the meta of the latest item).
 */
export class MetaHolder {
  meta: ResponseMeta | undefined;

  /** The meta as a plain object (`{}` before any call). */
  getMeta(): Partial<ResponseMeta> {
    return { ...(this.meta ?? {}) };
  }
  /** Byzer-LLM's `MetaOutput`: the five fields with their defaults. */
  getMetaModel(): Pick<
    ResponseMeta,
    | 'input_tokens_count'
    | 'generated_tokens_count'
    | 'reasoning_content'
    | 'finish_reason'
    | 'first_token_time'
  > {
    return {
      input_tokens_count: this.meta?.input_tokens_count ?? 0,
      generated_tokens_count: this.meta?.generated_tokens_count ?? 0,
      reasoning_content: this.meta?.reasoning_content ?? '',
      finish_reason: this.meta?.finish_reason ?? '',
      first_token_time: this.meta?.first_token_time ?? 0,
    };
  }
}

const environment = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });

/** The model's answer could not be turned into the declared return type. */
export class PromptOutputError extends ByzerLLMError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('upstream_error', message, { details });
  }
}

export class PromptFunction<Args extends Variables = Variables, Result = string> {
  constructor(
    readonly template: string,
    private readonly config: PromptConfig<Args>,
  ) {}

  /** The rendered prompt text. */
  prompt(args: Args = {} as Args): string {
    const overrides = this.config.body?.(args);
    if (
      overrides !== undefined &&
      (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides))
    ) {
      throw new InvalidArgumentError(
        'the body of a prompt function must return an object of template variables or nothing',
      );
    }
    const variables = { ...args, ...(overrides ?? {}) };
    // Byzer-LLM dedented docstrings; template literals are dedented the same way.
    const template = dedent(this.template);
    if (this.config.render === 'simple') {
      return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
        name in variables ? String((variables as Variables)[name]) : whole,
      );
    }
    return environment.renderString(template, variables);
  }

  withLlm(llm: PromptLlm | string): PromptFunction<Args, Result> {
    return this.with({ llm });
  }
  /** Parse the answer into this zod type (fenced/bare JSON, validated). */
  withReturnType<Schema extends z.ZodType>(schema: Schema): PromptFunction<Args, z.infer<Schema>> {
    return new PromptFunction<Args, z.infer<Schema>>(this.template, { ...this.config, returnType: schema });
  }
  /** Post-process the answer text. */
  withExtractor<Extracted>(extractor: (text: string) => Extracted): PromptFunction<Args, Extracted> {
    return new PromptFunction<Args, Extracted>(this.template, { ...this.config, extractor });
  }
  /** Messages placed before the rendered prompt. */
  withConversation(conversation: ConversationMessage[]): PromptFunction<Args, Result> {
    return this.with({ conversation: [...conversation] });
  }
  /** Long output over several calls until the end marker (byzer-spec §4.5). */
  withResponseMarkers(
    markers: [string, string] = DEFAULT_MARKERS,
    template?: string,
  ): PromptFunction<Args, Result> {
    if (markers.length !== 2) throw new InvalidArgumentError('response markers must be exactly [start, end]');
    return this.with({ markers: { start: markers[0], end: markers[1], ...(template ? { template } : {}) } });
  }
  withMaxTurns(turns: number): PromptFunction<Args, Result> {
    return this.with({ maxTurns: turns });
  }
  withContinuePrompt(text: string): PromptFunction<Args, Result> {
    return this.with({ continuePrompt: text });
  }
  /** Sets `llm_config["gen.stop"]`. */
  withStopSuffixList(stop: string[]): PromptFunction<Args, Result> {
    const llmConfig = { ...(this.config.callOptions.llm_config ?? {}), 'gen.stop': [...stop] };
    return this.with({ callOptions: { ...this.config.callOptions, llm_config: llmConfig } });
  }
  /**
   * Prefill: an assistant message with `prefix` follows the prompt and the model continues it
   * (chat prefix completion, `gen.response_prefix`). The answer starts with the prefix — also for a
   * plain string result, which Byzer-LLM returned without it.
   */
  withReturnPrefix(prefix: string): PromptFunction<Args, Result> {
    return this.with({ returnPrefix: prefix });
  }
  /** After each call, `holder.meta` is the call's meta. */
  withMeta(holder: MetaHolder): PromptFunction<Args, Result> {
    return this.with({ metaHolder: holder });
  }
  /** Merged into the call options (`{ llm_config, model }`). */
  options(options: PromptCallOptions): PromptFunction<Args, Result> {
    return this.with({ callOptions: { ...this.config.callOptions, ...options } });
  }

  /** Renders, calls the model, and returns the answer (extracted / parsed when configured). */
  async run(args: Args = {} as Args): Promise<Result> {
    const llm = this.llm();
    const callOptions = this.chatOptions();
    let text: string;
    if (this.config.markers) {
      const markers = this.config.markers;
      text = await continueWithMarkers({
        llm,
        conversation: [
          ...this.config.conversation,
          { role: 'user', content: `${this.prompt(args)}\n\n${markerInstruction(markers)}` },
        ],
        markers,
        maxTurns: this.config.maxTurns,
        continuePrompt: this.config.continuePrompt,
        callOptions,
      });
    } else if (this.config.returnType && !this.config.extractor && this.config.returnPrefix === undefined) {
      // A typed result goes through structured output (native JSON schema or prompt + one repair).
      const [response] = await llm.chatOai({
        conversations: this.conversation(this.prompt(args)),
        responseClass: this.config.returnType,
        ...callOptions,
      });
      if (this.config.metaHolder) this.config.metaHolder.meta = response!.metadata;
      if (response!.value === undefined) {
        return this.failed(
          `the answer does not match the return type: ${response!.meta.reason}`,
          response!.output,
        );
      }
      return response!.value as Result;
    } else {
      const [response] = await llm.chatOai({
        conversations: this.conversation(this.prompt(args)),
        ...callOptions,
      });
      if (this.config.metaHolder) this.config.metaHolder.meta = response!.metadata;
      text = (this.config.returnPrefix ?? '') + response!.output;
    }
    return this.finish(text);
  }

  /** The call options of `chatOai`/`streamChatOai`; a return prefix asks for prefix completion. */
  private chatOptions(): Pick<ChatOaiOptions, 'model' | 'llmConfig' | 'extraRequestParams'> {
    const { model, llm_config, extraRequestParams } = this.config.callOptions;
    const prefixed = this.config.returnPrefix !== undefined;
    const llmConfig = prefixed ? { ...(llm_config ?? {}), 'gen.response_prefix': true } : llm_config;
    return {
      ...(model ? { model } : {}),
      ...(llmConfig ? { llmConfig } : {}),
      ...(extraRequestParams ? { extraRequestParams } : {}),
    };
  }

  /** The messages of one call: `withConversation`, the prompt, and the return prefix. */
  private conversation(text: string): ConversationMessage[] {
    const messages: ConversationMessage[] = [...this.config.conversation, { role: 'user', content: text }];
    if (this.config.returnPrefix !== undefined)
      messages.push({ role: 'assistant', content: this.config.returnPrefix });
    return messages;
  }

  /** A typed result that failed: thrown, or with `checkResult` a warning and undefined (Byzer-LLM's None). */
  private failed(reason: string, output: string): Result {
    if (!this.config.checkResult) throw new PromptOutputError(reason, { output });
    process.emitWarning(`prompt function result is None: ${reason}`, { code: 'BYZERLLM_CHECK_RESULT' });
    return undefined as Result;
  }

  /** Renders, streams the answer, and yields text deltas. */
  async *stream(args: Args = {} as Args): AsyncGenerator<string> {
    const llm = this.llm();
    const callOptions = this.chatOptions();
    const first = this.prompt(args);
    if (this.config.markers) {
      yield* streamWithMarkers({
        llm,
        conversation: [
          ...this.config.conversation,
          { role: 'user', content: `${first}\n\n${markerInstruction(this.config.markers)}` },
        ],
        markers: this.config.markers,
        maxTurns: this.config.maxTurns,
        continuePrompt: this.config.continuePrompt,
        callOptions,
      });
      return;
    }
    const stream = llm.streamChatOai({
      conversations: this.conversation(first),
      deltaMode: true,
      ...callOptions,
    });
    for await (const [delta, meta] of stream) {
      if (this.config.metaHolder) this.config.metaHolder.meta = meta;
      if (delta) yield delta;
    }
  }

  private finish(text: string): Result {
    const extracted = this.config.extractor ? this.config.extractor(text) : text;
    if (!this.config.returnType) return extracted as Result;
    const parsed = parseStructured(String(extracted), this.config.returnType);
    if (!parsed.ok) return this.failed(`the answer does not match the return type: ${parsed.reason}`, text);
    return parsed.value as Result;
  }

  /** Whether a run has an llm to call (else calling a `@promptMethod` renders the prompt). */
  hasLlm(): boolean {
    const llm = this.config.llm;
    return (typeof llm === 'function' ? llm() : llm) !== undefined;
  }

  private llm(): PromptLlm {
    const configured = this.config.llm;
    const llm = typeof configured === 'function' ? configured() : configured;
    if (llm === undefined) {
      throw new InvalidArgumentError(
        'this prompt function has no llm; pass { llm } to prompt() or call withLlm(llm)',
      );
    }
    if (typeof llm === 'string') {
      if (!this.config.clientForModel)
        throw new InvalidArgumentError(`cannot create a client for model ${llm}`);
      return this.config.clientForModel(llm);
    }
    return llm;
  }

  private with(changes: Partial<PromptConfig<Args>>): PromptFunction<Args, Result> {
    return new PromptFunction<Args, Result>(this.template, { ...this.config, ...changes });
  }
}

export interface PromptOptions<Args extends Variables> {
  /** A client, a deployment name (one `ByzerLLM` per name, default model set), or a function giving the client. */
  llm?: PromptLlm | string | (() => PromptLlm | undefined);
  body?: (args: Args) => BodyResult;
  options?: PromptCallOptions;
  render?: 'jinja2' | 'simple';
  /**
   * A typed result that does not validate: emit a warning (`BYZERLLM_CHECK_RESULT`) and return
   * undefined, as Byzer-LLM's `check_result=True` with its `None`. Defaults to false: throw
   * `PromptOutputError`.
   */
  checkResult?: boolean;
}

let clientFactory: ((model: string) => PromptLlm) | undefined;

/** Set by the package entry so `llm: 'model_name'` works without an import cycle. */
export function setPromptClientFactory(factory: (model: string) => PromptLlm): void {
  clientFactory = factory;
}

export function prompt<Args extends Variables = Variables>(
  template: string,
  options: PromptOptions<Args> = {},
): PromptFunction<Args, string> {
  return new PromptFunction<Args, string>(template, {
    llm: options.llm,
    body: options.body,
    callOptions: { ...(options.options ?? {}) },
    conversation: [],
    maxTurns: 10,
    continuePrompt: 'Continue exactly where you stopped.',
    render: options.render ?? 'jinja2',
    clientForModel: clientFactory,
    checkResult: options.checkResult ?? false,
  });
}

/** Removes the common leading indentation and the first line break of a template. */
export function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indents = lines.filter((line) => line.trim() !== '').map((line) => /^[ \t]*/.exec(line)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines
    .map((line) => line.slice(cut))
    .join('\n')
    .replace(/\n[ \t]*$/, '');
}
