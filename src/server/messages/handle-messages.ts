/**
 * `POST /v1/messages` and `POST /v1/messages/count_tokens`: the Anthropic Messages API over the
 * normal chat path of any deployment (Claude Code and the `@anthropic-ai/sdk` speak it).
 *
 * Anthropic clients authenticate with `x-api-key` or `Authorization: Bearer` (both accepted by the
 * gateway's key check) and always send `anthropic-version`; a request without it is refused as
 * Anthropic refuses it. Errors on these paths use Anthropic's body (`sendAnthropicError`), and every
 * answer carries `request-id`, the header the SDK exposes as `_request_id`.
 */
import type { ServerResponse } from 'node:http';
import { type ChatResult, toByzerLLMError } from '../../core/index.js';
import { pumpEvents } from '../event-stream.js';
import type { Exchange } from '../exchange.js';
import { sendJson } from '../http.js';
import { type FieldCheck, ignoredFieldsHeader, present, refuseFields } from '../ignored-fields.js';
import { badField } from '../map-error.js';
import { requestIdOf } from '../request-id.js';
import { parseRequest } from '../validate.js';
import { anthropicError, MessageEventWriter, messageObject, newMessageId } from './message-response.js';
import { countTokensBodySchema, parseMessagesBody, toChatRequest } from './request.js';

export const MESSAGES_PATH = '/v1/messages';
export const COUNT_TOKENS_PATH = '/v1/messages/count_tokens';

/** Run on Anthropic's side. */
const REFUSED: FieldCheck = { mcp_servers: present, container: present };

/** Tune Anthropic's own service or models; a deployment answers the same without them. */
const IGNORED: FieldCheck = { thinking: present, service_tier: present, context_management: present };

export async function handleMessages(exchange: Exchange, body: Record<string, unknown>): Promise<number> {
  requireVersion(exchange);
  const parsed = parseMessagesBody(body);
  refuseFields(body, REFUSED, 'it needs Anthropic-hosted servers');
  const request = toChatRequest(parsed);
  const model = exchange.resolveModel(parsed.model);
  const id = newMessageId();
  const headers = { 'request-id': requestIdOf(exchange.response), ...ignoredFieldsHeader(body, IGNORED) };
  const options = exchange.callOptions(model);
  if (parsed.stream) {
    const parts = await exchange.cluster.stream(model, request, options);
    exchange.routeAnswered(options);
    return pumpEvents({ exchange, parts, writer: new MessageEventWriter(id, model), headers });
  }
  const result: ChatResult = await exchange.cluster.call(model, 'chat', request, options);
  exchange.routeAnswered(options);
  exchange.inputTokens = result.usage.inputTokens;
  exchange.outputTokens = result.usage.outputTokens;
  sendJson(exchange.response, 200, messageObject({ id, model, result }), headers);
  return 200;
}

/**
 * Deployments have no tokenizer call, so the count is an estimate: one token per four characters
 * of the text the model would read (system, messages, tool definitions), the rule of thumb
 * Anthropic documents. The `x-byzerllm-warnings` header says so; the deployment must exist.
 */
export async function handleCountTokens(exchange: Exchange, body: Record<string, unknown>): Promise<number> {
  requireVersion(exchange);
  const parsed = parseRequest(countTokensBodySchema, body);
  const request = toChatRequest(parsed);
  const model = exchange.resolveModel(parsed.model);
  await exchange.cluster.meta(model);
  let characters = 0;
  for (const message of request.messages) {
    characters += JSON.stringify(message.content).length;
    if (message.role === 'assistant' && message.toolCalls)
      characters += JSON.stringify(message.toolCalls).length;
  }
  if (request.tools) characters += JSON.stringify(request.tools).length;
  sendJson(
    exchange.response,
    200,
    { input_tokens: Math.ceil(characters / 4) },
    {
      'request-id': requestIdOf(exchange.response),
      'x-byzerllm-warnings':
        'input_tokens is an estimate (4 characters per token): deployments expose no tokenizer',
    },
  );
  return 200;
}

function requireVersion(exchange: Exchange): void {
  if (!exchange.request.headers['anthropic-version']) {
    throw badField('anthropic-version', 'anthropic-version: header is required (e.g. 2023-06-01)');
  }
}

/** Answers a failure on a Messages path with Anthropic's error body; returns the status sent. */
export function sendAnthropicError(response: ServerResponse, error: unknown): number {
  const mapped = anthropicError(toByzerLLMError(error));
  if (response.headersSent || response.destroyed) {
    if (!response.writableEnded) response.destroy();
    return mapped.status;
  }
  sendJson(response, mapped.status, mapped.body, { ...mapped.headers, 'request-id': requestIdOf(response) });
  return mapped.status;
}
