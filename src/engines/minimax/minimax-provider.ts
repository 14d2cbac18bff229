/**
 * The engine factory for `saas/minimax` (MiniMax abab models over `chatcompletion_pro`).
 *
 * Parameters: `saas.api_key` (required, `Authorization: Bearer …`), `saas.group_id` (required,
 * sent as `?GroupId=`), `saas.model` (`abab5.5-chat`), `saas.bot_name` (`MM智能助理`),
 * `saas.user_name` (`用户`), `saas.bot_setting` (the bot's persona when the request has no system
 * message), `saas.base_url` (`https://api.minimax.chat`), `saas.timeout` (600 s),
 * `saas.max_retries` (2). Byzer-LLM's `saas.api_url` (the full chatcompletion_pro URL,
 * `https://api.minimax.chat/v1/text/chatcompletion_pro`) is honoured as the endpoint when
 * `saas.base_url` is not given.
 */
import type { EngineContext } from '../../core/deployment.js';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.js';
import type { EngineInstance } from '../../core/models.js';
import { HttpClient } from '../shared/http-client.js';
import { COMMON_HTTP_SAAS_PARAMS, SaasParams } from '../shared/saas-params.js';
import { errorFromResponse, type MiniMaxErrorContext } from './map-error.js';
import { MiniMaxChatModel } from './minimax-chat-model.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/minimax';
const KNOWN_PARAMS = [
  'saas.api_key',
  'saas.group_id',
  'saas.bot_name',
  'saas.user_name',
  'saas.bot_setting',
  'saas.api_url',
  ...COMMON_HTTP_SAAS_PARAMS,
];

const CHAT_PATH = '/v1/text/chatcompletion_pro';
const DEFAULT_BASE_URL = 'https://api.minimax.chat';

/** `saas.base_url`, else the origin (and prefix) of Byzer-LLM's full `saas.api_url`. */
function readBaseUrl(params: SaasParams): string {
  if (params.optional('saas.base_url') || !params.optional('saas.api_url')) {
    return params.url('saas.base_url', DEFAULT_BASE_URL);
  }
  const apiUrl = params.url('saas.api_url', DEFAULT_BASE_URL).replace(/\?.*$/, '');
  if (!apiUrl.endsWith(CHAT_PATH)) {
    throw new InvalidArgumentError(
      `saas.api_url must be the chatcompletion_pro URL (ending in ${CHAT_PATH}), got "${apiUrl}"; or give saas.base_url`,
    );
  }
  return apiUrl.slice(0, -CHAT_PATH.length);
}

export async function createMiniMaxEngine(context: EngineContext): Promise<EngineInstance> {
  throwIfAborted(context.signal);
  const params = new SaasParams(context.spec.inferParams, PROVIDER);
  params.warnUnknown(KNOWN_PARAMS, context.warn);
  const apiKey = params.required('saas.api_key');
  const groupId = params.required('saas.group_id');
  const modelId = params.string('saas.model', 'abab5.5-chat');
  const errorContext: MiniMaxErrorContext = { provider: PROVIDER, secrets: [apiKey] };
  const maxRetries = params.wholeNumber('saas.max_retries', 2);
  const client = new HttpClient({
    provider: PROVIDER,
    baseUrl: readBaseUrl(params),
    headers: { authorization: `Bearer ${apiKey}` },
    timeoutMs: params.timeoutMs('saas.timeout', 600),
    maxRetries,
    deadlineMs: params.deadlineMs(),
    errorFromResponse: (response) => errorFromResponse(response, errorContext),
  });
  const meta = saasMeta({
    model_name: modelId,
  });
  return {
    meta,
    chat: new MiniMaxChatModel({
      provider: PROVIDER,
      modelId,
      groupId,
      botName: params.string('saas.bot_name', 'MM智能助理'),
      userName: params.string('saas.user_name', '用户'),
      botSetting: params.string(
        'saas.bot_setting',
        'MM智能助理是一款由MiniMax自研的大型语言模型。You are a helpful assistant.',
      ),
      client,
      errorContext,
      maxRetries,
    }),
    dispose: () => client.close(),
  };
}
