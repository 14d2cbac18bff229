/**
 * The load generator of the gateway benchmark: a fixed number of requests (or as many as fit in a
 * time box) at a fixed concurrency over a keep-alive pool, latency per request; and time to first
 * token of streams.
 */
import { Pool } from 'undici';
import type { RawClient } from './raw-client.js';

/**
 * How a batch sends and how long it runs. `pool`: a keep-alive pool the caller owns and reuses across
 * batches, so a short batch does not pay (and time) its connections' setup; without one, a pool is
 * made and closed per batch. `raw`: send with the cheaper `RawClient` instead (the caller's, reused
 * likewise). `seconds`: send requests until that long has passed (then `count` is only a cap).
 */
export interface BatchOptions {
  pool?: Pool;
  raw?: RawClient;
  seconds?: number;
}

/** POSTs to the target's chat endpoint, each answered in full, over `raw`, `pool` or a new pool. */
function poster(target: Target, connections: number, options: BatchOptions) {
  const path = '/v1/chat/completions';
  const headers = { 'content-type': 'application/json', ...target.headers };
  const { raw } = options;
  if (raw) {
    let last = { body: '', request: '' };
    return {
      post: (body: string) => {
        // A fixed body's request text is built once; distinct bodies each get their own.
        if (body !== last.body) last = { body, request: raw.request(path, headers, body) };
        return raw.send(last.request);
      },
      close: async () => {},
    };
  }
  const pool = options.pool ?? new Pool(target.origin, { connections });
  return {
    post: async (body: string) => {
      const response = await pool.request({ method: 'POST', path, headers, body });
      return { status: response.statusCode, text: await response.body.text() };
    },
    close: async () => {
      if (!options.pool) await pool.close();
    },
  };
}

/** Whether a batch may start another request: under its count and, if time-boxed, in its time. */
function batchClock(count: number, options: BatchOptions): { more: (sent: number) => boolean } {
  const started = performance.now();
  const limitMs = options.seconds === undefined ? Number.POSITIVE_INFINITY : options.seconds * 1000;
  return { more: (sent) => sent < count && performance.now() - started < limitMs };
}

export interface Target {
  name: string;
  /** Origin, e.g. http://127.0.0.1:PORT */
  origin: string;
  model: string;
  headers: Record<string, string>;
  /** Every request asks something new, so a response cache never answers it (its miss path). */
  distinct?: boolean;
}

export interface LoadResult {
  /** Requests sent (and answered or failed): `count`, or fewer when the batch was time-boxed. */
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  /** The first failure's status and body, or its error message. */
  error?: string;
}

/** Numbers distinct requests across every load run of a process, so no run repeats an earlier one. */
let distinctSequence = 0;

export async function runLoad(
  target: Target,
  concurrency: number,
  count: number,
  options: BatchOptions = {},
): Promise<LoadResult> {
  const client = poster(target, concurrency, options);
  const body = JSON.stringify({
    model: target.model,
    messages: [{ role: 'user', content: 'hello from the gateway benchmark' }],
  });
  // The request number goes right after the content's first word: still an `echo` answer.
  const [head, tail] = body.split('hello');
  const bodyOf = () => (target.distinct ? `${head}hello ${++distinctSequence}${tail}` : body);
  const latencies: number[] = [];
  let failures = 0;
  let error: string | undefined;
  let next = 0;
  const started = performance.now();
  const clock = batchClock(count, options);
  const worker = async () => {
    while (clock.more(next)) {
      next++;
      const begin = performance.now();
      try {
        const { status, text } = await client.post(bodyOf());
        if (status !== 200 || !text.includes('echo')) {
          failures++;
          error ??= `HTTP ${status}: ${text.slice(0, 120)}`;
        }
      } catch (caught) {
        failures++;
        error ??= (caught as Error).message;
      }
      latencies.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await client.close();
  latencies.sort((left, right) => left - right);
  return {
    requests: next,
    requestsPerSecond: next / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    failures,
    ...(error ? { error } : {}),
  };
}

/** Median time to the first byte of generated text (`echo…`) of a streamed answer, sequentially. */
export async function timeToFirstToken(
  target: Target,
  count: number,
  options: Pick<BatchOptions, 'pool'> = {},
): Promise<{ p50Ms: number; failures: number; error?: string }> {
  const pool = options.pool ?? new Pool(target.origin, { connections: 1 });
  const body = JSON.stringify({
    model: target.model,
    stream: true,
    messages: [{ role: 'user', content: 'hello from the gateway benchmark' }],
  });
  const times: number[] = [];
  let failures = 0;
  let error: string | undefined;
  for (let index = 0; index < count; index++) {
    const begin = performance.now();
    try {
      const response = await pool.request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', ...target.headers },
        body,
      });
      let seen = '';
      let first: number | undefined;
      for await (const chunk of response.body) {
        if (first === undefined) {
          seen += chunk.toString();
          if (seen.includes('"content":"echo')) first = performance.now() - begin;
        }
      }
      if (response.statusCode !== 200 || first === undefined) {
        failures++;
        error ??= `HTTP ${response.statusCode}: ${seen.slice(0, 160).replace(/\s+/g, ' ')}`;
      } else times.push(first);
    } catch (caught) {
      failures++;
      error ??= (caught as Error).message;
    }
  }
  if (!options.pool) await pool.close();
  times.sort((left, right) => left - right);
  return { p50Ms: times.length ? percentile(times, 0.5) : Number.NaN, failures, ...(error ? { error } : {}) };
}

export interface StreamThroughputResult {
  /** SSE events received in intact streams. */
  chunks: number;
  /** Streams sent: `count`, or fewer when the batch was time-boxed. */
  streams: number;
  /** SSE events (chunks) received per second, over every stream together. */
  chunksPerSecond: number;
  streamsPerSecond: number;
  /** Streams that failed or did not carry the expected number of chunks. */
  failures: number;
  error?: string;
}

/**
 * Streaming throughput: `count` streams at `concurrency`, each an answer of `words` text chunks (the
 * stand-in streams one chunk per word of the prompt), as fast as the upstream produces them.
 * Counts the `data:` events that arrive, so a gateway that merged or dropped chunks would show it.
 */
export async function streamThroughput(
  target: Target,
  options: { concurrency: number; count: number; words: number } & BatchOptions,
): Promise<StreamThroughputResult> {
  const client = poster(target, options.concurrency, options);
  const body = JSON.stringify({
    model: target.model,
    stream: true,
    messages: [{ role: 'user', content: 'w '.repeat(options.words - 1).trim() }],
  });
  // role, "echo:", one per word, finish: the fewest events an intact answer has.
  const expected = options.words + 2;
  let chunks = 0;
  let failures = 0;
  let error: string | undefined;
  let next = 0;
  const started = performance.now();
  const clock = batchClock(options.count, options);
  const worker = async () => {
    while (clock.more(next)) {
      next++;
      try {
        const { status, text } = await client.post(body);
        const events = text.split('data: ').length - 2; // minus the text before the first and [DONE]
        if (status !== 200 || events < expected) {
          failures++;
          error ??= `HTTP ${status}, ${events} events: ${text.slice(0, 120)}`;
        } else chunks += events;
      } catch (caught) {
        failures++;
        error ??= (caught as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await client.close();
  return {
    chunks,
    streams: next,
    chunksPerSecond: chunks / seconds,
    streamsPerSecond: (next - failures) / seconds,
    failures,
    ...(error ? { error } : {}),
  };
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}
