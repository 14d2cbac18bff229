/**
 * The engine factory for OpenAI-compatible upstreams (`saas/openai`, alias `saas/official_openai`).
 *
 * Any OpenAI-shaped vendor (OpenAI, DeepSeek, Kimi, SiliconFlow, OpenRouter, Ollama, vLLM) is this
 * engine plus its own defaults: pass `settings` with a provider name, default base URL and model.
 *
 * Parameters (`--infer_params`, all strings):
 * - `saas.api_key` — required; sent as `Authorization: Bearer …`; never printed or put in errors.
 * - `saas.model` — upstream model name. Defaults to `gpt-3.5-turbo` (or the vendor's default).
 * - `saas.base_url` — defaults to `https://api.openai.com/v1`; a trailing slash is ignored.
 * - `saas.timeout` — seconds without data (before the headers, or between stream chunks) before the
 *   call fails with `TimeoutError`. Defaults to 600.
 * - `saas.max_retries` — retries of retryable failures (429, 5xx, dropped connections). Defaults to 2.
 * - `saas.headers` — JSON object of extra request headers, e.g. `{"HTTP-Referer":"https://…"}`.
 * - `saas.proxies` — an http(s) proxy URL (or httpx-style JSON map) every request goes through.
 * Other `saas.*` keys are reported through `context.warn` and otherwise ignored.
 *
 * Variants are settings, not copies: `saas/reasoning_openai` sets `omitSamplingParams`,
 * `saas/azure_openai` sets `endpoint` (URL with deployment and `api-version`, `api-key` header).
 */
import { type EngineContext, isSecretHeader } from '../../../core/deployment.js';
import { InvalidArgumentError, throwIfAborted } from '../../../core/errors.js';
import type { EngineInstance, ModelTask } from '../../../core/models.js';
import { HttpClient } from '../http-client.js';
import {
  readDeadlineMs,
  readHttpUrl,
  readNumberParam,
  readProxyUrl,
  warnUnknownParams,
} from '../saas-params.js';
import { type ErrorMappingContext, errorFromResponse } from '../upstream-errors.js';
import {
  OpenAICompatibleChatModel,
  type OpenAICompatibleModelConfig,
} from './openai-compatible-chat-model.js';
import { OpenAICompatibleEmbeddingModel } from './openai-compatible-embedding-model.js';
import {
  OpenAICompatibleImageModel,
  OpenAICompatibleSpeechModel,
  OpenAICompatibleTranscriptionModel,
} from './openai-compatible-media-models.js';
import { saasMeta } from '../saas-meta.js';

/** A vendor's configuration of this engine. */
export interface OpenAICompatibleSettings {
  /** Provider name in errors and on the models. Defaults to the deployment's `pretrainedModelType`. */
  provider?: string;
  /** Defaults to `https://api.openai.com/v1`. */
  defaultBaseUrl?: string;
  /** Defaults to `gpt-3.5-turbo`. */
  defaultModel?: string;
  /**
   * Reasoning models (o-series, R1) reject `temperature`/`top_p`: leave them out of the body and
   * report each as an unsupported-setting warning.
   */
  omitSamplingParams?: boolean;
  /** Provider-specific `saas.*` keys this variant reads (so they are not reported as unknown). */
  extraParams?: readonly string[];
  /**
   * Where requests go and how they authenticate, from the params; replaces `saas.base_url` and the
   * bearer header. `baseUrl` may carry a query (`?api-version=…`) that every request keeps.
   */
  endpoint?: (
    inferParams: Record<string, string>,
    apiKey: string,
  ) => { baseUrl: string; headers: Record<string, string>; model?: string };
}

/** The validated `saas.*` parameters. */
export interface OpenAICompatibleParams {
  apiKey: string;
  model: string;
  /** No trailing slash. */
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  /** `saas.deadline`: the total time of one request across its retries. */
  deadlineMs: number;
  headers: Record<string, string>;
  /** Authentication headers (bearer by default; Azure's `api-key`). */
  authHeaders: Record<string, string>;
  proxyUrl?: string;
}

const KNOWN_PARAMS = [
  'saas.api_key',
  'saas.model',
  'saas.base_url',
  'saas.timeout',
  'saas.max_retries',
  'saas.deadline',
  'saas.headers',
  'saas.proxies',
];

