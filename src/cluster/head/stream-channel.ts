/**
 * The head's stream channel: the CLI client's chat streams, many at once over one WebSocket.
 *
 * On the admin API every stream is an HTTP request of its own, and on a fast local model its costs
 * are mostly per request and per socket write rather than per token: HTTP parsing and routing at
 * both ends, one write per stream per event-loop turn in the head and one read per write in the
 * client (measured on the tiny GGUF at c=8: ~0.7 ms of head CPU and ~0.7 ms of client CPU per
 * request, ~0.1 ms per part; `bench/local-engine/cpu.ts`). Here a client opens one WebSocket
 * (RFC 6455, the `ws` library; `GET /admin/v1/stream-channel` with the admin bearer token, checked
 * before the upgrade) and both ends exchange JSON lines on it. Each WebSocket message carries the
 * lines of one event-loop turn, newline-separated: the parts that concurrent streams produce in one
 * turn (one llama.cpp batch) leave in one message and arrive in one read, and a new stream is one
 * line. permessage-deflate is off at both ends: it costs CPU on loopback and saves nothing there.
 *
 * Client → head, one JSON object per line (each parsed with `channelRequestSchema`):
 * - `{"type":"stream","id":N,"name":…,"request":ChatRequest,"ticket"?:…}` opens stream N (ids are
 *   the client's, unique among its open streams);
 * - `{"type":"abort","id":N}` cancels it (the client stopped reading or its signal fired).
 *
 * Head → client:
 * - `{"id":N,"type":"started"}` once the deployment accepted the stream (the HTTP route's 200);
 * - `{"id":N,"type":"part","part":WirePart}` per part, in order, the last one `finish` or `error`;
 * - `{"id":N,"type":"failed","error":SerializedError}` when it failed before starting (the HTTP
 *   route's error status), or a line of the client was invalid (`invalid_argument`).
 *
 * Closing the WebSocket cancels every stream on it. A stream waits while the socket's buffer is
 * full (a client that stops reading holds its streams, it does not grow the head's memory). A
 * message over the admin API's body limit closes the channel (`ws` answers it with close code 1009).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { AbortedError, InvalidArgumentError, type StreamPart, toByzerLLMError } from '../../core/index.js';
import { type ClusterApi, ticketOf } from '../cluster-api.js';
import { TurnBatcher } from '../transport/turn-batcher.js';
import {
  chatRequestSchema,
  describeIssue,
  encodeBinary,
  encodeError,
  encodeStreamPart,
  ticketSchema,
} from '../wire/index.js';

export const STREAM_CHANNEL_PATH = '/admin/v1/stream-channel';
/** A message longer than this closes the channel (the admin API's body limit). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const streamId = z.number().int().nonnegative();
const channelRequestSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('stream'),
    id: streamId,
    name: z.string().min(1),
    request: chatRequestSchema,
    ticket: ticketSchema.optional(),
  }),
  z.object({ type: z.literal('abort'), id: streamId }),
]);
type ChannelRequest = z.output<typeof channelRequestSchema>;

/** What the head sends on a channel (see the module comment). */
export type ChannelAnswer =
  | { id: number; type: 'started' }
  | { id: number; type: 'part'; part: unknown }
  | { id: number; type: 'failed'; error: ReturnType<typeof encodeError> };

export interface StreamChannelOptions {
  cluster: Pick<ClusterApi, 'stream'>;
  /** The admin token: the upgrade request carries `authorization: Bearer <token>`. */
  token: string;
  log?: (line: string) => void;
}

/**
 * Answers WebSocket upgrades to the stream channel on `server`; any other upgrade is refused (404,
 * which the client takes as "no channel here" and streams over the HTTP route instead).
 */
export function attachStreamChannel(server: Server, options: StreamChannelOptions): void {
  const expected = Buffer.from(`Bearer ${options.token}`);
  const webSockets = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = request.url?.split('?')[0];
    if (path !== STREAM_CHANNEL_PATH || request.headers.upgrade?.toLowerCase() !== 'websocket') {
      return void socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
    // Checked before the upgrade, so that a stranger never gets a WebSocket at all.
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return void socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
    webSockets.handleUpgrade(request, socket, head, (webSocket) => {
      new HeadChannel(webSocket, socket, options).start();
    });
  });
}

