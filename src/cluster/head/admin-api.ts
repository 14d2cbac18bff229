/**
 * The head's admin HTTP API, used by the CLI and remote clients (`HeadClient`).
 *
 * JSON in, JSON out, under `/admin/v1`, bearer-token protected (the token lives in the head file,
 * readable only by the user who started the head). Errors travel as `{ error: SerializedError }` so
 * the client rebuilds the same error class. Streams are NDJSON, one `StreamPart` per line, errors as
 * `{ type: 'error', error: SerializedError }`. A client that disconnects cancels its request.
 */
import { timingSafeEqual } from 'node:crypto';
import { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { type Context, Hono } from 'hono';
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
  type StreamPart,
  toByzerLLMError,
  UnsupportedError,
} from '../../core/index.js';
import type { ClusterApi } from '../cluster-api.js';
import { chatRequestSchema, describeIssue, requestSchemaByKind } from '../transport/request-schemas.js';
import { WORKER_CALL_KINDS, type WorkerCallKind } from '../transport/transport.js';
import { type GatewayHost, gatewayStartOptionsSchema } from './gateway-host.js';
import { NDJSON_HEADERS, writeNdjson } from './ndjson-response.js';
import type { StorageHost } from './storage-host.js';
import { registerRouteEndpoints } from './route-endpoints.js';
import type { Governance } from '../governance/index.js';

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
}

export function createAdminApi(options: AdminApiOptions): Hono {
  const { cluster } = options;
  const expected = Buffer.from(`Bearer ${options.token}`);
  const app = new Hono();

  app.get('/health', (context) => context.json({ ok: true, pid: process.pid, version: PACKAGE_VERSION }));

  app.use('/admin/*', async (context, next) => {
    const given = Buffer.from(context.req.header('authorization') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return context.json(
        {
          error: {
            name: 'ByzerLLMError',
            code: 'invalid_argument',
            message: 'missing or wrong admin token',
            isRetryable: false,
          },
        },
        401,
      );
    }
    await next();
  });
  app.use('/admin/*', bodyLimit({ maxSize: 64 * 1024 * 1024 }));

  app.onError((error, context) => errorResponse(context, toByzerLLMError(error), options.log));

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

  app.post('/admin/v1/deployments/:name/call', async (context) => {
    const body = parseBody(callBodySchema, await readJson(context), 'call');
    if (!WORKER_CALL_KINDS.includes(body.kind as WorkerCallKind)) {
      throw new InvalidArgumentError(
        `unknown call kind ${JSON.stringify(body.kind)}; allowed: ${WORKER_CALL_KINDS.join(', ')}`,
      );
    }
    const kind = body.kind as WorkerCallKind;
    const request = parseBody(requestSchemaByKind[kind], reviveBinary(body.request), `${kind} request`);
    const result = await cluster.call(context.req.param('name'), kind, request as never, {
      signal: context.req.raw.signal,
    });
    return context.json(encodeBinary(result) as object);
  });

  app.post('/admin/v1/deployments/:name/stream', async (context) => {
    const body = parseBody(streamBodySchema, await readJson(context), 'stream');
    const abort = new AbortController();
    const parts = await cluster.stream(context.req.param('name'), body.request as never, {
      signal: abort.signal,
    });
    // Served by @hono/node-server (the head): write to the node:http response itself.
    const outgoing = (context.env as { outgoing?: unknown } | undefined)?.outgoing;
    if (outgoing instanceof ServerResponse) {
      void writeNdjson({ parts, response: outgoing, abort, encode: encodePart });
      return RESPONSE_ALREADY_SENT;
    }
    // Elsewhere (`app.request` in-process): the same lines through hono's stream helper.
    context.header('content-type', NDJSON_HEADERS['content-type']);
    return stream(context, async (output) => {
      output.onAbort(() => abort.abort());
      for await (const part of parts) {
        await output.write(`${JSON.stringify(encodePart(part))}\n`);
        if (abort.signal.aborted) break;
      }
    });
  });

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

  if (options.governance) registerRouteEndpoints(app, options.governance, readJson);

  app.post('/admin/v1/shutdown', (context) => {
    setImmediate(() => options.onShutdown?.());
    return context.json({ stopping: true });
  });

  return app;
}

const deploymentBodySchema = z.custom<DeploymentSpecInput>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'expected a deployment spec object',
);
const callBodySchema = z.object({ kind: z.string(), request: z.unknown() });
const streamBodySchema = z.object({ request: chatRequestSchema });

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

function encodePart(part: StreamPart): unknown {
  if (part.type === 'error') return { type: 'error', error: part.error.toJSON() };
  return part.type === 'audio-delta' ? encodeBinary(part) : part;
}

/**
 * Binary payloads (audio bytes) travel as `{ $binary: base64 }` in JSON bodies, in both directions.
 */
export function encodeBinary(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $binary: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(encodeBinary);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encodeBinary(inner)]));
  }
  return value;
}

export function reviveBinary(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reviveBinary);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.$binary === 'string' && Object.keys(record).length === 1) {
      return new Uint8Array(Buffer.from(record.$binary, 'base64'));
    }
    return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, reviveBinary(inner)]));
  }
  return value;
}
