/**
 * The head's stream channel: the CLI client's chat streams, many at once over one connection.
 *
 * On the admin API every stream is an HTTP request of its own, and on a fast local model its costs
 * are mostly per request and per socket write rather than per token: HTTP parsing and routing at
 * both ends, one write per stream per event-loop turn in the head and one read per write in the
 * client (measured on the tiny GGUF at c=8: ~0.7 ms of head CPU and ~0.7 ms of client CPU per
 * request, ~0.1 ms per part; `bench/local-engine/cpu.ts`). Here a client upgrades one connection
 * (`GET /admin/v1/stream-channel`, `Upgrade: byzerllm-stream`, the admin bearer token) and then
 * both ends exchange NDJSON lines on it: the parts that concurrent streams produce in one turn (one
 * llama.cpp batch) leave in one write and arrive in one read, and a new stream is one line.
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
 * Closing the connection cancels every stream on it. The head writes the lines of one turn in one
 * write, and a stream waits while the socket's buffer is full (a client that stops reading holds
 * its streams, it does not grow the head's memory).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
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
export const STREAM_CHANNEL_PROTOCOL = 'byzerllm-stream';
/** A line longer than this closes the channel (the admin API's body limit). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
const NEWLINE = 0x0a;

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

/** Answers upgrades to the stream channel on `server`; any other upgrade is refused (404). */
export function attachStreamChannel(server: Server, options: StreamChannelOptions): void {
  const expected = Buffer.from(`Bearer ${options.token}`);
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = request.url?.split('?')[0];
    const protocol = request.headers.upgrade?.toLowerCase();
    if (path !== STREAM_CHANNEL_PATH || protocol !== STREAM_CHANNEL_PROTOCOL) {
      return void socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return void socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: ${STREAM_CHANNEL_PROTOCOL}\r\nconnection: Upgrade\r\n\r\n`,
    );
    new HeadChannel(socket, options).start(head);
  });
}

/** One client's connection: its open streams, and the lines waiting for the end of the turn. */
class HeadChannel {
  private readonly open = new Map<number, AbortController>();
  private readonly outbox: TurnBatcher<string>;
  private pending: Buffer | undefined;
  /** Set while the socket's buffer is full: streams wait for it before sending more. */
  private drained: Promise<void> | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly options: StreamChannelOptions,
  ) {
    this.outbox = new TurnBatcher((lines) => {
      if (this.socket.destroyed || this.drained) return void this.socket.write(lines.join(''));
      if (!this.socket.write(lines.join(''))) {
        this.drained = new Promise((resolve) =>
          this.socket.once('drain', () => {
            this.drained = undefined;
            resolve();
          }),
        );
      }
    });
  }

  start(head: Buffer): void {
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', () => this.socket.destroy());
    // node:http leaves upgraded sockets half-open: the client's end is the channel's.
    this.socket.once('end', () => this.socket.destroy());
    this.socket.once('close', () => {
      for (const abort of this.open.values()) abort.abort(new AbortedError('the stream channel closed'));
      this.open.clear();
      this.outbox.flush();
    });
    if (head.length > 0) this.receive(head);
  }

  private send(answer: ChannelAnswer): void {
    if (!this.socket.destroyed) this.outbox.push(`${JSON.stringify(answer)}\n`);
  }

  private receive(chunk: Buffer): void {
    const bytes = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let start = 0;
    for (let newline = bytes.indexOf(NEWLINE); newline >= 0; newline = bytes.indexOf(NEWLINE, start)) {
      if (newline > start) this.line(bytes.toString('utf8', start, newline));
      start = newline + 1;
    }
    if (start < bytes.length) this.pending = bytes.subarray(start);
    if ((this.pending?.length ?? 0) > MAX_LINE_BYTES) {
      this.options.log?.(`stream channel: a line over ${MAX_LINE_BYTES} bytes; closing the channel`);
      this.socket.destroy();
    }
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
