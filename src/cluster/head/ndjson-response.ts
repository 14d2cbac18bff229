/**
 * Writes a stream of parts as NDJSON straight onto the node:http response under the admin API.
 *
 * Through hono's `stream()` helper every line crossed a web `TransformStream` and `ReadableStream`
 * and @hono/node-server flushed the headers on their own: measured on a tiny llama model, the head
 * spent about twice the gateway's CPU per streamed token on the CLI path, most of it in per-line
 * stream machinery and one socket write per line. Here the headers leave with the first line, lines
 * written in the same turn leave in one write (node:http corks a response until the next tick), and
 * the last line ends the response in that same write.
 */
import type { ServerResponse } from 'node:http';
import type { StreamPart } from '../../core/index.js';

export const NDJSON_HEADERS = { 'content-type': 'application/x-ndjson' } as const;

/**
 * Writes every part as one line and ends the response after the `finish` or `error` part (or when
 * the parts run out). `abort` is aborted when the client goes away first, which cancels the call.
 * Never rejects: the status is sent with the first line.
 */
export async function writeNdjson(options: {
  parts: AsyncIterable<StreamPart>;
  response: ServerResponse;
  abort: AbortController;
  encode: (part: StreamPart) => unknown;
}): Promise<void> {
  const { parts, response, abort } = options;
  response.on('close', () => {
    if (!response.writableFinished) abort.abort();
  });
  response.writeHead(200, NDJSON_HEADERS);
  try {
    for await (const part of parts) {
      const line = `${JSON.stringify(options.encode(part))}\n`;
      if (part.type === 'finish' || part.type === 'error') return void response.end(line);
      if (!response.write(line)) await drained(response);
      if (abort.signal.aborted) break;
    }
  } catch {
    // A stream ends with an error part rather than throwing; one that throws anyway is cut short,
    // which the client reports as a stream without its end.
  }
  response.end();
}

/**
 * Waits until a slow client has taken what is buffered (or left), so a fast engine cannot pile its
 * whole answer up in memory. Only reached when `write` says the buffer is full.
 */
export function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
