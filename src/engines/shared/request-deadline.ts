/**
 * The total time one upstream request may take across all its attempts and backoffs
 * (`saas.deadline`). Without it, an idle timeout per attempt times the retries could hold a request
 * for half an hour (600 s × 3 attempts + backoff).
 *
 * Contract: the deadline is aborted when the caller's signal is or when the deadline passes; both
 * `signal` (a real `AbortSignal`, for SDKs, sockets and backoff sleeps) and `upstreamSignal` (for
 * undici) carry that abort and its reason. `expired` tells the two causes apart, so the caller
 * reports a `TimeoutError` (not retryable: the budget is spent) rather than an abort. `clear()`
 * stops the clock — a stream that started is governed by the idle timeout from then on, so long
 * answers that keep producing are not cut.
 *
 * Why it is built this way: a gateway creates one deadline per upstream request, and in Node 20 an
 * `AbortController` costs ~3 µs to create and collect, a timer ~0.4 µs to arm and clear. So the
 * `AbortController` is created only when someone asks for `signal` (undici is handed the cheap
 * `upstreamSignal` emitter for streams, itself made on first use, and a JSON request registers its
 * attempt's abort with `onUpstreamAbort`), the deadline listens to the caller's signal as an
 * `EventListener` object (no closure), and every deadline shares one timer (`deadlineClock`).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { TimeoutError } from '../../core/errors.js';

/** Default of `saas.deadline`: 10 minutes, the whole budget of a request including its retries. */
export const DEFAULT_DEADLINE_MS = 600_000;

/**
 * The shape of signal undici's `signal` option accepts besides an `AbortSignal`: an emitter of
 * `abort` with `aborted` and `reason` (undici rejects with `reason`). It must not have
 * `addEventListener`, or undici treats it as an `AbortSignal`.
 */
export class AbortEmitter extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

export class RequestDeadline {
  /** When the deadline passes, in `performance.now()` milliseconds (monotonic). */
  readonly endsAt: number;
  private controller: AbortController | undefined;
  private emitter: AbortEmitter | undefined;
  /** The running upstream attempt's abort (`onUpstreamAbort`), if it registered one. */
  private upstreamAbort: ((reason: unknown) => void) | undefined;
  private ended = false;
  private reason: unknown = undefined;
  private passed = false;

  constructor(
    readonly totalMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.endsAt = performance.now() + totalMs;
    if (callerSignal?.aborted) {
      this.abort(callerSignal.reason);
      return;
    }
    // The deadline itself is the listener (`handleEvent`): no closure per request.
    callerSignal?.addEventListener('abort', this, { once: true });
    deadlineClock.add(this);
  }

  /** The caller's signal aborted (the deadline listens to it as an `EventListener` object). */
  handleEvent(): void {
    this.abort(this.callerSignal?.reason);
  }

  /**
   * Aborted with the same reason as `signal`; what the HTTP client hands to undici for streams.
   * Created on first use (most requests never ask: JSON requests use `onUpstreamAbort`).
   */
  get upstreamSignal(): AbortEmitter {
    if (!this.emitter) {
      this.emitter = new AbortEmitter();
      if (this.ended) {
        this.emitter.aborted = true;
        this.emitter.reason = this.reason;
      }
    }
    return this.emitter;
  }

  /** Aborted by the caller's signal or when the deadline passes. Created on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.ended) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /**
   * Registers the abort of the one upstream attempt running now (undefined once it settled), the
   * cheapest way to reach it: a deadline runs one attempt at a time. Called at once if already
   * aborted.
   */
  onUpstreamAbort(abort: ((reason: unknown) => void) | undefined): void {
    this.upstreamAbort = abort;
    if (abort && this.ended) abort(this.reason);
  }

  /** Whether the caller or the deadline ended the request. */
  get aborted(): boolean {
    return this.ended;
  }

  /** The reason the request was aborted with (the caller's, or a `TimeoutError`). */
  get abortReason(): unknown {
    return this.reason;
  }

  /** Whether the deadline (not the caller) ended the request. */
  get expired(): boolean {
    return this.passed;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - performance.now());
  }

  /** Stops the clock; the caller's abort still reaches `signal`. */
  clear(): void {
    deadlineClock.remove(this);
  }

  /** Stops the clock and forgets the caller's signal (the request is over). */
  dispose(): void {
    this.clear();
    this.callerSignal?.removeEventListener('abort', this);
  }

  /** Called by the clock once `endsAt` is reached. */
  expire(): void {
    if (this.ended) return;
    this.passed = true;
    this.abort(new TimeoutError('the request deadline passed'));
  }

  /** The error for a request the deadline ended, naming what timed out and the setting. */
  timeoutError(what: string, attempts: number, cause?: unknown): TimeoutError {
    return new TimeoutError(
      `${what} did not answer within ${this.totalMs / 1000} s (saas.deadline, the total time of a request across ${attempts} attempt${attempts === 1 ? '' : 's'})`,
      { isRetryable: false, ...(cause === undefined ? {} : { cause }) },
    );
  }

  private abort(reason: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.reason = reason;
    this.emitter?.abort(reason);
    this.upstreamAbort?.(reason);
    this.controller?.abort(reason);
  }
}

/**
 * One timer for every running deadline, armed for the earliest. Adding a deadline that ends later
 * than the armed time (the usual case: the same `saas.deadline` for every request) touches no timer;
 * removing one only drops it from the set, and the timer is cleared when the set is empty, so an
 * idle process holds no timer. While deadlines run the timer keeps the process alive, as one timer
 * per request did.
 */
class DeadlineClock {
  private readonly running = new Set<RequestDeadline>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  add(deadline: RequestDeadline): void {
    this.running.add(deadline);
    if (deadline.endsAt < this.armedFor) this.arm(deadline.endsAt);
  }

  remove(deadline: RequestDeadline): void {
    if (!this.running.delete(deadline) || this.running.size > 0 || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  /** How many deadlines are running (for tests: every request must leave this set). */
  get size(): number {
    return this.running.size;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = at;
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.ceil(at - performance.now())));
  }

  private tick(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    const passed: RequestDeadline[] = [];
    for (const deadline of this.running) {
      if (deadline.endsAt <= now) passed.push(deadline);
      else if (deadline.endsAt < next) next = deadline.endsAt;
    }
    for (const deadline of passed) this.running.delete(deadline);
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    // Expired after re-arming: an abort listener may start (or end) other deadlines.
    for (const deadline of passed) deadline.expire();
  }
}

/** The one clock of this process. */
export const deadlineClock = new DeadlineClock();
