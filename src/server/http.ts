/**
 * Small node:http helpers of the gateway: read a bounded body, answer JSON, answer an error.
 *
 * The gateway serves on raw node:http rather than a fetch-style framework: the Request/Response
 * adaption costs more than the whole overhead budget (see docs/benchmarks.md).
 */
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toByzerLLMError } from '../core/index.js';
import { badField, gatewayRefusal, mapError } from './map-error.js';

/** Reads the whole body; refuses (413) past `limitBytes`, checking `content-length` first. */
export function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (declared > limitBytes) {
    // Discard what the client still sends, so it reads our 413 instead of a reset connection.
    request.resume();
    return Promise.reject(tooLarge(limitBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        request.removeAllListeners('data');
        request.resume();
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    });
    // `on`, not `once`: each fires at most once on a request, and `once` wraps every listener.
    request.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function tooLarge(limitBytes: number) {
  return gatewayRefusal('body_too_large', `the request body is larger than the limit of ${limitBytes} bytes`);
}

/**
 * Deepest nesting of arrays and objects a JSON body may have. `JSON.parse` accepts any depth, but
 * serialising or walking a value nested 100,000 deep overflows the stack further down (a 500 that a
 * client could provoke at will); no OpenAI request needs more than a few dozen levels.
 */
export const MAX_JSON_DEPTH = 128;

/** Parses a JSON object body; anything else is a 400 naming what was wrong. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
    throw badField(
      'body',
      `the request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep, the most allowed`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw badField('body', `the request body is not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badField('body', 'the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether the JSON text nests arrays and objects deeper than `limit`. One pass over the bytes that
 * jumps over strings with `indexOf` (native), so large bodies (base64 images) cost little; malformed
 * text is left for `JSON.parse` to report.
 */
function nestsDeeperThan(body: Buffer, limit: number): boolean {
  let depth = 0;
  for (let index = 0; index < body.length; index++) {
    const byte = body[index];
    if (byte === QUOTE) {
      let end = index;
      do {
        end = body.indexOf(QUOTE, end + 1);
        if (end === -1) return false;
      } while (escaped(body, end));
      index = end;
    } else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > limit) return true;
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** Whether the quote at `index` is escaped: preceded by an odd number of backslashes. */
function escaped(body: Buffer, index: number): boolean {
  let backslashes = 0;
  while (body[index - 1 - backslashes] === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}

/**
 * Answers `value` as JSON. `headers` are any beyond the type and length (an error's `retry-after`, a
 * route's deployment). One `writeHead` with a flat list: no header object is built per answer.
 */
export function sendJson(
  response: ServerResponse,
  status: number,
  value: unknown,
  headers?: Readonly<Record<string, string>>,
): void {
  const text = JSON.stringify(value);
  // One flat list, written as it is (node:http's fast header path; `setHeader` first would copy it
  // through its slower path), and no `{ ...headers, more keys }`, which costs 1.5–2 µs in Node 20.
  const head: (string | number)[] = [];
  if (headers !== undefined) {
    for (const name in headers) head.push(name, headers[name]!);
  }
  head.push('content-type', 'application/json', 'content-length', Buffer.byteLength(text));
  response.writeHead(status, head);
  response.end(text);
}

/** Answers any failure as an OpenAI error body; returns the status sent (0 when nothing could be). */
export function sendError(response: ServerResponse, error: unknown): number {
  const mapped = mapError(toByzerLLMError(error));
  if (response.headersSent || response.destroyed) {
    if (!response.writableEnded) response.destroy();
    return mapped.status;
  }
  sendJson(response, mapped.status, mapped.body, mapped.headers);
  return mapped.status;
}

/**
 * The value of `Authorization: Bearer <key>` (or `api-key`, as Azure clients send, or `x-api-key`,
 * as Anthropic clients send), if any.
 */
export function bearerKey(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const key = request.headers['api-key'] ?? request.headers['x-api-key'];
  return typeof key === 'string' ? key : undefined;
}

/**
 * `x-byzerllm-warnings`: what the engine did not honour (an ignored setting, a dropped image part)
 * as a JSON array of `{setting?, message}`, so OpenAI clients can see it (the SDKs expose response
 * headers). Non-ASCII is \u-escaped: header values are Latin-1. Absent when there is nothing to say.
 */
export function setWarningsHeader(
  response: ServerResponse,
  warnings: readonly { setting?: string; message: string }[],
): void {
  if (warnings.length === 0) return;
  const json = JSON.stringify(
    warnings.map((warning) =>
      warning.setting ? { setting: warning.setting, message: warning.message } : { message: warning.message },
    ),
  );
  response.setHeader(
    'x-byzerllm-warnings',
    json.replace(
      /[^\x20-\x7e]/g,
      (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
    ),
  );
}
