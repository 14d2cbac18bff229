/**
 * The client end of the head's stream channel (`stream-channel.ts`): `HeadClient.stream` opens its
 * streams over one upgraded connection instead of an HTTP request each.
 *
 * The lines a stream sends in one turn leave in one write (`TurnBatcher`); the head's answers are cut
 * at the newline byte, parsed once each and handed to their stream by id. A stream's parts queue in
 * its `PushIterator` until read: the channel is shared, so one stream's slow reader cannot pause the
 * connection without stalling the others. The socket keeps the process alive only while a stream is
 * open.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import {
  AbortedError,
  type ByzerLLMError,
  type ChatRequest,
  HeadUnreachableError,
  type StreamPart,
  toByzerLLMError,
} from '../../core/index.js';
import { PushIterator } from '../transport/push-iterator.js';
import { TurnBatcher } from '../transport/turn-batcher.js';
import { decodeError, decodeStreamPart, reviveBinary, type WireStreamPart } from '../wire/index.js';
import { type ChannelAnswer, STREAM_CHANNEL_PATH, STREAM_CHANNEL_PROTOCOL } from './stream-channel.js';

const NEWLINE = 0x0a;

export interface ChannelStreamOptions {
  name: string;
  request: ChatRequest;
  ticket?: string;
  /** Cancels the stream (the caller's signal, or the head found unreachable). */
  signal: AbortSignal;
  /** The error to report instead of an abort when the head was lost (`HeadClient`'s probe). */
  lost(): ByzerLLMError | undefined;
  /** Runs once when a started stream ends, fails, or its consumer stops early. */
  done(): void;
}

interface OpenStream {
  started: boolean;
  parts: PushIterator<StreamPart>;
  options: ChannelStreamOptions;
  resolve(parts: AsyncIterable<StreamPart>): void;
  reject(error: ByzerLLMError): void;
  onAbort(): void;
}

export class StreamChannelClient {
  private readonly streams = new Map<number, OpenStream>();
  private readonly outbox: TurnBatcher<string>;
  private nextId = 1;
  private pending: Buffer | undefined;

  /**
   * Upgrades a new connection to `address` to the head's stream channel. Resolves `undefined` when
   * the head offers none (404: an admin API served without it, or an older head), so that the
   * caller streams over the HTTP route instead; rejects when the head refused it otherwise or could
   * not be reached.
   */
  static connect(
    address: string,
    token: string,
    onClose: () => void,
  ): Promise<StreamChannelClient | undefined> {
    return new Promise((resolve, reject) => {
      const request = http.request(`${address}${STREAM_CHANNEL_PATH}`, {
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          connection: 'Upgrade',
          upgrade: STREAM_CHANNEL_PROTOCOL,
        },
      });
      request.once('upgrade', (_response, socket, head) => {
        const channel = new StreamChannelClient(socket, onClose);
        if (head.length > 0) channel.receive(head);
        resolve(channel);
      });
      request.once('response', (response) => {
        response.resume();
        if (response.statusCode === 404) resolve(undefined);
        else
          reject(new Error(`the head answered HTTP ${response.statusCode} to the stream channel's upgrade`));
      });
      request.once('error', reject);
      request.end();
    });
  }

  private constructor(
    private readonly socket: Duplex & { ref(): unknown; unref(): unknown },
    onClose: () => void,
  ) {
    this.outbox = new TurnBatcher((lines) => {
      if (!socket.destroyed) socket.write(lines.join(''));
    });
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => socket.destroy());
    socket.once('end', () => socket.destroy());
    socket.once('close', () => {
      onClose();
      this.failAll(() => new HeadUnreachableError('the connection to the byzerllm head closed'));
    });
  }

  /** Opens a stream; resolves once the head started it, rejects with the error it failed with. */
  open(options: ChannelStreamOptions): Promise<AsyncIterable<StreamPart>> {
    if (this.socket.destroyed) {
      return Promise.reject(new HeadUnreachableError('the connection to the byzerllm head closed'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const parts = new PushIterator<StreamPart>(() => {
        // The consumer stopped early: stop generating in the head.
        if (this.close(id)) this.post({ type: 'abort', id });
      });
      const open: OpenStream = {
        started: false,
        parts,
        options,
        resolve,
        reject,
        onAbort: () => {
          if (this.streams.has(id)) this.post({ type: 'abort', id });
          this.fail(id, options.lost() ?? new AbortedError());
        },
      };
      this.streams.set(id, open);
      if (this.streams.size === 1) this.socket.ref();
      options.signal.addEventListener('abort', open.onAbort, { once: true });
      const { name, request, ticket } = options;
      this.post({ type: 'stream', id, name, request, ...(ticket === undefined ? {} : { ticket }) });
    });
  }

  /** Closes the connection: open streams fail as if the head went away. */
  destroy(): void {
    this.socket.destroy();
  }

  private post(message: object): void {
    this.outbox.push(`${JSON.stringify(message)}\n`);
  }

  private receive(chunk: Buffer): void {
    const bytes = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let start = 0;
    for (let newline = bytes.indexOf(NEWLINE); newline >= 0; newline = bytes.indexOf(NEWLINE, start)) {
      if (newline > start && !this.line(bytes.toString('utf8', start, newline))) return;
      start = newline + 1;
    }
    if (start < bytes.length) this.pending = bytes.subarray(start);
  }

  /** Handles one line of the head; false when it was not JSON (the channel is closed then). */
  private line(text: string): boolean {
    let answer: ChannelAnswer;
    try {
      answer = JSON.parse(text) as ChannelAnswer;
    } catch (error) {
      this.failAll((open) => open.options.lost() ?? toByzerLLMError(error));
      this.socket.destroy();
      return false;
    }
    const open = this.streams.get(answer.id);
    if (!open) return true;
    if (answer.type === 'started') {
      open.started = true;
      open.resolve(open.parts);
    } else if (answer.type === 'part') {
      const part = decodeStreamPart(reviveBinary(answer.part) as WireStreamPart);
      open.parts.push(part);
      if (part.type === 'finish' || part.type === 'error') {
        open.parts.end();
        this.close(answer.id);
      }
    } else if (answer.type === 'failed') this.fail(answer.id, decodeError(answer.error));
    return true;
  }

  /** Ends stream `id` with `error`: an error part once started, else its opening rejects. */
  private fail(id: number, error: ByzerLLMError): void {
    const open = this.streams.get(id);
    if (!open) return;
    if (open.started) {
      open.parts.push({ type: 'error', error });
      open.parts.end();
    } else open.reject(error);
    this.close(id);
  }

  private failAll(errorOf: (open: OpenStream) => ByzerLLMError): void {
    for (const [id, open] of [...this.streams]) this.fail(id, errorOf(open));
  }

  /** Forgets stream `id`; false when it was already closed. */
  private close(id: number): boolean {
    const open = this.streams.get(id);
    if (!open) return false;
    this.streams.delete(id);
    open.options.signal.removeEventListener('abort', open.onAbort);
    if (open.started) open.options.done();
    if (this.streams.size === 0) this.socket.unref();
    return true;
  }
}

/** `promise`, or an `AbortedError` once `signal` aborts first (the promise is left to settle alone). */
export function untilAborted<Value>(promise: Promise<Value>, signal: AbortSignal): Promise<Value> {
  if (signal.aborted) return Promise.reject(new AbortedError());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new AbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
