/**
 * The `x-request-id` of every gateway answer (health, version and CORS preflights included), like
 * OpenAI's: the SDKs expose it (`_request_id`) for users to quote in reports.
 */
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import {
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';

const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID_BYTES = 16;
/** Random bytes for 256 request ids, refilled when used up (`randomUUID` keeps such a cache too). */
const requestIdBytes = Buffer.allocUnsafeSlow(REQUEST_ID_BYTES * 256);
let requestIdOffset = requestIdBytes.length;

/**
 * `req_` and 32 random hex digits (128 bits, as many as a UUID has and more random ones). Cut from a
 * pool of random bytes as hex in one native call: `randomUUID().replaceAll('-', '')` cost about
 * 0.5 µs a request, most of it formatting and then removing the dashes.
 */
export function newRequestId(): string {
  if (requestIdOffset === requestIdBytes.length) {
    randomFillSync(requestIdBytes);
    requestIdOffset = 0;
  }
  const start = requestIdOffset;
  requestIdOffset += REQUEST_ID_BYTES;
  return `req_${requestIdBytes.toString('hex', start, requestIdOffset)}`;
}

/**
 * The response class of the gateway's own server (`createServer({ ServerResponse })`): it carries
 * the answer's request id and sends it with the headers, whichever way they are written.
 *
 * Why not `setHeader` up front: node:http writes a `writeHead` header list as it is only when no
 * header was set before; otherwise it copies the list through `setHeader` (each name lower-cased and
 * stored, then lower-cased again when written). `sendJson` and the streams write one prebuilt list,
 * so on the hot path the id joins that list instead.
 */
export class GatewayResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  /** Set by the gateway's handler when the request arrives; sent with the first headers. */
  requestId: string | undefined;
  /** Whether any header was set before `writeHead` (node:http's slower path then applies anyway). */
  private headerSet: boolean | undefined;

  override setHeader(name: string, value: number | string | readonly string[]): this {
    this.headerSet = true;
    return super.setHeader(name, value);
  }

  override writeHead(
    statusCode: number,
    messageOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    const id = this.requestId;
    const message = typeof messageOrHeaders === 'string' ? messageOrHeaders : undefined;
    const given = typeof messageOrHeaders === 'string' ? headers : messageOrHeaders;
    if (id === undefined || this.headersSent) return super.writeHead(statusCode, message, given);
    // A list of [name, value] pairs (node:http's other array form) takes the general path too.
    if (this.headerSet || given === undefined || (Array.isArray(given) && Array.isArray(given[0]))) {
      this.setHeader(REQUEST_ID_HEADER, id);
      return super.writeHead(statusCode, message, given);
    }
    return super.writeHead(
      statusCode,
      message,
      Array.isArray(given) ? [REQUEST_ID_HEADER, id, ...given] : { [REQUEST_ID_HEADER]: id, ...given },
    );
  }
}

/** Gives an answer its request id: on the response object when it is ours, else as a header. */
export function setRequestId(response: ServerResponse): void {
  if (response instanceof GatewayResponse) response.requestId = newRequestId();
  else response.setHeader(REQUEST_ID_HEADER, newRequestId());
}

/** The answer's request id (for bodies that quote it, as Anthropic's errors do); '' if none. */
export function requestIdOf(response: ServerResponse): string {
  if (response instanceof GatewayResponse && response.requestId !== undefined) return response.requestId;
  return String(response.getHeader(REQUEST_ID_HEADER) ?? '');
}
