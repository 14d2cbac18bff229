/**
 * The OpenAI-compatible gateway (`byzerllm serve`) over any `ClusterApi`.
 *
 * `createOpenAIServer` gives the node:http request handler (to mount in any server);
 * `startOpenAIServer` listens (HTTP, or HTTPS with a key and certificate) and returns its address.
 * The CLI runs it inside the head process over the in-process `Head`, so a request costs no extra
 * loopback hop.
 */
import fs from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  type AccessGate,
  type ClusterApi,
  type Governance,
  resolveStateDirectory,
} from '../cluster/index.js';
import { InvalidArgumentError } from '../core/index.js';
import { createHandler, type MountedJsonRoutes } from './app.js';
import type { PredictHandler } from './predict.js';
import { GatewayMetrics } from './metrics.js';
import { GatewayResponse } from './request-id.js';
import { ResponseStore } from './responses/response-store.js';

export type { MountedJsonRoutes } from './app.js';

export { type GatewayRefusal, mapError, type MappedError, type OpenAIErrorBody } from './map-error.js';
export { GatewayMetrics } from './metrics.js';
export { type RunningConsole, type StartConsoleOptions, startConsole } from './console/start-console.js';
export type {
  ConsoleFeatures,
  ConsoleJobDetail,
  ConsoleJobs,
  ConsoleJobSummary,
  ConsoleNotebookRunner,
  ConsoleStorage,
  NotebookStatementResult,
} from './console/console-features.js';
export type { PredictHandler } from './predict.js';

export interface OpenAIServerOptions {
  cluster: ClusterApi;
  /** Required as `Authorization: Bearer <key>` on `/v1/*` and `/metrics` when set. */
  apiKey?: string;
  /** The deployment that requests naming no `model` go to. */
  servedModelName?: string;
  /** CORS origins (`*` for any). Default: none (no CORS headers). */
  allowedOrigins?: string[];
  /** Largest accepted request body. Default 32 MiB (audio uploads). */
  bodyLimitBytes?: number;
  log?: (line: string) => void;
  /** Answers Byzer's `POST /model/predict`; composed by the CLI layer from `src/sql`. */
  predict?: PredictHandler;
  /** Extra JSON endpoints (Byzer storage at `/v1/storage/` in the head). */
  mounts?: MountedJsonRoutes[];
  /** Where `/v1/responses` stores responses. Defaults to `$BYZERLLM_HOME/responses`. */
  responsesDirectory?: string;
  /** Routes by virtual model name (the head's; see `Governance`). */
  governance?: Governance;
  /** Virtual keys and rate limits (`AccessControl` in the head, `NatsAccessGate` elsewhere). */
  gate?: AccessGate;
}

export interface OpenAIServer {
  handle(request: IncomingMessage, response: ServerResponse): void;
  metrics: GatewayMetrics;
}

export function createOpenAIServer(options: OpenAIServerOptions): OpenAIServer {
  const metrics = new GatewayMetrics();
  const handle = createHandler({
    cluster: options.cluster,
    metrics,
    responses: new ResponseStore(
      options.responsesDirectory ?? path.join(resolveStateDirectory(), 'responses'),
    ),
    ...(options.servedModelName ? { servedModelName: options.servedModelName } : {}),
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    allowedOrigins: options.allowedOrigins ?? [],
    bodyLimitBytes: options.bodyLimitBytes ?? 32 * 1024 * 1024,
    log: options.log ?? (() => {}),
    ...(options.predict ? { predict: options.predict } : {}),
    ...(options.mounts ? { mounts: options.mounts } : {}),
    ...(options.governance ? { governance: options.governance } : {}),
    ...(options.gate ? { gate: options.gate } : {}),
  });
  return { handle, metrics };
}

export interface StartOpenAIServerOptions extends OpenAIServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** PEM files; both or neither. */
  sslKeyFile?: string;
  sslCertFile?: string;
}

export interface RunningOpenAIServer {
  /** `http(s)://HOST:PORT` */
  address: string;
  metrics: GatewayMetrics;
  close(): Promise<void>;
}

export async function startOpenAIServer(options: StartOpenAIServerOptions): Promise<RunningOpenAIServer> {
  const gateway = createOpenAIServer(options);
  if (Boolean(options.sslKeyFile) !== Boolean(options.sslCertFile)) {
    throw new InvalidArgumentError('--ssl_keyfile and --ssl_certfile go together: give both or neither');
  }
  const tls = options.sslKeyFile && options.sslCertFile;
  const server = tls
    ? createHttpsServer(
        {
          key: await fs.readFile(options.sslKeyFile!),
          cert: await fs.readFile(options.sslCertFile!),
          ServerResponse: GatewayResponse,
        },
        gateway.handle,
      )
    : createHttpServer({ ServerResponse: GatewayResponse }, gateway.handle);
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new InvalidArgumentError(`port ${options.port} on ${host} is already in use; pick another --port`)
          : error,
      ),
    );
    server.listen(options.port ?? 8000, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    address: `${tls ? 'https' : 'http'}://${shownHost}:${port}`,
    metrics: gateway.metrics,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
