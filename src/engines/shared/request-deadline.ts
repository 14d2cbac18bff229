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
 * `upstreamSignal` emitter instead), and every deadline shares one timer (`deadlineClock`).
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
  /** Aborted with the same reason as `signal`; what the HTTP client hands to undici. */
  readonly upstreamSignal = new AbortEmitter();
  /** When the deadline passes, in `performance.now()` milliseconds (monotonic). */
  readonly endsAt: number;
  private controller: AbortController | undefined;
  private passed = false;
  private readonly forwardAbort = () => this.abort(this.callerSignal?.reason);

  constructor(
    readonly totalMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.endsAt = performance.now() + totalMs;
    if (callerSignal?.aborted) {
      this.forwardAbort();
      return;
    }
    callerSignal?.addEventListener('abort', this.forwardAbort, { once: true });
    deadlineClock.add(this);
  }

  /** Aborted by the caller's signal or when the deadline passes. Created on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.upstreamSignal.aborted) this.controller.abort(this.upstreamSignal.reason);
    }
    return this.controller.signal;
  }

  /** Whether the caller or the deadline ended the request. */
  get aborted(): boolean {
    return this.upstreamSignal.aborted;
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
    this.callerSignal?.removeEventListener('abort', this.forwardAbort);
  }

  /** Called by the clock once `endsAt` is reached. */
  expire(): void {
    if (this.aborted) return;
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
    if (this.aborted) return;
    this.upstreamSignal.abort(reason);
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
