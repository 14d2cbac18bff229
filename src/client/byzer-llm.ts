/**
 * `ByzerLLM`: the client of deployed model instances, reached by deployment name through any
 * `ClusterApi` (a remote head, the local embedded head, or an in-process cluster).
 *
 * It connects lazily (`connectCluster`, `address: 'auto'` starts the local head when none runs),
 * caches each model's meta, and tracks its requests in flight (`abort`). The `setup*` settings live
 * in `ClientSettings`, which this class extends.
 */
import type { z } from 'zod';
import {
  type ClusterApi,
  connectCluster,
  type DeployOutcome,
  type NatsSecurityOptions,
} from '../cluster/index.js';
import {
  type ChatMessage,
  type ChatRequest,
  InvalidArgumentError,
  type ModelMeta,
  UnsupportedError,
} from '../core/index.js';
import { runChatOai } from './chat-oai.js';
import type { ChatOaiOptions, StreamChatOaiOptions } from './chat-options.js';
import type { EventName, RawModelResult } from './client-events.js';
import type { BuildRequestOptions, ClientSession } from './client-session.js';
import { ClientSettings } from './client-settings.js';
import { type Conversation, toChatMessages } from './conversation.js';
import { embed, rerank, type RerankPair } from './embeddings.js';
import { chatWithImplFunc, createImpl, ImplCache, type ImplFunction, type ImplOptions } from './impl.js';
import { InFlightRequests } from './in-flight-requests.js';
import {
  imageFromLlmConfig,
  type LlmConfig,
  requestFieldsFromLlmConfig,
  wantsResponsePrefix,
} from './llm-config.js';
import { type LLMRequest, parseLlmRequest } from './llm-request.js';
import type { PromptLlm } from './prompt-llm.js';
import type { ChatResponse } from './responses.js';
import { streamChat, type StreamItem } from './stream-chat.js';
import {
  applyTemplate,
  type RoleMapping,
  type Template,
  type TemplateChoice,
  Templates,
  templateByName,
} from './templates.js';
import {
  generateImage,
  type GenerateImageOptions,
  speech,
  type SpeechOptions,
  transcribe,
  type TranscribeOptions,
} from './tasks.js';

export interface ByzerLLMOptions {
  /** `auto` (default: the local head, started if none runs), `http://HOST:PORT` or `nats://…`. */
  address?: string;
  /** Admin token for an `http://` address (defaults to `$BYZERLLM_ADMIN_TOKEN`). */
  token?: string;
  /** Use this cluster instead of connecting (an in-process `Head`, a `HeadClient`, …). */
  cluster?: ClusterApi;
  /** The local head's state directory for `auto`; defaults to `$BYZERLLM_HOME` or `~/.byzerllm`. */
  stateDirectory?: string;
  /** Credentials file and TLS for a `nats://` address (docs/cluster.md); defaults to the environment. */
  nats?: NatsSecurityOptions;
}

/** What `deploy` takes, with Byzer-LLM's names. */
export interface DeployOptions {
  /** The deployment name (Byzer-LLM's `udf_name`). */
  udfName: string;
  pretrainedModelType: string;
  modelPath?: string;
  inferParams?: Record<string, string>;
}

export class ByzerLLM extends ClientSettings implements ClientSession, PromptLlm {
  protected clusterPromise: Promise<ClusterApi> | undefined;
  protected ownsCluster: boolean;
  readonly inFlight = new InFlightRequests();
  private readonly metaCache = new Map<string, Promise<ModelMeta>>();
  private readonly implCache = new ImplCache();

  constructor(private readonly options: ByzerLLMOptions = {}) {
    super();
    this.ownsCluster = options.cluster === undefined;
    if (options.cluster) this.clusterPromise = Promise.resolve(options.cluster);
  }

  /** A client whose default model is `model` (Byzer-LLM's `ByzerLLM.from_default_model`). */
  static fromDefaultModel(model: string, options: ByzerLLMOptions = {}): ByzerLLM {
    return new ByzerLLM(options).setupDefaultModelName(model);
  }

  /** The cluster, connected on first use. */
  cluster(): Promise<ClusterApi> {
    this.clusterPromise ??= connectCluster({
      ...(this.options.address === undefined ? {} : { address: this.options.address }),
      ...(this.options.token === undefined ? {} : { token: this.options.token }),
      ...(this.options.stateDirectory === undefined ? {} : { stateDirectory: this.options.stateDirectory }),
      ...(this.options.nats === undefined ? {} : { nats: this.options.nats }),
    }).catch((error: unknown) => {
      this.clusterPromise = undefined;
      throw error;
    });
    return this.clusterPromise;
  }

  /** Closes the connection this client opened (a cluster passed in stays open). */
  async close(): Promise<void> {
    if (!this.ownsCluster || !this.clusterPromise) return;
    const connecting = this.clusterPromise;
    this.clusterPromise = undefined;
    // What this client opened is a `HeadClient` (connectCluster); a failed connect left nothing open.
    const cluster = await connecting.catch(() => undefined);
    if (cluster && 'close' in cluster && typeof cluster.close === 'function') await cluster.close();
  }

