/**
 * The common machinery of the local provider stand-ins (DashScope, Qianfan, MiniMax, Spark, …): a
 * real HTTP server on 127.0.0.1 that records every request, counts in-flight requests and requests
 * the client abandoned, and lets tests wait on those counts. Each stand-in supplies only a handler
 * that speaks its provider's documented protocol; `server` is exposed for WebSocket upgrades.
 *
 * Stand-ins follow the knob conventions of `openai-upstream-answers.ts` (`fail:NNN`,
 * `chunk-delay:MS`, `delay:MS`, `cut:`), answer `echo: <last user text>`, and count tokens as
 * whitespace-separated words.
 */
import { EventEmitter } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProtocolRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  rawBody: Buffer;
}

export interface Exchange {
  request: ProtocolRequest;
  response: ServerResponse;
  /** Aborted when the client goes away or the server closes. */
  signal: AbortSignal;
  /** Marks the response as dropped on purpose, so it does not count as a client abort. */
  markCut(): void;
}

export interface ProtocolServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  port: number;
  server: Server;
  requests: ProtocolRequest[];
  inFlight(): number;
  abortedCount(): number;
  /** Counts one more abandoned exchange (WebSocket stand-ins report their own). */
  countAbort(): void;
  /** Re-checks waiters (WebSocket stand-ins call it when their state changes). */
  notify(): void;
  waitUntil(condition: () => boolean): Promise<void>;
  close(): Promise<void>;
}

export async function startProtocolServer(
  handler: (exchange: Exchange) => Promise<void>,
): Promise<ProtocolServer> {
  const requests: ProtocolRequest[] = [];
  const changes = new EventEmitter();
  const running = new Set<AbortController>();
  const cut = new WeakSet<ServerResponse>();
  let inFlight = 0;
  let abortedCount = 0;

  const server = createServer((incoming, response) => {
    const controller = new AbortController();
    running.add(controller);
    inFlight++;
    changes.emit('change');
    response.on('close', () => {
      running.delete(controller);
      inFlight--;
      if (!response.writableFinished && !cut.has(response)) abortedCount++;
      controller.abort();
      changes.emit('change');
    });
    (async () => {
      const request = await readRequest(incoming);
      requests.push(request);
      await handler({ request, response, signal: controller.signal, markCut: () => cut.add(response) });
    })().catch((error: unknown) => {
      if (controller.signal.aborted) return;
      if (!response.headersSent) sendJson(response, 500, { message: String(error) });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests,
    inFlight: () => inFlight,
    abortedCount: () => abortedCount,
    countAbort() {
      abortedCount++;
      changes.emit('change');
    },
    notify: () => changes.emit('change'),
    waitUntil(condition) {
      return new Promise((resolve) => {
        const check = () => {
          if (!condition()) return;
          changes.off('change', check);
          resolve();
        };
        changes.on('change', check);
        check();
      });
    },
    async close() {
      for (const controller of running) controller.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readRequest(incoming: IncomingMessage): Promise<ProtocolRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks);
  const text = rawBody.toString('utf8');
  let body: unknown;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const url = new URL(incoming.url ?? '/', 'http://localhost');
  return {
    method: incoming.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: incoming.headers,
    body,
    rawBody,
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

/** The knobs of a last user message (see the module comment). */
export interface EchoPlan {
  text: string;
  failStatus?: number;
  delayMs?: number;
  chunkDelayMs?: number;
  cut: boolean;
  /** The answer in deltas that concatenate back to `text`. */
  deltas: string[];
  outputTokens: number;
}

export function planEcho(userText: string): EchoPlan {
  const number = (pattern: RegExp) => {
    const match = pattern.exec(userText);
    return match ? Number(match[1]) : undefined;
  };
  const text = `echo: ${userText}`;
  const plan: EchoPlan = {
    text,
    cut: /(?:^|\s)cut:/.test(userText),
    deltas: text.match(/\s*\S+|\s+$/g) ?? [],
    outputTokens: countWords(text),
  };
  const failStatus = number(/(?:^|\s)fail:(\d{3})(?=\s|$)/);
  const delayMs = number(/(?:^|\s)delay:(\d+)(?=\s|$)/);
  const chunkDelayMs = number(/(?:^|\s)chunk-delay:(\d+)(?=\s|$)/);
  if (failStatus !== undefined) plan.failStatus = failStatus;
  if (delayMs !== undefined) plan.delayMs = delayMs;
  if (chunkDelayMs !== undefined) plan.chunkDelayMs = chunkDelayMs;
  return plan;
}

export function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/**
 * Writes `frames` (already formatted SSE text) with the plan's chunk delay; with `cut:` the
 * connection is dropped right after the first frame that carries text (`isText`).
 */
export async function writeFrames(
  exchange: Exchange,
  frames: { text: string; carriesText: boolean }[],
  plan: EchoPlan,
): Promise<void> {
  const { response, signal } = exchange;
  let textFrames = 0;
  for (const frame of frames) {
    if (plan.chunkDelayMs) await sleep(plan.chunkDelayMs, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    if (plan.cut && frame.carriesText && ++textFrames === 1) {
      await new Promise<void>((resolve) => response.write(frame.text, () => resolve()));
      exchange.markCut();
      response.destroy();
      return;
    }
    response.write(frame.text);
  }
  response.end();
}

export async function waitPlanDelay(plan: EchoPlan, signal: AbortSignal): Promise<void> {
  if (plan.delayMs) await sleep(plan.delayMs, undefined, { signal });
}
