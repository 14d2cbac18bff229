/**
 * What the router knows about each deployment it sends to: requests in flight (least_busy), an
 * exponentially weighted average latency (latency), recent failures and the cooldown they caused.
 *
 * A deployment that fails `failures` times within `window_seconds`, or answers 429, is cooled down:
 * strategies pass it over while a sibling is available, until the cooldown (a 429's `Retry-After`
 * when it gave one) has passed. Nothing has to bring it back: availability is a comparison with the
 * clock at each pick. Keyed by deployment, so routes sharing a deployment share what they learn.
 */
import type { ByzerLLMError } from '../../core/index.js';
import type { CooldownSettings } from './route-config.js';

/** Weight of the newest sample in the latency and health averages. */
const LATENCY_SMOOTHING = 0.3;

export interface TargetState {
  inFlight: number;
  /** Average latency of successful tries in ms; undefined before the first. */
  latencyMs: number | undefined;
  /** Times of failures inside the current window (ms since epoch), oldest first. */
  failureTimes: number[];
  /** Out of rotation until this time (ms since epoch); 0 when not cooled down. */
  cooledDownUntil: number;
  /** Cooldowns started since the head started. */
  cooldowns: number;
  successes: number;
  failures: number;
  /** Recent success rate: 1 per success, 0 per failure, averaged like latency; starts at 1. */
  health: number;
}

/** A deployment's state as `route stat` and `/metrics` show it. */
export interface TargetStateView {
  deployment: string;
  inFlight: number;
  latencyMs: number | null;
  coolingDown: boolean;
  /** Seconds of cooldown left. */
  cooldownLeftSeconds: number;
  cooldowns: number;
  successes: number;
  failures: number;
}

export class TargetStates {
  private readonly states = new Map<string, TargetState>();
  /**
   * Told of every cooldown this process starts (deployment, milliseconds it lasts), so gateways
   * in other processes can skip the deployment too (`NatsGovernance`).
   */
  onCooldown: ((deployment: string, durationMs: number) => void) | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  get(deployment: string): TargetState {
    let state = this.states.get(deployment);
    if (!state) {
      state = {
        inFlight: 0,
        latencyMs: undefined,
        failureTimes: [],
        cooledDownUntil: 0,
        cooldowns: 0,
        successes: 0,
        failures: 0,
        health: 1,
      };
      this.states.set(deployment, state);
    }
    return state;
  }

  isAvailable(deployment: string): boolean {
    const state = this.states.get(deployment);
    return state === undefined || state.cooledDownUntil <= this.now();
  }

  started(deployment: string): void {
    this.get(deployment).inFlight++;
  }

  succeeded(deployment: string, elapsedMs: number): void {
    const state = this.get(deployment);
    state.inFlight--;
    state.successes++;
    state.health += LATENCY_SMOOTHING * (1 - state.health);
    state.failureTimes.length = 0;
    state.latencyMs =
      state.latencyMs === undefined
        ? elapsedMs
        : state.latencyMs + LATENCY_SMOOTHING * (elapsedMs - state.latencyMs);
  }

  /**
   * Counts a failure that says something about the deployment (not the caller's own errors) and
   * starts a cooldown when the settings say so. Returns whether one started.
   */
  failed(deployment: string, error: ByzerLLMError, settings: CooldownSettings): boolean {
    const state = this.get(deployment);
    state.inFlight--;
    state.failures++;
    state.health -= LATENCY_SMOOTHING * state.health;
    const now = this.now();
    if (error.code === 'upstream_rate_limit') {
      const retryAfter = error.details.retryAfterSeconds;
      // `Retry-After: 0` says "now": honoured as no cooldown at all.
      const seconds =
        typeof retryAfter === 'number' && retryAfter >= 0 ? retryAfter : settings.cooldown_seconds;
      return this.coolDown(deployment, state, now + seconds * 1000);
    }
    const windowStart = now - settings.window_seconds * 1000;
    state.failureTimes.push(now);
    while (state.failureTimes.length > 0 && state.failureTimes[0]! < windowStart) state.failureTimes.shift();
    if (state.failureTimes.length < settings.failures) return false;
    state.failureTimes.length = 0;
    return this.coolDown(deployment, state, now + settings.cooldown_seconds * 1000);
  }

  /** Recent success rate in [0, 1] (1 for a deployment never tried). */
  health(deployment: string): number {
    return this.states.get(deployment)?.health ?? 1;
  }

  /** A try that ended because the caller left: neither a success nor the deployment's fault. */
  abandoned(deployment: string): void {
    this.get(deployment).inFlight--;
  }

  views(): TargetStateView[] {
    const now = this.now();
    return [...this.states].map(([deployment, state]) => ({
      deployment,
      inFlight: state.inFlight,
      latencyMs: state.latencyMs === undefined ? null : Math.round(state.latencyMs * 10) / 10,
      coolingDown: state.cooledDownUntil > now,
      cooldownLeftSeconds: Math.max(0, Math.ceil((state.cooledDownUntil - now) / 1000)),
      cooldowns: state.cooldowns,
      successes: state.successes,
      failures: state.failures,
    }));
  }

  /**
   * A cooldown another gateway started: the deployment is skipped here as well, for the time it
   * has left (a duration, not a time, so the machines' clocks need not agree).
   */
  coolDownFor(deployment: string, durationMs: number): void {
    extendCooldown(this.get(deployment), this.now(), this.now() + durationMs);
  }

  private coolDown(deployment: string, state: TargetState, until: number): boolean {
    if (!extendCooldown(state, this.now(), until)) return false;
    this.onCooldown?.(deployment, until - this.now());
    return true;
  }
}

/** Cools `state` down until `until`; false when a cooldown running already lasts as long. */
function extendCooldown(state: TargetState, now: number, until: number): boolean {
  // A later failure never shortens a cooldown already running.
  if (until <= state.cooledDownUntil) return false;
  if (state.cooledDownUntil <= now) state.cooldowns++;
  state.cooledDownUntil = until;
  return true;
}
