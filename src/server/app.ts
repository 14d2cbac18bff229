/**
 * The gateway's request handler: CORS, auth, routing, and the one place answers are sent and
 * recorded. Hot endpoints go straight from node:http to the cluster (no framework adaption).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PACKAGE_VERSION, toByzerLLMError } from '../core/index.js';
import {
  type ApiRoutesContext,
  apiRouteErrorSender,
  apiRouteLabel,
  handleApiRoute,
  isMeteredApiRoute,
} from './api-routes.js';
import { handleSpeech, handleTranscription } from './audio.js';
import { handleChat } from './chat.js';
import { handleCompletions } from './completions.js';
import { handleEmbeddings } from './embeddings.js';
import { Exchange, type GatewayContext } from './exchange.js';
import { admitExchange, type GateCaller } from './gate-admission.js';
import { bearerKey, parseJsonObject, readBody, sendError, sendJson } from './http.js';
import { handleImages } from './images.js';
import { gatewayRefusal } from './map-error.js';
import { OTHER_ENDPOINT } from './metrics.js';
import { getModel, listModels } from './models.js';
import { type PredictHandler, readPredictForm } from './predict.js';
import { handleRerank } from './rerank.js';
import { setRequestId } from './request-id.js';

type JsonHandler = (exchange: Exchange, body: Record<string, unknown>) => Promise<number>;

const JSON_ROUTES: Record<string, JsonHandler> = {
  '/v1/chat/completions': handleChat,
  '/v1/completions': handleCompletions,
  '/v1/embeddings': handleEmbeddings,
  '/v1/rerank': handleRerank,
  '/v2/rerank': handleRerank,
  '/v1/audio/speech': handleSpeech,
  '/v1/images/generations': handleImages,
};

/**
 * The `endpoint` metrics label of a path: the route it names, or `other` for any other path, so
 * that clients cannot add labels by sending requests to made-up paths. Routes in `JSON_ROUTES` are
 * labelled by their path; a route with a parameter in its path gets a template here, as
 * `/v1/models/{model}` does.
 */
function endpointLabel(path: string, mounts: readonly MountedJsonRoutes[] | undefined): string {
  if (Object.hasOwn(JSON_ROUTES, path)) return path;
  if (
    path === '/v1/audio/transcriptions' ||
    path === '/v1/models' ||
    path === '/metrics' ||
    path === '/model/predict'
  )
    return path;
  if (path.startsWith('/v1/models/')) return '/v1/models/{model}';
  const apiRoute = apiRouteLabel(path);
  if (apiRoute) return apiRoute;
  const mount = mounts?.find((candidate) => path.startsWith(candidate.prefix));
  if (mount) return `${mount.prefix}{operation}`;
  return OTHER_ENDPOINT;
}

/**
 * JSON endpoints another layer mounts under a path prefix (the head mounts Byzer storage at
 * `/v1/storage/`): POST only, behind the same API key, errors mapped like every other endpoint.
 */
export interface MountedJsonRoutes {
  /** E.g. `/v1/storage/`; the rest of the path is passed as `route`. */
  prefix: string;
  handle(input: { route: string; body: Record<string, unknown>; signal: AbortSignal }): Promise<unknown>;
}

export interface HandlerOptions extends GatewayContext, ApiRoutesContext {
  /** Extra JSON endpoints, see `MountedJsonRoutes`. */
  mounts?: MountedJsonRoutes[];
  apiKey?: string;
  /** Origins allowed by CORS; `*` allows any. Empty: no CORS headers. */
  allowedOrigins: string[];
  log: (line: string) => void;
  /** Answers Byzer's `POST /model/predict` (SQL over rows); without it that route is not found. */
  predict?: PredictHandler;
}