/**
 * Calls `handle` with each non-empty line of one message (the lines one end sent in one turn),
 * stopping early when it answers false.
 */
export function eachLine(text: string, handle: (line: string) => unknown): void {
  let start = 0;
  for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
    if (newline > start && handle(text.slice(start, newline)) === false) return;
    start = newline + 1;
  }
  if (start < text.length) handle(text.slice(start));
}

/** One client's WebSocket: its open streams, and the lines waiting for the end of the turn. */
class HeadChannel {
  private readonly open = new Map<number, AbortController>();
  private readonly outbox: TurnBatcher<string>;
  /** Set while the socket's buffer is full: streams wait for it before sending more. */
  private drained: Promise<void> | undefined;

  /** `socket` is the one under `webSocket`: `ws` has no drain event of its own, the socket does. */
  constructor(
    private readonly webSocket: WebSocket,
    private readonly socket: Duplex,
    private readonly options: StreamChannelOptions,
  ) {
    this.outbox = new TurnBatcher((lines) => {
      if (this.webSocket.readyState !== this.webSocket.OPEN) return;
      this.webSocket.send(lines.join('\n'));
      if (!this.drained && this.socket.writableNeedDrain) {
        this.drained = new Promise((resolve) => {
          const done = () => {
            this.socket.off('drain', done).off('close', done);
            this.drained = undefined;
            resolve();
          };
          this.socket.on('drain', done).on('close', done);
        });
      }
    });
  }

  start(): void {
    // The default binaryType ('nodebuffer'): a message is one Buffer, fragments joined.
    this.webSocket.on('message', (data) => {
      eachLine((data as Buffer).toString('utf8'), (line) => this.line(line));
    });
    this.webSocket.on('error', (error) => {
      // `ws` closes the WebSocket after an error (a message over the limit, say); 'close' follows.
      this.options.log?.(`stream channel: ${error.message}; closing the channel`);
    });
    this.webSocket.once('close', () => {
      for (const abort of this.open.values()) abort.abort(new AbortedError('the stream channel closed'));
      this.open.clear();
    });
  }

  private send(answer: ChannelAnswer): void {
    if (this.webSocket.readyState === this.webSocket.OPEN) this.outbox.push(JSON.stringify(answer));
  }

  private line(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.refuse(undefined, 'a line that is not JSON');
      return;
    }
    const parsed = channelRequestSchema.safeParse(value);
    if (!parsed.success) {
      const id = streamId.safeParse((value as { id?: unknown } | null)?.id);
      this.refuse(id.success ? id.data : undefined, describeIssue(parsed.error));
      return;
    }
    const message = parsed.data;
    if (message.type === 'abort') this.open.get(message.id)?.abort(new AbortedError());
    else if (this.open.has(message.id)) this.refuse(message.id, `stream ${message.id} is already open`);
    else void this.run(message);
  }

  /** An invalid line: its stream (when it names one) fails as the HTTP route's 400 would. */
  private refuse(id: number | undefined, problem: string): void {
    this.options.log?.(`stream channel: refused ${problem}`);
    if (id === undefined || this.open.has(id)) return;
    const error = new InvalidArgumentError(`invalid stream body: ${problem}`);
    this.send({ id, type: 'failed', error: encodeError(error) });
  }

  private async run(message: Extract<ChannelRequest, { type: 'stream' }>): Promise<void> {
    const { id } = message;
    const abort = new AbortController();
    this.open.set(id, abort);
    let started = false;
    try {
      const parts = await this.options.cluster.stream(message.name, message.request as never, {
        signal: abort.signal,
        ...ticketOf(message),
      });
      started = true;
      this.send({ id, type: 'started' });
      for await (const part of parts) {
        this.sendPart(id, part);
        if (this.drained) await this.drained;
        if (abort.signal.aborted) break;
      }
    } catch (error) {
      // A stream ends with an error part rather than throwing; one that throws anyway ends with one.
      if (started) this.sendPart(id, { type: 'error', error: toByzerLLMError(error) });
      else this.send({ id, type: 'failed', error: encodeError(error) });
    } finally {
      this.open.delete(id);
    }
  }

  private sendPart(id: number, part: StreamPart): void {
    this.send({ id, type: 'part', part: encodeBinary(encodeStreamPart(part)) });
  }
}
