/**
 * The head's admin HTTP API, used by the CLI and remote clients (`HeadClient`).
 *
 * JSON in, JSON out, under `/admin/v1`, bearer-token protected (the token lives in the head file,
 * readable only by the user who started the head). Errors travel as `{ error: SerializedError }` so
 * the client rebuilds the same error class. Streams are NDJSON, one `StreamPart` per line, errors as
 * `{ type: 'error', error: SerializedError }`. A client that disconnects cancels its request.
 */
import { timingSafeEqual } from 'node:crypto';
import v8 from 'node:v8';
import { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { bodyLimit } from 'hono/body-limit';
import { stream } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  type ByzerLLMError,
  type DeploymentSpecInput,
  type ErrorCode,
  InvalidArgumentError,
  PACKAGE_VERSION,
  toByzerLLMError,
  UnsupportedError,
} from '../../core/index.js';
import { type ClusterApi, ticketOf } from '../cluster-api.js';
import {
  callKindSchema,
  chatRequestSchema,
  describeIssue,
  encodeBinary,
  encodeStreamPart,
  requestSchemaByKind,
  reviveBinary,
  ticketSchema,
} from '../wire/index.js';
import { type GatewayHost, gatewayStartOptionsSchema } from './gateway-host.js';
import { NDJSON_HEADERS, writeNdjson } from './ndjson-response.js';
import type { StorageHost } from './storage-host.js';
import { registerRouteEndpoints } from './route-endpoints.js';
import { registerKeyEndpoints } from './key-endpoints.js';
import type { AccessControl, Governance } from '../governance/index.js';

/** The one place that maps error codes to admin API statuses. */
const STATUS_BY_CODE: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_argument: 400,
  not_found: 404,
  already_exists: 409,
  unsupported: 400,
  insufficient_resources: 409,
  capacity_exhausted: 429,
  aborted: 499 as ContentfulStatusCode,
  timeout: 504,
  upstream_auth: 502,
  upstream_rate_limit: 429,
  upstream_overloaded: 503,
  upstream_bad_request: 502,
  upstream_not_found: 502,
  upstream_error: 502,
  upstream_unreachable: 502,
  head_unreachable: 502,
  worker_failed: 503,
  internal: 500,
};

export interface AdminApiOptions {
  cluster: ClusterApi;
  /** Bearer token every request must carry. */
  token: string;
  /** Called by `POST /admin/v1/shutdown`. */
  onShutdown?: () => void;
  log?: (line: string) => void;
  /** Opens OpenAI-compatible gateways in this process (`POST /admin/v1/gateways`). */
  gateways?: GatewayHost;
  /** The store in this process (`POST /admin/v1/storage/<operation>`). */
  storage?: StorageHost;
  /** Routing configs by virtual model name (`/admin/v1/routes`); without it those paths are not found. */
  governance?: Governance;
  /** Virtual keys and rate limits (`/admin/v1/keys`, `/admin/v1/limits`); without it those are not found. */
  access?: AccessControl;
}

/**
 * The admin app: `/health`, then the token check and body limit on `/admin/*`, one error edge, and
 * the routes of each concern (deployments and calls, hosted gateways and store, shutdown).
 */
export function createAdminApi(options: AdminApiOptions): Hono {
  const app = new Hono();
  app.get('/health', (context) => context.json({ ok: true, pid: process.pid, version: PACKAGE_VERSION }));
  app.use('/admin/*', requireAdminToken(options.token));
  app.use('/admin/*', limitBody(64 * 1024 * 1024));
  app.onError((error, context) => errorResponse(context, toByzerLLMError(error), options.log));
  addDeploymentRoutes(app, options.cluster);
  addCallRoutes(app, options.cluster);
  addHostedRoutes(app, options);
  app.post('/admin/v1/shutdown', (context) => {
    setImmediate(() => options.onShutdown?.());
    return context.json({ stopping: true });
  });
  return app;
}

