/**
 * Pings a peer (the head) while work waits on it, and fails that work when the peer is gone.
 *
 * Why: a head that died or hangs while holding a request never replies, and the request's own timeout
 * must be long (an LLM answer can take minutes). A cheap ping answered by the same process tells a
 * slow answer from a dead peer. Two kinds of silence are told apart, so that a head that is merely
 * starved of CPU is not declared lost: a ping that finds nobody ("no responders", connection refused)
 * means the process is gone and fails the work after `goneAfterMs`; pings that time out mean it hangs
 * (or is very busy) and fail the work after `timeoutMs`. The probe runs only while work is registered.
 */
import type { ByzerLLMError } from '../core/index.js';
import { timeoutSettingMs } from './timeout-setting.js';

export interface LivenessProbeOptions {
  /** Resolves when the peer answered within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs: number): Promise<void>;
  /** Whether a ping's failure says the peer is certainly gone (nobody there to answer). */
  isGone(error: unknown): boolean;
  /** While true, silence is not counted (our own connection is down: another mechanism handles it). */
  paused?(): boolean;
  /** How often to ping. */
  intervalMs: number;
  /** How long pings may go unanswered (time out) before the work fails: a hung head. */
  timeoutMs: number;
  /** How long pings may find nobody before the work fails: a dead head. Defaults to 2 s. */
  goneAfterMs?: number;
  /** The error the waiting work fails with, given how long the peer has been silent. */
  lost(silentMs: number): ByzerLLMError;
  /**
   * A ping failure that waiting cannot cure (e.g. we may not ping at all): returns the error the
   * waiting work fails with at once, or undefined to count it as silence.
   */
  fatal?(error: unknown): ByzerLLMError | undefined;
}

/** Default time a head may leave pings unanswered while it still exists (busy or hung). */
export const DEFAULT_HEAD_TIMEOUT_MS = 30_000;

/** `BYZERLLM_HEAD_TIMEOUT` (seconds, > 0) or the default; a bad value names itself. */
export function headTimeoutMs(environment: NodeJS.ProcessEnv = process.env): number {
  return timeoutSettingMs('BYZERLLM_HEAD_TIMEOUT', DEFAULT_HEAD_TIMEOUT_MS, environment);
}

export class LivenessProbe {
  private readonly waiting = new Set<(error: ByzerLLMError) => void>();
  private timer: NodeJS.Timeout | undefined;
  private pinging = false;
  private lastAnswerAt = 0;
  private goneSince: number | undefined;

  constructor(private readonly options: LivenessProbeOptions) {}

  /** Registers work that `fail` ends when the peer is lost; returns the function that unregisters it. */
  track(fail: (error: ByzerLLMError) => void): () => void {
    this.waiting.add(fail);
    if (!this.timer) {
      this.lastAnswerAt = Date.now();
      this.goneSince = undefined;
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
    if (this.options.paused?.()) {
      this.lastAnswerAt = Date.now();
      this.goneSince = undefined;
      return;
    }
    if (this.pinging) return;
    this.pinging = true;
    try {
      await this.options.ping(this.options.intervalMs);
      this.lastAnswerAt = Date.now();
      this.goneSince = undefined;
    } catch (error) {
      const fatal = this.options.fatal?.(error);
      if (fatal) {
        for (const fail of [...this.waiting]) fail(fatal);
        return;
      }
      const now = Date.now();
      if (this.options.isGone(error)) this.goneSince ??= now;
      else this.goneSince = undefined;
      const gone =
        this.goneSince !== undefined && now - this.goneSince >= (this.options.goneAfterMs ?? 2_000);
      const silentMs = now - this.lastAnswerAt;
      if ((gone || silentMs > this.options.timeoutMs) && !this.options.paused?.()) {
        const lost = this.options.lost(silentMs);
        for (const fail of [...this.waiting]) fail(lost);
      }
    } finally {
      this.pinging = false;
    }
  }
}
