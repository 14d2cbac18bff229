/**
 * The busy time of each request a local worker runs, reported in its usage (`Usage.cpuSeconds` or
 * `Usage.gpuSeconds`) so that the head can charge it to the request's virtual key.
 *
 * The definition: a clock of the resource the worker spends, shared out among the requests running
 * at each moment, equally. Between two events (a request starting or ending) the clock advanced by
 * some amount; each request running in that interval is credited that amount ÷ the number running.
 * So the busy seconds of all requests sum to the resource the worker spent while any ran, and a
 * request batched with others (llama.cpp decodes concurrent sequences together) pays its share.
 *
 * - A worker without GPUs: the process's CPU time (`process.cpuUsage`, user + system, every thread,
 *   so llama.cpp's native threads count). CPU time the process spends while no request runs
 *   (loading, idle) is charged to nobody; time waiting for a core on a busy machine costs nothing.
 * - A worker with GPUs: wall time × the worker's GPU count (the GPUs are the worker's alone while a
 *   request runs, whatever their utilisation; node-llama-cpp offers no per-request GPU counter).
 *
 * An engine that runs its model in another process (vLLM's server) is measured by the GPU rule on
 * GPUs; on CPU only this process's CPU time counts, which leaves the server's out.
 */
import { wholeMicroseconds } from '../../core/index.js';

/** A monotonic clock of seconds of some resource. */
export type ResourceClock = () => number;

/** The usage field a worker reports its busy time in. */
export type BusyField = 'cpuSeconds' | 'gpuSeconds';

/** Seconds are reported in whole microseconds, so that sums over many requests stay exact. */

export class BusyMeter {
  /** Seconds credited so far per running request. */
  private readonly running = new Map<number, number>();
  private last: number;

  constructor(
    readonly field: BusyField,
    private readonly clock: ResourceClock,
  ) {
    this.last = clock();
  }

  /** A request started running. */
  begin(id: number): void {
    this.advance();
    this.running.set(id, 0);
  }

  /** A request ended: its busy seconds (whole microseconds); 0 for an id never begun. */
  end(id: number): number {
    // An id already ended (the worker ends each request where its answer goes out and again in a
    // `finally`) skips the clock read: the requests running are the same until the next event.
    if (!this.running.has(id)) return 0;
    this.advance();
    const seconds = this.running.get(id) ?? 0;
    this.running.delete(id);
    return wholeMicroseconds(seconds);
  }

  /** Shares the clock's advance since the last event among the requests running through it. */
  private advance(): void {
    const now = this.clock();
    const elapsed = now - this.last;
    this.last = now;
    if (elapsed <= 0 || this.running.size === 0) return;
    const share = elapsed / this.running.size;
    for (const [id, seconds] of this.running) this.running.set(id, seconds + share);
  }
}

/** This process's CPU time in seconds (user + system, all threads). */
export function processCpuClock(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** The meter of a worker holding `gpuCount` GPUs (none: CPU time). */
export function busyMeterFor(gpuCount: number): BusyMeter {
  if (gpuCount === 0) return new BusyMeter('cpuSeconds', processCpuClock);
  return new BusyMeter('gpuSeconds', () => (performance.now() / 1000) * gpuCount);
}

/**
 * Adds the busy seconds to a result's or finish part's `usage` (a copy; the engine's object is left
 * alone). Results without a `usage` object (meta, tokenize) are returned as they are.
 */
export function withBusySeconds<Value>(value: Value, field: BusyField, seconds: number): Value {
  const usage = (value as { usage?: unknown } | null)?.usage;
  if (typeof usage !== 'object' || usage === null) return value;
  return { ...value, usage: { ...usage, [field]: seconds } };
}