/**
 * hono's `bodyLimit`, except that a body whose `content-length` is within the limit passes without the
 * middleware touching it: `bodyLimit` first asks for the web `Request`'s body stream, which makes
 * @hono/node-server build a `Request` and a `ReadableStream` over the socket for every request and
 * takes `context.req.json()` off its direct read (about a tenth of the head's CPU on the CLI's
 * stream path). Every other request (chunked, oversized, no length) goes through `bodyLimit` as before.
 */
function limitBody(maxSize: number): MiddlewareHandler {
  // A refusal is ours (400 naming the limit); hono's own HTTPException reached `onError` as a 500.
  const limited = bodyLimit({
    maxSize,
    onError: () => {
      throw new InvalidArgumentError(`the request body is larger than the limit of ${maxSize} bytes`);
    },
  });
  return (context, next) => {
    const length = context.req.header('content-length');
    const chunked = context.req.header('transfer-encoding') !== undefined;
    if (length !== undefined && !chunked && Number.parseInt(length, 10) <= maxSize) return next();
    return limited(context, next);
  };
}

/** Every `/admin/*` request carries the bearer token (compared in constant time), else a 401. */
function requireAdminToken(token: string): MiddlewareHandler {
  const expected = Buffer.from(`Bearer ${token}`);
  return async (context, next) => {
    const given = Buffer.from(context.req.header('authorization') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      const refusal = new InvalidArgumentError('missing or wrong admin token');
      return context.json({ error: refusal.toJSON() }, 401);
    }
    await next();
  };
}

function addDeploymentRoutes(app: Hono, cluster: ClusterApi): void {
  app.get('/admin/v1/status', async (context) => context.json(await cluster.status()));
  app.get('/admin/v1/deployments', async (context) => context.json(await cluster.list()));
  // The spec is validated in full by `cluster.deploy` (the same zod schema, messages naming the field).
  app.post('/admin/v1/deployments', async (context) =>
    context.json(
      await cluster.deploy(parseBody(deploymentBodySchema, await readJson(context), 'deployment')),
    ),
  );
  app.delete('/admin/v1/deployments/:name', async (context) =>
    context.json(
      await cluster.undeploy(context.req.param('name'), { force: context.req.query('force') === 'true' }),
    ),
  );
  app.get('/admin/v1/deployments/:name/stat', async (context) =>
    context.json(await cluster.stat(context.req.param('name'))),
  );
  app.get('/admin/v1/deployments/:name/meta', async (context) =>
    context.json(await cluster.meta(context.req.param('name'))),
  );
}

/** Calls and streams: bodies parsed with the wire schemas, binary values and errors encoded by `wire/`. */
function addCallRoutes(app: Hono, cluster: ClusterApi): void {
  app.post('/admin/v1/deployments/:name/call', async (context) => {
    const body = parseBody(callBodySchema, await readJson(context), 'call');
    const kind = body.kind;
    const request = parseBody(requestSchemaByKind[kind], reviveBinary(body.request), `${kind} request`);
    const result = await cluster.call(context.req.param('name'), kind, request as never, {
      signal: context.req.raw.signal,
      ...ticketOf(body),
    });
    return context.json(encodeBinary(result) as object);
  });

  app.post('/admin/v1/deployments/:name/stream', async (context) => {
    const body = parseBody(streamBodySchema, await readJson(context), 'stream');
    const abort = new AbortController();
    const parts = await cluster.stream(context.req.param('name'), body.request as never, {
      signal: abort.signal,
      ...ticketOf(body),
    });
    // Served by @hono/node-server (the head): write to the node:http response itself.
    const outgoing = (context.env as { outgoing?: unknown } | undefined)?.outgoing;
    if (outgoing instanceof ServerResponse) {
      void writeNdjson({
        parts,
        response: outgoing,
        abort,
        encode: (part) => encodeBinary(encodeStreamPart(part)),
      });
      return RESPONSE_ALREADY_SENT;
    }
    // Elsewhere (`app.request` in-process): the same lines through hono's stream helper.
    context.header('content-type', NDJSON_HEADERS['content-type']);
    return stream(context, async (output) => {
      output.onAbort(() => abort.abort());
      for await (const part of parts) {
        await output.write(`${JSON.stringify(encodeBinary(encodeStreamPart(part)))}\n`);
        if (abort.signal.aborted) break;
      }
    });
  });
}

