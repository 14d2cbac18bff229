/**
 * The engine factory for OpenAI-compatible upstreams (`saas/openai`, alias `saas/official_openai`).
 *
 * Any OpenAI-shaped vendor (OpenAI, DeepSeek, Kimi, SiliconFlow, OpenRouter, Ollama, vLLM) is this
 * engine plus its own defaults: pass `settings` with a provider name, default base URL and model.
 *
 * Parameters: `openAICompatibleOptions` (the shared base plus `api_key`, `model`, `base_url`,
 * `headers`, and a variant's own keys). Other `saas.*` keys are reported through `context.warn`.
 *
 * Variants are settings, not copies: `saas/reasoning_openai` sets `omitSamplingParams`,
 * `saas/azure_openai` sets `endpoint` (URL with deployment and `api-version`, `api-key` header).
 */
import { type EngineContext, isSecretHeader } from '../../../core/deployment.js';
import { throwIfAborted } from '../../../core/errors.js';
import type { EngineInstance, ModelTask } from '../../../core/models.js';
import { z } from 'zod';
import { HttpClient } from '../http-client.js';
import { defineProviderOptions, option, transportOf, type OptionShape } from '../provider-options.js';
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
import { isVisionModel } from '../vision-models.js';

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
  /** Provider-specific `saas.*` options this variant reads, on top of (or replacing) the shared ones. */
  extraOptions?: OptionShape;
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
  /** `saas.vision`: whether the model reads images; `undefined` when the deployment does not say. */
  vision?: boolean;
  /** Authentication headers (bearer by default; Azure's `api-key`). */
  authHeaders: Record<string, string>;
  proxyUrl?: string;
}

/** `saas.headers`: a JSON object of extra request headers. Not echoed: headers often carry tokens. */
const headersOption = z
  .string()
  .optional()
  .transform((value, context) => {
    const read = readHeaders(value);
    if (typeof read === 'string') {
      context.addIssue({ code: 'custom', message: read });
      return z.NEVER;
    }
    return read;
  })
  .meta({ description: 'a JSON object of extra request headers, e.g. `{"HTTP-Referer":"https://…"}`' });

/** The options of this engine under one vendor's settings (defaults, extra keys). */
export function openAICompatibleOptions(provider: string, settings: OpenAICompatibleSettings = {}) {
  return defineProviderOptions(provider, {
    'saas.api_key': option.requiredText('sent as `Authorization: Bearer …`'),
    'saas.model': option.text('the upstream model', settings.defaultModel ?? 'gpt-3.5-turbo'),
    'saas.base_url': option.url('the API root', settings.defaultBaseUrl ?? 'https://api.openai.com/v1'),
    'saas.headers': headersOption,
    'saas.vision': option.flag(
      'the model reads images in user messages (`true`/`false`); when not given, from the model name (gpt-4o, gpt-4.1, *vision*, *-vl*, …)',
    ),
    ...settings.extraOptions,
  });
}

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
    support_vision: params.vision ?? isVisionModel(params.model),
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
  const provider = settings.provider ?? 'the OpenAI-compatible engine';
  const options = openAICompatibleOptions(provider, settings).parse(inferParams, warn);
  const apiKey = options['saas.api_key'];
  const endpoint = settings.endpoint?.(inferParams, apiKey);
  // A variant may declare `saas.model` without a default (Azure: the deployment names the model).
  const declared = options['saas.model'] as string | undefined;
  const given = inferParams['saas.model']?.trim() ? declared : undefined;
  return {
    apiKey,
    model: given ?? endpoint?.model ?? declared ?? 'gpt-3.5-turbo',
    baseUrl: endpoint?.baseUrl ?? options['saas.base_url'],
    headers: options['saas.headers'],
    ...(options['saas.vision'] === undefined ? {} : { vision: options['saas.vision'] as boolean }),
    authHeaders: endpoint?.headers ?? { authorization: `Bearer ${apiKey}` },
    ...transportOf(options),
  };
}

/** The headers, or the problem with them (the value is not echoed). */
function readHeaders(value: string | undefined): Record<string, string> | string {
  if (value === undefined || value.trim() === '') return {};
  const usage = 'must be a JSON object of header names to string values, e.g. {"X-Title":"my-app"}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return `${usage}; the value is not valid JSON`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return `${usage}; the value is not an object`;
  }
  const headers: Record<string, string> = {};
  for (const [name, headerValue] of Object.entries(parsed)) {
    if (
      typeof headerValue !== 'string' &&
      typeof headerValue !== 'number' &&
      typeof headerValue !== 'boolean'
    ) {
      return `${usage}; header ${name} is not a string`;
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