export async function createOpenAICompatibleEngine(
  context: EngineContext,
  settings: OpenAICompatibleSettings = {},
): Promise<EngineInstance> {
  throwIfAborted(context.signal);
  const provider = settings.provider ?? context.spec.pretrainedModelType;
  const params = readOpenAICompatibleParams(context.spec.inferParams, settings, context.warn);
  const errorContext: ErrorMappingContext = { provider, secrets: secretsOf(params) };
  const client = new HttpClient({
    provider,
    baseUrl: params.baseUrl,
    // `saas.headers` comes last so a gateway that wants its own Authorization can have it.
    headers: { ...params.authHeaders, ...params.headers },
    timeoutMs: params.timeoutMs,
    maxRetries: params.maxRetries,
    deadlineMs: params.deadlineMs,
    errorFromResponse: (response) => errorFromResponse(response, errorContext),
    ...(params.proxyUrl ? { proxyUrl: params.proxyUrl } : {}),
  });
  const config: OpenAICompatibleModelConfig = {
    provider,
    modelId: params.model,
    client,
    errorContext,
    omitSamplingParams: settings.omitSamplingParams === true,
  };
  const meta = saasMeta({
    model_name: params.model,
    support_assistant_prefix: true,
    embedding_mode: params.model.toLowerCase().includes('embedding'),
    tasks: ['chat', 'embedding', 'speech', 'transcription', 'image'],
    primary_task: primaryTaskOfModel(params.model),
    support_tools: true,
    support_response_format: true,
  });
  return {
    meta,
    chat: new OpenAICompatibleChatModel(config),
    embedding: new OpenAICompatibleEmbeddingModel(config),
    // tts-1 / whisper-1 / dall-e-3 style deployments; the upstream rejects a model without the task.
    speech: new OpenAICompatibleSpeechModel(config),
    transcription: new OpenAICompatibleTranscriptionModel(config),
    image: new OpenAICompatibleImageModel(config),
    dispose: () => client.close(),
  };
}

/**
 * What an OpenAI model name is for: its speech, transcription and image models answer chat
 * messages as Byzer-LLM's JSON task messages; every other model chats.
 */
export function primaryTaskOfModel(model: string): ModelTask {
  const name = model.toLowerCase();
  if (/(^|[-/])tts\b|-tts$/.test(name)) return 'speech';
  if (name.startsWith('whisper') || name.includes('transcribe')) return 'transcription';
  if (name.startsWith('dall-e') || name.startsWith('gpt-image')) return 'image';
  return 'chat';
}

/** Reads and validates the `saas.*` parameters; unknown `saas.*` keys go to `warn`. */
export function readOpenAICompatibleParams(
  inferParams: Record<string, string>,
  settings: OpenAICompatibleSettings,
  warn: (message: string) => void,
): OpenAICompatibleParams {
  const known = [...KNOWN_PARAMS, ...(settings.extraParams ?? [])];
  warnUnknownParams(inferParams, known, settings.provider ?? 'the OpenAI-compatible engine', warn);
  const apiKey = inferParams['saas.api_key']?.trim();
  if (!apiKey) throw new InvalidArgumentError('saas.api_key is required (--infer_params saas.api_key=…)');
  const endpoint = settings.endpoint?.(inferParams, apiKey);
  const params: OpenAICompatibleParams = {
    apiKey,
    model: inferParams['saas.model']?.trim() || endpoint?.model || settings.defaultModel || 'gpt-3.5-turbo',
    baseUrl:
      endpoint?.baseUrl ??
      readHttpUrl(
        'saas.base_url',
        inferParams['saas.base_url'] ?? settings.defaultBaseUrl ?? 'https://api.openai.com/v1',
      ),
    timeoutMs: readNumberParam('saas.timeout', inferParams['saas.timeout'], 600, { integer: false }) * 1000,
    maxRetries: readNumberParam('saas.max_retries', inferParams['saas.max_retries'], 2, { integer: true }),
    deadlineMs: readDeadlineMs(inferParams),
    headers: readHeaders(inferParams['saas.headers']),
    authHeaders: endpoint?.headers ?? { authorization: `Bearer ${apiKey}` },
  };
  const proxyUrl = readProxyUrl(inferParams['saas.proxies']);
  if (proxyUrl) params.proxyUrl = proxyUrl;
  return params;
}

/** The value is not echoed in errors: extra headers often carry tokens. */
function readHeaders(value: string | undefined): Record<string, string> {
  if (value === undefined || value.trim() === '') return {};
  const usage =
    'saas.headers must be a JSON object of header names to string values, e.g. {"X-Title":"my-app"}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError(`${usage}; the value is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`${usage}; the value is not an object`);
  }
  const headers: Record<string, string> = {};
  for (const [name, headerValue] of Object.entries(parsed)) {
    if (
      typeof headerValue !== 'string' &&
      typeof headerValue !== 'number' &&
      typeof headerValue !== 'boolean'
    ) {
      throw new InvalidArgumentError(`${usage}; header ${name} is not a string`);
    }
    headers[name.toLowerCase()] = String(headerValue);
  }
  return headers;
}

/** The api key and any secret-looking header value: redacted from every upstream error text. */
function secretsOf(params: OpenAICompatibleParams): string[] {
  const secrets = [params.apiKey];
  for (const [name, value] of Object.entries(params.headers)) {
    if (isSecretHeader(name)) secrets.push(value);
  }
  return secrets;
}
