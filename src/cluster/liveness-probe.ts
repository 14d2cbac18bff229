/**
 * Pings a peer (the head) while work waits on it, and fails that work when the peer stops answering.
 *
 * Why: a head that died or hangs while holding a request never replies, and the request's own timeout
 * must be long (an LLM answer can take minutes). A cheap ping answered by the same process tells a
 * slow answer from a dead peer within seconds. The probe runs only while work is registered.
 */
import type { ByzerLLMError } from '../core/index.js';

export interface LivenessProbeOptions {
  /** Resolves when the peer answered within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs: number): Promise<void>;
  /** While true, silence is not counted (our own connection is down: another mechanism handles it). */
  paused?(): boolean;
  /** How often to ping. */
  intervalMs: number;
  /** How long the peer may stay silent before the work fails. */
  timeoutMs: number;
  /** The error the waiting work fails with, given how long the peer has been silent. */
  lost(silentMs: number): ByzerLLMError;
  /**
   * A ping failure that waiting cannot cure (e.g. we may not ping at all): returns the error the
   * waiting work fails with at once, or undefined to count it as silence.
   */
  fatal?(error: unknown): ByzerLLMError | undefined;
}

export class LivenessProbe {
  private readonly waiting = new Set<(error: ByzerLLMError) => void>();
  private timer: NodeJS.Timeout | undefined;
  private pinging = false;
  private lastAnswerAt = 0;

  constructor(private readonly options: LivenessProbeOptions) {}

  /** Registers work that `fail` ends when the peer is lost; returns the function that unregisters it. */
  track(fail: (error: ByzerLLMError) => void): () => void {
    this.waiting.add(fail);
    if (!this.timer) {
      this.lastAnswerAt = Date.now();
      this.timer = setInterval(() => void this.check(), this.options.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.waiting.delete(fail);
      if (this.waiting.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.options.paused?.()) this.lastAnswerAt = Date.now();
    if (this.pinging || this.options.paused?.()) return;
    this.pinging = true;
    try {
      await this.options.ping(this.options.intervalMs);
      this.lastAnswerAt = Date.now();
    } catch (pingError) {
      const fatal = this.options.fatal?.(pingError);
      if (fatal) {
        for (const fail of [...this.waiting]) fail(fatal);
        return;
      }
      const silentMs = Date.now() - this.lastAnswerAt;
      if (silentMs > this.options.timeoutMs && !this.options.paused?.()) {
        const error = this.options.lost(silentMs);
        for (const fail of [...this.waiting]) fail(error);
      }
    } finally {
      this.pinging = false;
    }
  }
}
