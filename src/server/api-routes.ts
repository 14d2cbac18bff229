/**
 * The other vendors' API shapes the gateway serves over the same chat path: OpenAI's Responses API
 * (`/v1/responses`, with stored responses) and Anthropic's Messages API (`/v1/messages`). Each
 * lives in its own folder; this file routes to them, so `app.ts` needs one branch for all.
 */
import type { Exchange } from './exchange.js';
import { gatewayRefusal } from './map-error.js';
import { handleCreateResponse, handleStoredResponse } from './responses/handle-responses.js';
import type { ResponseStore } from './responses/response-store.js';

export interface ApiRoutesContext {
  responses: ResponseStore;
}

/** The `endpoint` metrics label of a path these routes serve, or undefined. */
export function apiRouteLabel(path: string): string | undefined {
  if (path === '/v1/responses') return path;
  if (path.startsWith('/v1/responses/')) return '/v1/responses/{id}';
  return undefined;
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
