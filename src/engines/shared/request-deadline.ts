/**
 * The total time one upstream request may take across all its attempts and backoffs
 * (`saas.deadline`). Without it, an idle timeout per attempt times the retries could hold a request
 * for half an hour (600 s × 3 attempts + backoff).
 *
 * Contract: `signal` aborts when the caller's signal does or when the deadline passes; `expired`
 * tells the two apart, so the caller reports a `TimeoutError` (not retryable: the budget is spent)
 * rather than an abort. `clear()` stops the clock — a stream that started is governed by the idle
 * timeout from then on, so long answers that keep producing are not cut.
 */
import { TimeoutError } from '../../core/errors.js';

/** Default of `saas.deadline`: 10 minutes, the whole budget of a request including its retries. */
export const DEFAULT_DEADLINE_MS = 600_000;

export class RequestDeadline {
  /** Aborted by the caller's signal or when the deadline passes. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly endsAt: number;
  private readonly timer: NodeJS.Timeout;
  private passed = false;
  private readonly forwardAbort = () => this.controller.abort(this.callerSignal?.reason);

  constructor(
    readonly totalMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.signal = this.controller.signal;
    this.endsAt = Date.now() + totalMs;
    this.timer = setTimeout(() => {
      this.passed = true;
      this.controller.abort(new TimeoutError('the request deadline passed'));
    }, totalMs);
    if (callerSignal?.aborted) this.forwardAbort();
    else callerSignal?.addEventListener('abort', this.forwardAbort, { once: true });
  }

  /** Whether the deadline (not the caller) ended the request. */
  get expired(): boolean {
    return this.passed;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - Date.now());
  }

  /** Stops the clock; the caller's abort still reaches `signal`. */
  clear(): void {
    clearTimeout(this.timer);
  }

  /** Stops the clock and forgets the caller's signal (the request is over). */
  dispose(): void {
    this.clear();
    this.callerSignal?.removeEventListener('abort', this.forwardAbort);
  }

  /** The error for a request the deadline ended, naming what timed out and the setting. */
  timeoutError(what: string, attempts: number, cause?: unknown): TimeoutError {
    return new TimeoutError(
      `${what} did not answer within ${this.totalMs / 1000} s (saas.deadline, the total time of a request across ${attempts} attempt${attempts === 1 ? '' : 's'})`,
      { isRetryable: false, ...(cause === undefined ? {} : { cause }) },
    );
  }
}
