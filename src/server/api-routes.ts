/**
 * The other vendors' API shapes the gateway serves over the same chat path: OpenAI's Responses API
 * (`/v1/responses`, with stored responses) and Anthropic's Messages API (`/v1/messages`). Each
 * lives in its own folder; this file routes to them, so `app.ts` needs one branch for all.
 */
import type { Exchange } from './exchange.js';
import { gatewayRefusal } from './map-error.js';
import {
  COUNT_TOKENS_PATH,
  handleCountTokens,
  handleMessages,
  MESSAGES_PATH,
  sendAnthropicError,
} from './messages/handle-messages.js';
import { handleCreateResponse, handleStoredResponse } from './responses/handle-responses.js';
import type { ResponseStore } from './responses/response-store.js';

export interface ApiRoutesContext {
  responses: ResponseStore;
}

/** The `endpoint` metrics label of a path these routes serve, or undefined. */
export function apiRouteLabel(path: string): string | undefined {
  if (path === '/v1/responses' || path === MESSAGES_PATH || path === COUNT_TOKENS_PATH) return path;
  if (path.startsWith('/v1/responses/')) return '/v1/responses/{id}';
  return undefined;
}

/**
 * Whether a request to one of these routes runs a model and so goes through the gate's admission
 * like the JSON model endpoints (models allow-list, rpm/tpm, budget; settled with its usage):
 * creating a response or a message. Reading or deleting a stored response and counting tokens only
 * check the key.
 */
export function isMeteredApiRoute(method: string, path: string): boolean {
  return method === 'POST' && (path === '/v1/responses' || path === MESSAGES_PATH);
}

/** Answers a request to one of these routes; `readJson` reads and parses the body when needed. */
export async function handleApiRoute(
  exchange: Exchange,
  input: {
    method: string;
    path: string;
    context: ApiRoutesContext;
    readJson(): Promise<Record<string, unknown>>;
  },
): Promise<number> {
  const { method, path, context } = input;
  if (path === MESSAGES_PATH || path === COUNT_TOKENS_PATH) {
    if (method !== 'POST') throw gatewayRefusal('method_not_allowed', `${method} ${path}: use POST`);
    const body = await input.readJson();
    return path === MESSAGES_PATH ? handleMessages(exchange, body) : handleCountTokens(exchange, body);
  }
  if (path === '/v1/responses') {
    if (method !== 'POST') throw gatewayRefusal('method_not_allowed', `${method} ${path}: use POST`);
    return handleCreateResponse(exchange, await input.readJson(), context.responses);
  }
  return handleStoredResponse(
    exchange,
    method,
    decodeURIComponent(path.slice('/v1/responses/'.length)),
    context.responses,
  );
}

/**
 * How a failure is answered on `path`: Anthropic's error body on the Messages paths (their clients
 * parse it), undefined for the OpenAI body every other path uses.
 */
export function apiRouteErrorSender(path: string): typeof sendAnthropicError | undefined {
  return path === MESSAGES_PATH || path === COUNT_TOKENS_PATH ? sendAnthropicError : undefined;
}
