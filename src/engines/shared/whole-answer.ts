/**
 * One HTTP request whose answer is read whole (a JSON answer), dispatched on an undici `Dispatcher`
 * with a handler of its own: what `HttpClient.postJson` sends each attempt with.
 *
 * Why not `Pool.request` and `body.text()`, as streams use: per request those build an
 * `AsyncResource`, a `Readable` for the body with its stream state and consumer, a listener on the
 * signal, and a promise for the headers and another for the text. An answer of a few hundred bytes
 * read whole needs none of them: the handler keeps the body's buffers and settles one promise when
 * the answer ended. The gateway pays this on every pass-through request (issue 11).
 *
 * The handler uses undici's legacy handler methods (`onConnect` … `onComplete`), which undici runs
 * as they are; a handler with the newer `onRequestStart` … methods gets an adapter object per
 * request (`UnwrapHandler`).
 *
 * Contract: resolves once a 2xx answer ended, with the status, the raw headers and the body as text
 * (a UTF-8 byte order mark dropped, as undici's `text()` does); any other status, read whole too,
 * rejects with `UnsuccessfulAnswer` (so no hop checks the status of every answer). Rejects with
 * what undici reported (socket errors, its timeouts, the deadline's abort reason) — wrapped in
 * `AnswerCutError` when it came after the headers, while the body was read. The deadline's abort
 * (the caller's signal or `saas.deadline`) reaches the request through `onUpstreamAbort`, and the
 * request's abort is unregistered once it settled.
 */
import { type Dispatcher, util } from 'undici';
import type { JsonResponse } from './http-client-options.js';
import type { RequestDeadline } from './request-deadline.js';
import type { ResponseHeaders } from './retry-policy.js';

export interface WholeAnswer {
  statusCode: number;
  /** Name, value, name, value… as undici hands them over (parsed only by whoever needs them). */
  rawHeaders: Buffer[];
  text: string;
}

/** A failure after the headers arrived: the connection broke while the body was read. */
export class AnswerCutError extends Error {
  constructor(readonly failure: unknown) {
    super('the answer was cut while its body was read', { cause: failure });
    this.name = 'AnswerCutError';
  }
}

/** A non-2xx answer, read whole: the HTTP client maps it with the provider's error mapper. */
export class UnsuccessfulAnswer extends Error {
  constructor(readonly answer: WholeAnswer) {
    super(`the upstream answered HTTP ${answer.statusCode}`);
    this.name = 'UnsuccessfulAnswer';
  }
}

/** Dispatches `request` and reads its answer whole (see the file's contract). */
export function readWholeAnswer(
  dispatcher: Dispatcher,
  request: Dispatcher.DispatchOptions,
  deadline: RequestDeadline,
): Promise<WholeAnswer> {
  return new Promise<WholeAnswer>((resolve, reject) => {
    dispatcher.dispatch(request, new WholeAnswerHandler(deadline, resolve, reject));
  });
}

const BYTE_ORDER_MARK = 0xfeff;

class WholeAnswerHandler implements Dispatcher.DispatchHandler {
  private statusCode = 0;
  private rawHeaders: Buffer[] = [];
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly deadline: RequestDeadline,
    private readonly resolve: (answer: WholeAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  onConnect(abort: (error?: Error) => void): void {
    // Called at once when the deadline already ended: undici then fails the request with its reason.
    this.deadline.onUpstreamAbort(abort as (reason: unknown) => void);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.deadline.onUpstreamAbort(undefined);
    const { chunks } = this;
    let text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    if (text.charCodeAt(0) === BYTE_ORDER_MARK) text = text.slice(1);
    const answer = { statusCode: this.statusCode, rawHeaders: this.rawHeaders, text };
    if (answer.statusCode >= 200 && answer.statusCode < 300) this.resolve(answer);
    else this.reject(new UnsuccessfulAnswer(answer));
  }

  onError(error: Error): void {
    this.deadline.onUpstreamAbort(undefined);
    this.reject(this.statusCode === 0 ? error : new AnswerCutError(error));
  }
}

/** `postJson`'s answer: the headers are parsed only when read (the pass-through never reads them). */
export class ParsedJsonResponse implements JsonResponse {
  private parsedHeaders: ResponseHeaders | undefined;

  constructor(
    private readonly rawHeaders: Buffer[],
    readonly body: unknown,
  ) {}

  get headers(): ResponseHeaders {
    this.parsedHeaders ??= util.parseHeaders(this.rawHeaders) as ResponseHeaders;
    return this.parsedHeaders;
  }
}