  /**
   * Cancels a request of this client while it runs (Byzer-LLM's `abort(request_id)`): the id given
   * as `requestId`, or a stream's `meta.request_id`. The cancel reaches the worker and the engine.
   * False when no such request is in flight.
   */
  abort(requestId: string): boolean {
    return this.inFlight.abort(requestId);
  }

  runEvent(name: EventName, model: string, items: ChatRequest[] | RawModelResult[]) {
    return this.events.run(name, this, model, items);
  }

  // ---- deployments ----------------------------------------------------------------------------

  /** Deploys a model instance with the deploy-side settings made so far. */
  async deploy(options: DeployOptions): Promise<DeployOutcome> {
    const cluster = await this.cluster();
    const outcome = await cluster.deploy({
      ...this.deploySettings,
      name: options.udfName,
      pretrainedModelType: options.pretrainedModelType,
      modelPath: options.modelPath ?? '',
      inferParams: { ...(options.inferParams ?? {}) },
    });
    this.metaCache.delete(options.udfName);
    return outcome;
  }

  async undeploy(name: string, options: { force?: boolean } = {}): Promise<{ removed: boolean }> {
    this.metaCache.delete(name);
    return (await this.cluster()).undeploy(name, options);
  }

  async isModelExist(name: string): Promise<boolean> {
    const deployments = await (await this.cluster()).list();
    return deployments.some((deployment) => deployment.name === name);
  }

  /** The model's meta (cached per client; `deploy`/`undeploy` through this client refresh it). */
  getMeta(options: { model?: string } = {}): Promise<ModelMeta> {
    const model = this.resolveModel(options.model);
    let meta = this.metaCache.get(model);
    if (!meta) {
      meta = this.cluster().then((cluster) => cluster.meta(model));
      meta.catch(() => this.metaCache.delete(model));
      this.metaCache.set(model, meta);
    }
    return meta;
  }

  // ---- chat -----------------------------------------------------------------------------------

  chatOai<Schema extends z.ZodType>(
    options: ChatOaiOptions & { responseClass: Schema },
  ): Promise<ChatResponse<z.infer<Schema>>[]>;
  chatOai(options: ChatOaiOptions): Promise<ChatResponse[]>;
  async chatOai(options: ChatOaiOptions): Promise<ChatResponse[]> {
    const model = this.resolveModel(options.model);
    if (options.implFunc) return [await chatWithImplFunc(this, this.implCache, model, options)];
    return [await runChatOai(this, model, options)];
  }

  /** Async iterable of `[text, meta]`; the text is the delta or the whole text so far (`deltaMode`). */
  streamChatOai(options: StreamChatOaiOptions): AsyncIterable<StreamItem> {
    return streamChat(this, this.resolveModel(options.model), options);
  }

  /**
   * The protocol request for a conversation: messages converted, `llm_config` mapped over the model's
   * template defaults and extra generation params, and a templated `prompt` for raw-prompt engines.
   */
  async buildRequest(
    model: string,
    conversation: Conversation,
    llmConfig: LlmConfig = {},
    extraRequestParams: Record<string, unknown> = {},
    options: BuildRequestOptions = {},
  ): Promise<ChatRequest> {
    const settings = this.settings.get(model);
    const { chosen, template } = await this.templateFor(model, options.roleMapping);
    const config: LlmConfig = {
      ...(template?.generationConfig ?? {}),
      ...settings.extraGenerationParams,
      ...llmConfig,
    };
    const chatMessages = toChatMessages(conversation, { responsePrefix: wantsResponsePrefix(config) });
    const image = imageFromLlmConfig(config);
    if (image) attachImage(chatMessages, image);
    const fields = requestFieldsFromLlmConfig(config);
    const request: ChatRequest = { ...fields, messages: chatMessages };
    if (request.maxTokens === undefined && settings.maxOutputLength !== undefined)
      request.maxTokens = settings.maxOutputLength;
    if (Object.keys(extraRequestParams).length > 0)
      request.extra = { ...request.extra, ...extraRequestParams };
    if (template) {
      const meta = await this.getMeta({ model });
      if (!meta.message_format) request.prompt = applyTemplate(template, chatMessages);
    } else if (chosen === 'auto' && settings.template === 'auto') {
      const meta = await this.getMeta({ model });
      if (!meta.message_format && !meta.support_chat_template) {
        throw new UnsupportedError(
          `model ${model} has no chat template of its own (setupTemplate "auto"); use a client template such as Templates.qwen()`,
        );
      }
    }
    return request;
  }

  /**
   * The conversation flattened into one prompt the way the client does it for raw-prompt models
   * (Byzer-LLM's `generate_instruction_from_history`): the model's template (its client template,
   * else the deployment's, else `Templates.default()`) with the role mapping of the model and of
   * this call over it.
   */
  async generateInstructionFromHistory(
    model: string,
    conversations: Conversation,
    roleMapping?: Partial<RoleMapping>,
  ): Promise<string> {
    const { template } = await this.templateFor(model, roleMapping);
    return applyTemplate(template ?? Templates.default(), toChatMessages(conversations));
  }

