/**
 * What every provider stand-in (Anthropic, Gemini, Bedrock) shares: a real HTTP/1.1 server on
 * 127.0.0.1 that records requests, counts in-flight requests and requests the client abandoned,
 * and lets tests wait on those counters instead of sleeping. Each stand-in supplies the handler
 * that speaks its provider's protocol; the message knobs are those of `openai-upstream-answers.ts`.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { startProtocolServer } from './protocol-server.js';

export { sendJson } from './protocol-server.js';

export interface StandInRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The query parameters. */
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The raw body (signatures are computed over it). */
  rawBody: Buffer;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
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

/** The stand-in interface over the shared protocol server (`protocol-server.ts`). */
export async function startStandInServer(handler: StandInHandler): Promise<StandInServer> {
  const server = await startProtocolServer(({ request, response, signal, markCut }) =>
    handler(request, response, {
      signal,
      cutByServer: (dropped) => {
        if (dropped === response) markCut();
      },
    }),
  );
  return {
    origin: server.url,
    port: server.port,
    requests: server.requests,
    abortedCount: server.abortedCount,
    waitUntil: server.waitUntil,
    close: server.close,
  };
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
