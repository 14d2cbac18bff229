/**
 * The client end of the head's stream channel (`stream-channel.ts`): `HeadClient.stream` opens its
 * streams over one WebSocket (`ws`) instead of an HTTP request each.
 *
 * The lines a stream sends in one turn leave in one WebSocket message (`TurnBatcher`); the head's
 * messages are cut at the newline, each line parsed once and handed to its stream by id. A stream's
 * parts queue in its `PushIterator` until read: the channel is shared, so one stream's slow reader
 * cannot pause the connection without stalling the others. The socket keeps the process alive only
 * while a stream is open.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
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
import { type ChannelAnswer, eachLine, STREAM_CHANNEL_PATH } from './stream-channel.js';

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

  /**
   * Opens a WebSocket to the head's stream channel at `address`. Resolves `undefined` when the head
   * offers none (404: an admin API served without it, or an older head), so that the caller streams
   * over the HTTP route instead; rejects when the head refused it otherwise or could not be reached.
   */
  static connect(
    address: string,
    token: string,
    onClose: () => void,
  ): Promise<StreamChannelClient | undefined> {
    return new Promise((resolve, reject) => {
      const webSocket = new WebSocket(`${address.replace(/^http/, 'ws')}${STREAM_CHANNEL_PATH}`, {
        headers: { authorization: `Bearer ${token}` },
        perMessageDeflate: false,
      });
      let socket: Socket | undefined;
      // `ws` keeps its socket private; the upgrade's response carries it (for ref/unref).
      webSocket.once('upgrade', (response) => {
        socket = response.socket as Socket;
      });
      webSocket.once('open', () => resolve(new StreamChannelClient(webSocket, socket!, onClose)));
      webSocket.once('unexpected-response', (_request, response) => {
        response.resume();
        webSocket.terminate();
        if (response.statusCode === 404) resolve(undefined);
        else
          reject(new Error(`the head answered HTTP ${response.statusCode} to the stream channel's upgrade`));
      });
      // After an unexpected response or a failure to connect; once open, the channel listens itself.
      webSocket.once('error', reject);
    });
  }

  private constructor(
    private readonly webSocket: WebSocket,
    private readonly socket: Socket,
    onClose: () => void,
  ) {
    this.outbox = new TurnBatcher((lines) => {
      if (webSocket.readyState === webSocket.OPEN) webSocket.send(lines.join('\n'));
    });
    socket.unref();
    // The default binaryType ('nodebuffer'): a message is one Buffer, fragments joined.
    webSocket.on('message', (data) => {
      eachLine((data as Buffer).toString('utf8'), (line) => this.line(line));
    });
    // A failed connection: 'close' follows and fails the open streams.
    webSocket.on('error', () => webSocket.terminate());
    webSocket.once('close', () => {
      onClose();
      this.failAll(() => new HeadUnreachableError('the connection to the byzerllm head closed'));
    });
  }

  /** Opens a stream; resolves once the head started it, rejects with the error it failed with. */
  open(options: ChannelStreamOptions): Promise<AsyncIterable<StreamPart>> {
    if (this.webSocket.readyState !== this.webSocket.OPEN) {
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
    this.webSocket.terminate();
  }

  private post(message: object): void {
    this.outbox.push(JSON.stringify(message));
  }

  /** Handles one line of the head; false when it was not JSON (the channel is closed then). */
  private line(text: string): boolean {
    let answer: ChannelAnswer;
    try {
      answer = JSON.parse(text) as ChannelAnswer;
    } catch (error) {
      this.failAll((open) => open.options.lost() ?? toByzerLLMError(error));
      this.webSocket.terminate();
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