  /** The client's, else the deployment's template, with any role mapping merged over it. */
  private async templateFor(
    model: string,
    roleMapping: Partial<RoleMapping> | undefined,
  ): Promise<{ chosen: TemplateChoice; template: Template | undefined }> {
    const settings = this.settings.get(model);
    // Without a client choice, the deployment's template (`byzerllm deploy --template`) applies.
    const chosen =
      settings.template ??
      templateByName(String((await this.getMeta({ model })).deployment_template ?? 'auto'));
    const base = typeof chosen === 'object' ? chosen : undefined;
    const mapping = { ...settings.roleMapping, ...roleMapping };
    if (Object.keys(mapping).length === 0) return { chosen, template: base };
    const from = base ?? Templates.default();
    return { chosen, template: { ...from, roleMapping: { ...from.roleMapping, ...mapping } } };
  }

  /** The clean function of the model's template (identity without one). */
  cleanOutput(model: string, text: string): string {
    const template = this.settings.get(model).template;
    return typeof template === 'object' ? template.cleanFunc(text) : text;
  }

  /**
   * Byzer-LLM's older `chat(model, LLMRequest)`: one chat call per instruction (a string, a list, or
   * `{ instruction, max_length, top_p, temperature }`), each a one-message conversation.
   */
  async chat(model: string | undefined, request: string | string[] | LLMRequest): Promise<ChatResponse[]> {
    const { instructions, llmConfig } = parseLlmRequest(request);
    const name = this.resolveModel(model);
    const responses = await Promise.all(
      instructions.map((instruction) => runChatOai(this, name, { conversations: instruction, llmConfig })),
    );
    return responses;
  }

  /** Byzer-LLM's `tokenize(model, s)`: `[{ output: tokenIds }]`, from the model's own tokenizer. */
  async tokenize(model: string | undefined, text: string): Promise<{ output: number[] }[]> {
    const cluster = await this.cluster();
    const { tokens } = await cluster.call(this.resolveModel(model), 'tokenize', { text });
    return [{ output: tokens }];
  }

  /**
   * Byzer-LLM's `apply_chat_template(model, s)`: the conversation as the model's own chat template
   * renders it (with the assistant's opening when the last message is the user's).
   */
  async applyChatTemplate(model: string | undefined, conversations: Conversation): Promise<string> {
    const cluster = await this.cluster();
    const messages = toChatMessages(conversations);
    return (await cluster.call(this.resolveModel(model), 'apply_chat_template', { messages })).text;
  }

  // ---- embeddings, rerank, audio and images ---------------------------------------------------

  /**
   * One vector per text, `[{ output: number[], metadata }]` as in Byzer-LLM. The texts may be given
   * as Byzer-LLM's `LLMRequest` (`emb(model, { instruction: 'wow' })`); `model` defaults to
   * `setupDefaultEmbModelName`.
   */
  emb(model: string | undefined, texts: string | string[] | LLMRequest, signal?: AbortSignal) {
    return embed(this, this.resolveEmbModel(model), parseLlmRequest(texts).instructions, signal);
  }
  async embQuery(text: string, model?: string): Promise<number[]> {
    const [first] = await this.emb(model, [text]);
    return first!.output;
  }
  /**
   * `[[query, passage], score]` pairs sorted by score, best first. As in Byzer-LLM, `result[0].output`
   * is the scored pair of a single pair, or the whole sorted list for several.
   */
  embRerank(sentencePairs: RerankPair | RerankPair[], model?: string) {
    return rerank(this, this.resolveRerankModel(model), sentencePairs);
  }
  speech(options: SpeechOptions) {
    return speech(this, this.resolveModel(options.model), options);
  }
  transcribe(options: TranscribeOptions) {
    return transcribe(this, this.resolveModel(options.model), options);
  }
  generateImage(options: GenerateImageOptions) {
    return generateImage(this, this.resolveModel(options.model), options);
  }

  // ---- function implementation ----------------------------------------------------------------

  /** A function whose body the model writes in JavaScript, run in a sandbox (byzer-spec §5.3). */
  impl<Parameters extends z.ZodObject, Returns extends z.ZodType>(
    options: ImplOptions<Parameters, Returns>,
  ): ImplFunction<Parameters, Returns> {
    return createImpl(this, this.implCache, options);
  }

  /** Forgets generated code: all of it, or that of one model / function name. */
  clearImplCache(filter: { model?: string; name?: string; instruction?: string } = {}): void {
    this.implCache.clear(filter);
  }
}

/** Puts an image part in front of the last user message's content. */
function attachImage(messages: ChatMessage[], url: string): void {
  const index = messages.findLastIndex((message) => message.role === 'user');
  const message = messages[index];
  if (message?.role !== 'user') {
    throw new InvalidArgumentError('llm_config image needs a user message to attach the image to');
  }
  const parts =
    typeof message.content === 'string'
      ? [{ type: 'text' as const, text: message.content }]
      : message.content;
  messages[index] = { role: 'user', content: [{ type: 'image', url }, ...parts] };
}
