/**
 * A local stand-in for iFlytek Spark's WebSocket chat API (`ws://127.0.0.1:PORT/v3.1/chat`, any
 * `/vX.Y/chat` path), as documented:
 *
 * - The upgrade URL must carry `authorization`, `date` and `host`; the server recomputes the
 *   HMAC-SHA256 signature of `host: …\ndate: …\nGET {path} HTTP/1.1` with the api secret, checks
 *   the api key, `algorithm="hmac-sha256"`, `headers="host date request-line"`, that `host` is the
 *   Host the client connected to, and that the date is within 5 minutes. Failures answer HTTP 401
 *   `{"message":"HMAC signature does not match"}` (403 for a stale date) instead of upgrading.
 * - The first frame must be `{header: {app_id}, parameter: {chat: {domain}}, payload: {message:
 *   {text: [{role, content}]}}}` with the app id and the domain the path's version serves.
 * - Answers: frames `{header: {code: 0, message: "Success", sid, status}, payload: {choices:
 *   {status, seq, text: [{content, role: "assistant", index: 0}]}}}`, one per word, the last with
 *   `status: 2` and `payload.usage.text`. Errors: one frame with a non-zero `header.code`, then close:
 *   10163 for a bad frame, 11200 for a wrong app id, and for the `fail:` knob 401 → 11200,
 *   429 → 11202, 500 → 10110, 400 → 10163.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer } from 'ws';
import { countWords, planEcho, type ProtocolServer, startProtocolServer } from './protocol-server.js';

export interface SparkUpstream extends ProtocolServer {
  /** `ws://127.0.0.1:PORT/v3.1/chat`. */
  gptUrl: string;
  /** The first frame of every connection, in order. */
  frames: Record<string, unknown>[];
  /** Connections open right now, and the most open at once. */
  openSockets(): number;
  peakSockets(): number;
}

/** The request frame fields the stand-in checks (everything optional: clients may send anything). */
interface SparkRequestFrame {
  header?: { app_id?: unknown };
  parameter?: { chat?: { domain?: unknown } };
  payload?: { message?: { text?: { role?: unknown; content?: unknown }[] } };
}

const DOMAINS: Record<string, string> = {
  'v1.1': 'general',
  'v2.1': 'generalv2',
  'v3.1': 'generalv3',
  'v3.5': 'generalv3.5',
};
const KNOB_CODES: Record<number, [number, string]> = {
  400: [10163, 'request parameter error'],
  401: [11200, 'AppIdNoAuthError: authorization error'],
  429: [11202, 'authorization error: qps limit exceeded'],
  500: [10110, 'service busy, please try again later'],
};

