/**
 * Model protocol v1 — the non-chat model kinds and the model meta.
 *
 * A deployed model instance is an `EngineInstance`: one object per worker that offers whichever of
 * these kinds its engine supports. Missing kinds are simply absent; callers get `UnsupportedError`.
 */
import type { CallOptions, ChatMessage, ChatModelV1, Usage } from './chat-model.js';

export interface EmbeddingRequest {
  values: string[];
  /** Output dimensions, for engines that can shorten embeddings (OpenAI text-embedding-3). */
  dimensions?: number;
  extra?: Record<string, unknown>;
}

export interface EmbeddingResult {
  embeddings: number[][];
  usage: Pick<Usage, 'inputTokens' | 'cpuSeconds' | 'gpuSeconds'>;
}

export interface EmbeddingModelV1 {
  readonly specificationVersion: 'v1';
  readonly provider: string;
  readonly modelId: string;
  doEmbed(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResult>;
}

export interface RerankRequest {
  query: string;
  documents: string[];
  /** Return only the best N results. Defaults to all. */
  topN?: number;
}

export interface RerankResult {
  /** Sorted by score, best first. `index` points into `documents`. */
  results: { index: number; score: number }[];
}

export interface RerankModelV1 {
  readonly specificationVersion: 'v1';
  readonly provider: string;
  readonly modelId: string;
  doRerank(request: RerankRequest, options?: CallOptions): Promise<RerankResult>;
}

export interface SpeechRequest {
  input: string;
  voice?: string;
  /** `mp3` (default), `wav`, `opus`, `aac`, `flac`, `pcm`. */
  responseFormat?: string;
  speed?: number;
  extra?: Record<string, unknown>;
}

export interface SpeechResult {
  audio: Uint8Array;
  mediaType: string;
}

export interface SpeechModelV1 {
  readonly specificationVersion: 'v1';
  readonly provider: string;
  readonly modelId: string;
  doSpeech(request: SpeechRequest, options?: CallOptions): Promise<SpeechResult>;
}

export interface TranscriptionRequest {
  audio: Uint8Array;
  mediaType: string;
  language?: string;
  /** Ask for word and segment timestamps where the engine can give them. */
  timestamps?: boolean;
  /**
   * Which timestamps (OpenAI's `timestamp_granularities`), with `timestamps: true`. Unset: segments,
   * plus words where the engine gets them at no extra cost. An engine that cannot give one that is
   * asked for refuses the request (`UnsupportedError`) rather than leaving it out. Added to v1 as an
   * optional field (issue 16).
   */
  timestampGranularities?: TimestampGranularity[];
  extra?: Record<string, unknown>;
}

export const TIMESTAMP_GRANULARITIES = ['word', 'segment'] as const;
export type TimestampGranularity = (typeof TIMESTAMP_GRANULARITIES)[number];

export interface TranscriptionResult {
  text: string;
  language?: string;
  durationSeconds?: number;
  segments?: { start: number; end: number; text: string }[];
  words?: { start: number; end: number; word: string }[];
}

export interface TranscriptionModelV1 {
  readonly specificationVersion: 'v1';
  readonly provider: string;
  readonly modelId: string;
  doTranscribe(request: TranscriptionRequest, options?: CallOptions): Promise<TranscriptionResult>;
}

export interface ImageRequest {
  prompt: string;
  /** `WIDTHxHEIGHT`, e.g. `1024x1024`. */
  size?: string;
  quality?: string;
  n?: number;
  extra?: Record<string, unknown>;
}

export interface ImageResult {
  /** Base64 encoded images. */
  images: { base64: string; mediaType: string; revisedPrompt?: string }[];
}

export interface ImageModelV1 {
  readonly specificationVersion: 'v1';
  readonly provider: string;
  readonly modelId: string;
  doGenerateImage(request: ImageRequest, options?: CallOptions): Promise<ImageResult>;
}

/**
 * What a model instance says about itself (`getMeta`, `GET /admin/v1/deployments/:name/meta`).
 * Keys are snake_case because they are Byzer-LLM's public names.
 */
export interface ModelMeta {
  /** `saas` for remote APIs, `proprietary` for local weights. */
  model_deploy_type: 'saas' | 'proprietary';
  /** `saas`, `llama_cpp`, `vllm`, `transformers`, … */
  backend: string;
  model_name: string;
  support_stream: boolean;
  /** The engine applies a chat template itself (messages in, text out). */
  support_chat_template: boolean;
  /** The engine takes a message list (no client-side prompt flattening needed). */
  message_format: boolean;
  support_assistant_prefix: boolean;
  /** The model is an embedding model (chat is not its main job). */
  embedding_mode: boolean;
  max_model_len?: number;
  architectures?: string[];
  embedding_dimension?: number;
  /** The model kinds this instance offers. */
  tasks: ModelTask[];
  /**
   * What the deployment is for, when it is not chat although it offers a chat call: a `tts-1`
   * deployment is `speech`, `whisper-1` is `transcription`, `dall-e-3` is `image`. Chat messages to
   * such a deployment are Byzer-LLM's JSON task messages. Defaults to `chat` when the instance has a
   * chat model, else to its first task.
   */
  primary_task?: ModelTask;
  /** The engine sends `ChatRequest.tools` natively (else clients describe tools in the prompt). */
  support_tools?: boolean;
  /** The engine honours `ChatRequest.responseFormat` with a JSON schema (else clients prompt for it). */
  support_response_format?: boolean;
  /**
   * The chat model reads image parts in user messages (`{ type: 'image', url }`); the web console
   * offers image attachments only then. Absent means text only: images sent anyway reach the
   * upstream, which answers with its own error.
   */
  support_vision?: boolean;
  [key: string]: unknown;
}

export type ModelTask = 'chat' | 'embedding' | 'rerank' | 'speech' | 'transcription' | 'image';

/** A model loaded by an engine for one worker. Disposed when the worker stops. */
/** Byzer-LLM's `tokenize(model, s)`: the model's token ids for a text. */
export interface TokenizeRequest {
  text: string;
}
export interface TokenizeResult {
  tokens: number[];
}
/** Byzer-LLM's `apply_chat_template(model, s)`: a conversation as the model's chat template renders it. */
export interface ChatTemplateRequest {
  messages: ChatMessage[];
}
export interface ChatTemplateResult {
  text: string;
}

/** The tokenizer of a local model (optional: SaaS engines have none to offer). */
export interface TokenizerModelV1 {
  readonly specificationVersion: 'v1';
  readonly provider: string;
  readonly modelId: string;
  doTokenize(request: TokenizeRequest, options?: CallOptions): Promise<TokenizeResult>;
  doApplyChatTemplate(request: ChatTemplateRequest, options?: CallOptions): Promise<ChatTemplateResult>;
}

export interface EngineInstance {
  readonly meta: ModelMeta;
  readonly chat?: ChatModelV1;
  readonly embedding?: EmbeddingModelV1;
  readonly rerank?: RerankModelV1;
  readonly speech?: SpeechModelV1;
  readonly transcription?: TranscriptionModelV1;
  readonly image?: ImageModelV1;
  readonly tokenizer?: TokenizerModelV1;
  dispose(): Promise<void>;
}
