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
import { InvalidArgumentError } from '../../core/errors.js';
import type { EngineInstance } from '../../core/models.js';
import { defineProviderOptions, option, providerClient } from '../shared/provider-options.js';
import { errorFromResponse, type MiniMaxErrorContext } from './map-error.js';
import { MiniMaxChatModel } from './minimax-chat-model.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/minimax';
const CHAT_PATH = '/v1/text/chatcompletion_pro';
const DEFAULT_BASE_URL = 'https://api.minimax.chat';

export const MINIMAX_OPTIONS = defineProviderOptions(PROVIDER, {
  'saas.api_key': option.requiredText('sent as `Authorization: Bearer …`'),
  'saas.model': option.text('the chat model', 'abab5.5-chat'),
  'saas.base_url': option.url('the API root', DEFAULT_BASE_URL),
  'saas.group_id': option.requiredText("the account's group id"),
  'saas.bot_name': option.text("the assistant's name", 'MM智能助理'),
  'saas.user_name': option.text("the user's name", '用户'),
  'saas.bot_setting': option.text(
    'the persona when there is no system message',
    'MM智能助理是一款由MiniMax自研的大型语言模型。You are a helpful assistant.',
  ),
  'saas.api_url': option.optionalUrl(
    "Byzer-LLM's whole `…/v1/text/chatcompletion_pro` URL, used when `base_url` is not given",
  ),
});

/** `saas.base_url`, else the origin (and prefix) of Byzer-LLM's full `saas.api_url`. */
function readBaseUrl(
  inferParams: Record<string, string>,
  options: { 'saas.base_url': string; 'saas.api_url'?: string | undefined },
): string {
  const apiUrlGiven = options['saas.api_url'];
  if (inferParams['saas.base_url']?.trim() || !apiUrlGiven) return options['saas.base_url'];
  const apiUrl = apiUrlGiven.replace(/\?.*$/, '');
  if (!apiUrl.endsWith(CHAT_PATH)) {
    throw new InvalidArgumentError(
      `saas.api_url must be the chatcompletion_pro URL (ending in ${CHAT_PATH}), got "${apiUrl}"; or give saas.base_url`,
    );
  }
  return apiUrl.slice(0, -CHAT_PATH.length);
}

export async function createMiniMaxEngine(context: EngineContext): Promise<EngineInstance> {
  const options = MINIMAX_OPTIONS.fromContext(context);
  const apiKey = options['saas.api_key'];
  const modelId = options['saas.model'];
  const errorContext: MiniMaxErrorContext = { provider: PROVIDER, secrets: [apiKey] };
  const maxRetries = options['saas.max_retries'];
  const client = providerClient(options, {
    provider: PROVIDER,
    baseUrl: readBaseUrl(context.spec.inferParams, options),
    headers: { authorization: `Bearer ${apiKey}` },
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
      groupId: options['saas.group_id'],
      botName: options['saas.bot_name'],
      userName: options['saas.user_name'],
      botSetting: options['saas.bot_setting'],
      client,
      errorContext,
      maxRetries,
    }),
    dispose: () => client.close(),
  };
}
