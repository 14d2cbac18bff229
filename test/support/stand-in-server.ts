/**
 * What every provider stand-in (Anthropic, Gemini, Bedrock) shares: a real HTTP/1.1 server on
 * 127.0.0.1 that records requests, counts in-flight requests and requests the client abandoned,
 * and lets tests wait on those counters instead of sleeping. Each stand-in supplies the handler
 * that speaks its provider's protocol; the message knobs are those of `openai-upstream-answers.ts`.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The query parameters. */
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The raw body (signatures are computed over it). */
  rawBody: Buffer;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
}

export interface StandInContext {
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Marks a response the server drops on purpose (`cut:`), so it is not counted as a client abort. */
  cutByServer(response: ServerResponse): void;
}

export type StandInHandler = (
  request: StandInRequest,
  response: ServerResponse,
  context: StandInContext,
) => Promise<void>;

export interface StandInServer {
  /** `http://127.0.0.1:PORT` (no path). */
  origin: string;
  port: number;
  requests: StandInRequest[];
  abortedCount(): number;
  /** Resolves as soon as `condition` holds, re-checked whenever a request starts or ends. */
  waitUntil(condition: () => boolean): Promise<void>;
  close(): Promise<void>;
}

export async function startStandInServer(handler: StandInHandler): Promise<StandInServer> {
  const requests: StandInRequest[] = [];
  const changes = new EventEmitter();
  const cut = new WeakSet<ServerResponse>();
  let aborted = 0;
  const server = createServer((request, response) => {
    const controller = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished && !cut.has(response)) aborted++;
      controller.abort();
      changes.emit('change');
    });
    changes.emit('change');
    readRequest(request)
      .then((recorded) => {
        requests.push(recorded);
        return handler(recorded, response, {
          signal: controller.signal,
          cutByServer: (dropped) => cut.add(dropped),
        });
      })
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        if (!response.headersSent) {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ message: String(error) }));
        } else {
          response.destroy();
        }
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    abortedCount: () => aborted,
    waitUntil: (condition) =>
      new Promise((resolve) => {
        if (condition()) return resolve();
        const check = () => {
          if (!condition()) return;
          changes.off('change', check);
          resolve();
        };
        changes.on('change', check);
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readRequest(request: IncomingMessage): Promise<StandInRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks);
  let body: unknown;
  try {
    body = rawBody.length > 0 ? JSON.parse(rawBody.toString('utf8')) : undefined;
  } catch {
    body = undefined;
  }
  const url = new URL(request.url ?? '/', 'http://stand-in');
  return {
    method: request.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: request.headers,
    rawBody,
    body,
  };
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Writes `frame` and waits until it is flushed, then drops the connection (the `cut:` knob). */
export async function writeThenCut(
  response: ServerResponse,
  frame: string | Buffer,
  context: StandInContext,
): Promise<void> {
  await new Promise<void>((resolve) => response.write(frame, () => resolve()));
  context.cutByServer(response);
  response.destroy();
}