/** What the head process hosts besides the cluster: gateways (`byzerllm serve`) and the store. */
function addHostedRoutes(app: Hono, options: AdminApiOptions): void {
  // Attach: opens a gateway, answers one NDJSON line {id, address} and holds the answer open; the
  // gateway stops when the caller (`byzerllm serve`) disconnects, so it never outlives its command.
  app.post('/admin/v1/gateways', async (context) => {
    const host = options.gateways;
    if (!host) throw new UnsupportedError('this head cannot host gateways');
    const parsed = gatewayStartOptionsSchema.safeParse(await readJson(context));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidArgumentError(`invalid gateway option ${issue.path.join('.')}: ${issue.message}`);
    }
    const opened = await host.start(parsed.data);
    options.log?.(`gateway ${opened.id} listening on ${opened.address}`);
    context.header('content-type', 'application/x-ndjson');
    return stream(context, async (output) => {
      const detached = new Promise<void>((resolve) => output.onAbort(resolve));
      await output.write(`${JSON.stringify(opened)}\n`);
      await detached;
      await host.stop(opened.id);
      options.log?.(`gateway ${opened.id} stopped (its serve command detached)`);
    });
  });

  app.post('/admin/v1/storage/:operation', async (context) => {
    const host = options.storage;
    if (!host) throw new UnsupportedError('this head hosts no store (Byzer storage)');
    return context.json(
      (await host.call(
        context.req.param('operation'),
        await readJson(context),
        context.req.raw.signal,
      )) as object,
    );
  });

  registerDebugMemory(app);
  if (options.governance) registerRouteEndpoints(app, options.governance, readJson);
  if (options.access) registerKeyEndpoints(app, options.access, readJson);
}

const deploymentBodySchema = z.custom<DeploymentSpecInput>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'expected a deployment spec object',
);
/** `ticket`: a gateway request's access ticket (`ClusterCallOptions.ticket`). */
const callBodySchema = z.object({
  kind: callKindSchema,
  request: z.unknown(),
  ticket: ticketSchema.optional(),
});
const streamBodySchema = z.object({ request: chatRequestSchema, ticket: ticketSchema.optional() });

/** Parses a body (or part of one) at the edge: a 400 naming the first bad field, else the value. */
function parseBody<Schema extends z.ZodType>(schema: Schema, value: unknown, what: string): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`invalid ${what} body: ${describeIssue(parsed.error)}`);
  return parsed.data;
}

async function readJson(context: Context): Promise<unknown> {
  try {
    return await context.req.json();
  } catch {
    throw new InvalidArgumentError('the request body is not valid JSON');
  }
}

function errorResponse(context: Context, error: ByzerLLMError, log?: (line: string) => void): Response {
  const status = STATUS_BY_CODE[error.code] ?? 500;
  if (status >= 500 && error.code === 'internal') log?.(`internal error: ${error.stack ?? error.message}`);
  return context.json({ error: error.toJSON() }, status);
}

/**
 * `GET /admin/v1/debug/memory`: a full garbage collection, then the process's memory — the only way
 * to tell retained memory from a heap V8 has not collected yet. Debug-only: it exists only in a head
 * started with `--expose-gc` (e.g. `NODE_OPTIONS=--expose-gc`, as `bench/memory.ts` does), because a
 * forced full collection stalls every request in flight.
 */
function registerDebugMemory(app: Hono): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (typeof collect !== 'function') return;
  app.get('/admin/v1/debug/memory', (context) => {
    collect();
    const usage = process.memoryUsage();
    const heap = v8.getHeapStatistics();
    return context.json({
      rss: usage.rss,
      heapUsed: usage.heapUsed,
      heapTotal: usage.heapTotal,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
      mallocedMemory: heap.malloced_memory,
      nativeContexts: heap.number_of_native_contexts,
      activeHandles: activeResourceCounts(),
    });
  });
}

/** Live libuv resources by type (sockets, timers, pipes, processes): a handle leak shows here. */
function activeResourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}