export function createHandler(
  options: HandlerOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const expectedKey = options.apiKey ? Buffer.from(options.apiKey) : undefined;
  const allowAnyOrigin = options.allowedOrigins.includes('*');

  function authorized(request: IncomingMessage): boolean {
    if (!expectedKey) return true;
    return isMasterKey(bearerKey(request));
  }

  function isMasterKey(bearer: string | undefined): boolean {
    const given = Buffer.from(bearer ?? '');
    return (
      expectedKey !== undefined && given.length === expectedKey.length && timingSafeEqual(given, expectedKey)
    );
  }

  /** Who calls, for the gate: the master key, or a bearer that must be a virtual key. */
  function callerOf(request: IncomingMessage): GateCaller {
    const bearer = bearerKey(request);
    const master = isMasterKey(bearer);
    return { master, open: !expectedKey, key: master ? undefined : bearer };
  }

  async function route(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const method = request.method ?? 'GET';
    if (method === 'GET' && path === '/health') return sendJson(response, 200, { status: 'ok' });
    if (method === 'GET' && path === '/version') return sendJson(response, 200, { version: PACKAGE_VERSION });

    const exchange = new Exchange(options, request, response, endpointLabel(path, options.mounts));
    let status = 500;
    try {
      // With virtual keys or limits the gate decides who may call (one boolean when there are none).
      const caller = options.gate?.active ? callerOf(request) : undefined;
      if (!caller && !authorized(request)) {
        throw gatewayRefusal('unauthenticated', 'missing or wrong API key: send Authorization: Bearer <key>');
      }
      status = await dispatch(exchange, method, path, caller);
    } catch (error) {
      status = (apiRouteErrorSender(path) ?? sendError)(response, error);
      if (status >= 500 && toByzerLLMError(error).code === 'internal') {
        options.log(`internal error on ${method} ${path}: ${(error as Error)?.stack ?? String(error)}`);
      }
    }
    exchange.finish(status);
  }

  async function dispatch(
    exchange: Exchange,
    method: string,
    path: string,
    caller: GateCaller | undefined,
  ): Promise<number> {
    const { request, response } = exchange;
    const handler = Object.hasOwn(JSON_ROUTES, path) ? JSON_ROUTES[path] : undefined;
    const metered = handler !== undefined || isMeteredApiRoute(method, path);
    // Endpoints that run no model (or whose body is not JSON) only check the key.
    if (caller && !metered) await admitExchange(options.gate!, exchange, caller, undefined, 0);
    if (handler || path === '/v1/audio/transcriptions') {
      if (method !== 'POST') throw gatewayRefusal('method_not_allowed', `${method} ${path}: use POST`);
      const body = await readBody(request, options.bodyLimitBytes);
      if (!handler) return handleTranscription(exchange, body);
      const parsed = parseJsonObject(body);
      if (caller) {
        // The head's gate decides at once; only a gate over NATS is waited for.
        const admitting = admitExchange(options.gate!, exchange, caller, parsed, body.length);
        if (admitting) await admitting;
      }
      return handler(exchange, parsed);
    }
    if (apiRouteLabel(path)) {
      const readJson = async () => {
        const body = await readBody(request, options.bodyLimitBytes);
        const parsed = parseJsonObject(body);
        if (caller && metered) await admitExchange(options.gate!, exchange, caller, parsed, body.length);
        return parsed;
      };
      return handleApiRoute(exchange, { method, path, context: options, readJson });
    }
    if (path === '/model/predict' && options.predict) {
      if (method !== 'POST') throw gatewayRefusal('method_not_allowed', `${method} ${path}: use POST`);
      const form = readPredictForm(
        await readBody(request, options.bodyLimitBytes),
        request.headers['content-type'],
      );
      sendJson(response, 200, await options.predict(form, exchange.signal));
      return 200;
    }
    if (method === 'GET' && path === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      response.end(options.metrics.render() + (options.governance?.renderMetrics() ?? ''));
      return 200;
    }
    if (method === 'GET' && path === '/v1/models') {
      sendJson(response, 200, await listModels(options.cluster));
      return 200;
    }
    if (method === 'GET' && path.startsWith('/v1/models/')) {
      sendJson(response, 200, await getModel(options.cluster, decodeURIComponent(path.slice(11))));
      return 200;
    }
    const mount = options.mounts?.find((candidate) => path.startsWith(candidate.prefix));
    if (mount) {
      if (method !== 'POST') throw gatewayRefusal('method_not_allowed', `${method} ${path}: use POST`);
      const body = parseJsonObject(await readBody(request, options.bodyLimitBytes));
      const route = path.slice(mount.prefix.length);
      sendJson(response, 200, await mount.handle({ route, body, signal: exchange.signal }));
      return 200;
    }
    throw gatewayRefusal(
      'route_not_found',
      `no endpoint ${method} ${path}; see /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/rerank, /v1/audio/speech, /v1/audio/transcriptions, /v1/images/generations, /v1/models, /v1/responses`,
    );
  }

  return (request, response) => {
    setRequestId(response);
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (options.allowedOrigins.length > 0) {
      const origin = request.headers.origin;
      if (origin && (allowAnyOrigin || options.allowedOrigins.includes(origin))) {
        response.setHeader('access-control-allow-origin', allowAnyOrigin ? '*' : origin);
        response.setHeader('vary', 'Origin');
        if (request.method === 'OPTIONS') {
          response.writeHead(204, {
            'access-control-allow-methods': 'GET, POST, OPTIONS',
            'access-control-allow-headers':
              request.headers['access-control-request-headers'] ?? 'authorization, content-type',
            'access-control-max-age': '600',
          });
          response.end();
          return;
        }
      }
    }
    route(request, response, path).catch((error: unknown) => {
      options.log(`gateway failed to answer ${request.method} ${path}: ${String(error)}`);
      if (!response.destroyed) response.destroy();
    });
  };
}