export async function startSparkUpstream(
  appId: string,
  apiKey: string,
  apiSecret: string,
): Promise<SparkUpstream> {
  const server = await startProtocolServer(async ({ response }) => {
    response.writeHead(426).end('Upgrade Required');
  });
  const frames: Record<string, unknown>[] = [];
  let open = 0;
  let peak = 0;
  let sequence = 0;
  const sockets = new WebSocketServer({ noServer: true });

  server.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const rejection = checkSignature(request, apiKey, apiSecret);
    if (rejection) {
      const body = JSON.stringify({ message: rejection.message });
      socket.end(
        `HTTP/1.1 ${rejection.status} Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    const version =
      /^\/(v\d+\.\d+)\/chat$/.exec(new URL(request.url ?? '/', 'http://localhost').pathname)?.[1] ?? '';
    sockets.handleUpgrade(request, socket, head, (ws) => {
      open++;
      peak = Math.max(peak, open);
      server.notify();
      let done = false;
      const controller = new AbortController();
      ws.on('close', () => {
        open--;
        controller.abort();
        if (!done) server.countAbort();
        server.notify();
      });
      const sid = `cht000b${++sequence}@dx`;
      const fail = (code: number, message: string) => {
        done = true;
        ws.send(JSON.stringify({ header: { code, message, sid, status: 2 } }));
        ws.close(1000);
      };
      ws.once('message', async (data) => {
        let frame: SparkRequestFrame;
        try {
          frame = JSON.parse(String(data));
        } catch {
          return fail(10163, 'invalid json');
        }
        frames.push(frame as Record<string, unknown>);
        if (frame.header?.app_id !== appId) return fail(11200, 'AppIdNoAuthError');
        if (frame.parameter?.chat?.domain !== DOMAINS[version])
          return fail(10163, `domain invalid for ${version}`);
        const text = frame.payload?.message?.text;
        if (
          !Array.isArray(text) ||
          text.some((item) => typeof item?.content !== 'string' || typeof item?.role !== 'string')
        ) {
          return fail(10163, 'payload.message.text must be a list of {role, content}');
        }
        const userText = String([...text].reverse().find((item) => item.role === 'user')?.content ?? '');
        const plan = planEcho(userText);
        if (plan.delayMs) await sleep(plan.delayMs);
        if (plan.failStatus) {
          const [code, message] = KNOB_CODES[plan.failStatus] ?? [10110, 'service busy'];
          return fail(code, message);
        }
        const promptTokens = text.reduce((sum, item) => sum + countWords(String(item.content)), 0);
        for (const [index, delta] of plan.deltas.entries()) {
          if (plan.chunkDelayMs)
            await sleep(plan.chunkDelayMs, undefined, { signal: controller.signal }).catch(() => undefined);
          if (controller.signal.aborted) return;
          const last = index === plan.deltas.length - 1;
          const status = last ? 2 : index === 0 ? 0 : 1;
          const answer: Record<string, unknown> = {
            header: { code: 0, message: 'Success', sid, status },
            payload: {
              choices: { status, seq: index, text: [{ content: delta, role: 'assistant', index: 0 }] },
              ...(last
                ? {
                    usage: {
                      text: {
                        question_tokens: countWords(userText),
                        prompt_tokens: promptTokens,
                        completion_tokens: plan.outputTokens,
                        total_tokens: promptTokens + plan.outputTokens,
                      },
                    },
                  }
                : {}),
            },
          };
          if (last) done = true;
          ws.send(JSON.stringify(answer));
          if (plan.cut && index === 0) {
            done = true;
            ws.terminate();
            return;
          }
        }
        ws.close(1000);
      });
    });
  });

  const close = server.close.bind(server);
  return Object.assign(server, {
    gptUrl: `ws://127.0.0.1:${server.port}/v3.1/chat`,
    frames,
    openSockets: () => open,
    peakSockets: () => peak,
    async close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await close();
    },
  });
}

function checkSignature(
  request: IncomingMessage,
  apiKey: string,
  apiSecret: string,
): { status: number; message: string } | undefined {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const authorization = url.searchParams.get('authorization');
  const date = url.searchParams.get('date');
  const host = url.searchParams.get('host');
  if (!authorization || !date || !host) return { status: 401, message: 'HMAC signature cannot be verified' };
  if (host !== request.headers.host) return { status: 401, message: 'HMAC signature does not match' };
  const age = Math.abs(Date.now() - Date.parse(date));
  if (!Number.isFinite(age) || age > 300_000) {
    return {
      status: 403,
      message: 'HMAC signature cannot be verified, a valid date or x-date header is required',
    };
  }
  const decoded = Buffer.from(authorization, 'base64').toString();
  const fields = Object.fromEntries(
    [...decoded.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1], match[2]]),
  );
  if (fields.api_key !== apiKey) return { status: 401, message: 'HMAC signature does not match' };
  if (fields.algorithm !== 'hmac-sha256' || fields.headers !== 'host date request-line') {
    return { status: 401, message: 'HMAC signature does not match' };
  }
  const expected = createHmac('sha256', apiSecret)
    .update(`host: ${host}\ndate: ${date}\nGET ${url.pathname} HTTP/1.1`)
    .digest();
  const given = Buffer.from(fields.signature ?? '', 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { status: 401, message: 'HMAC signature does not match' };
  }
  return undefined;
}
