/**
 * Per-worker request metrics kept by the head: how many requests finished and failed, latency
 * percentiles and output tokens per second, for `stat` and the web console's Deployments page.
 *
 * Contract: memory is fixed per worker whatever the traffic (a ring of the last
 * `LATENCY_WINDOW` latencies and four counters), and recording a finished request is one array
 * write plus counter updates; the percentiles are computed only when someone asks (`snapshot`),
 * from that ring, so they describe the recent requests, not the whole lifetime.
 */

/** How many recent latencies the percentiles are computed from. */
export const LATENCY_WINDOW = 128;

/** What a finished request reports when its lease is released. */
export interface RequestOutcome {
  /** The request ended with an error (a thrown call, an `error` part, a broken stream). */
  failed?: boolean;
  /** Tokens the engine generated, when it reported usage. */
  outputTokens?: number;
  /** The request was refused on its slot before it ran (a spent budget): not recorded. */
  refused?: boolean;
}

/** One worker's metrics as `stat` reports them (snake_case like the rest of Byzer-LLM's stat JSON). */
export interface WorkerMetricsStat {
  /** Requests that finished (successfully or not) since the deployment started. */
  finished_requests: number;
  failed_requests: number;
  /** Over the last `LATENCY_WINDOW` finished requests; null before the first one. */
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  /**
   * Output tokens per second of the requests that reported usage: their tokens over their time,
   * i.e. what one request sees, not the worker's total throughput. Null before any usage.
   */
  tokens_per_second: number | null;
}

export class WorkerMetrics {
  private readonly latencies = new Float64Array(LATENCY_WINDOW);
  private finished = 0;
  private failed = 0;
  private outputTokens = 0;
  private tokenMilliseconds = 0;

  record(latencyMs: number, outcome: RequestOutcome | undefined): void {
    if (outcome?.refused) return;
    this.latencies[this.finished % LATENCY_WINDOW] = latencyMs;
    this.finished += 1;
    if (outcome?.failed) this.failed += 1;
    if (outcome?.outputTokens !== undefined && outcome.outputTokens > 0) {
      this.outputTokens += outcome.outputTokens;
      this.tokenMilliseconds += latencyMs;
    }
  }

  snapshot(): WorkerMetricsStat {
    const recent = this.latencies.slice(0, Math.min(this.finished, LATENCY_WINDOW)).sort();
    return {
      finished_requests: this.finished,
      failed_requests: this.failed,
      latency_p50_ms: percentile(recent, 0.5),
      latency_p95_ms: percentile(recent, 0.95),
      tokens_per_second:
        this.tokenMilliseconds > 0 ? round((this.outputTokens * 1000) / this.tokenMilliseconds) : null,
    };
  }
}

/** Nearest-rank percentile of sorted values; null when there are none. */
function percentile(sorted: Float64Array, fraction: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return round(sorted[Math.max(0, rank)]!);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
