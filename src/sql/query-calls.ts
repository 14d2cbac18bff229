/**
 * The model calls of one query. DuckDB scalar functions are synchronous, so a model function never
 * waits for a model: it looks its request up here and, when the answer is not known yet, records
 * the request and returns a *pending* value. The session then runs every recorded request
 * concurrently (up to each deployment's capacity), and runs the statement again; the functions now
 * find their answers. Identical (model, request) pairs are called once per query.
 */
import type { CallOptions as ClusterCallOptions, ChatRequest, ChatResult } from '../core/index.js';
import {
  AbortedError,
  ByzerLLMError,
  ERROR_CODES,
  type ErrorCode,
  InvalidArgumentError,
  toByzerLLMError,
} from '../core/index.js';

function isErrorCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

/** What a model function asks for. */
export type ModelCall =
  | { kind: 'chat'; model: string; request: ChatRequest }
  | { kind: 'embedding'; model: string; text: string };

export type CallOutcome =
  | { ok: true; chat?: ChatResult; embedding?: number[] }
  | { ok: false; error: { code: string; message: string } };

/** The narrow part of `ClusterApi` the SQL layer calls models through. */
export interface ModelCaller {
  call(name: string, kind: 'chat', request: ChatRequest, options?: ClusterCallOptions): Promise<ChatResult>;
  call(
    name: string,
    kind: 'embedding',
    request: { values: string[] },
    options?: ClusterCallOptions,
  ): Promise<{ embeddings: number[][] }>;
}

export interface QueryProgress {
  /** Model calls answered (or failed) so far in this query. */
  done: number;
  /** Model calls this query has asked for so far (grows when a pass finds nested calls). */
  total: number;
  errors: number;
  rowsPerSecond: number;
}

export interface QueryLimits {
  /** Failed calls allowed before the query fails: a count, or a fraction of the calls (`0.05`). */
  maxErrors: { count: number } | { fraction: number };
  /** The most distinct model calls one query may make. */
  maxRows: number;
}

export interface ResolveOptions {
  caller: ModelCaller;
  /** Concurrent calls allowed per deployment (its num_workers × worker_concurrency). */
  capacityOf(model: string): Promise<number>;
  limits: QueryLimits;
  signal?: AbortSignal;
  onProgress?: (progress: QueryProgress) => void;
}

/** The value a model function returns while its answer is not known; see the file comment. */
export const PENDING_MARKER = '\u0000byzerllm:pending\u0000';

const EMBED_BATCH = 32;
const RETRY_DELAYS_MS = [100, 400];

export class QueryCalls {
  private readonly outcomes = new Map<string, CallOutcome>();
  private readonly pending = new Map<string, ModelCall>();
  private readonly startedAt = Date.now();
  private errors = 0;

  /** The answer to `call`, or undefined (and the call is recorded) when it still has to be made. */
  lookup(call: ModelCall): CallOutcome | undefined {
    const key = JSON.stringify(call);
    const outcome = this.outcomes.get(key);
    if (outcome === undefined) this.pending.set(key, call);
    return outcome;
  }

  /** Turns an answered call into a failed one (an answer that failed a check after the call). */
  markFailed(call: ModelCall, message: string): void {
    const key = JSON.stringify(call);
    if (this.outcomes.get(key)?.ok !== true) return;
    this.outcomes.set(key, { ok: false, error: { code: 'invalid_answer', message } });
    this.errors++;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get failedCount(): number {
    return this.errors;
  }

  get callCount(): number {
    return this.outcomes.size;
  }

  /** Makes every recorded call; throws when the query's limits are exceeded or it is cancelled. */
  async resolve(options: ResolveOptions): Promise<void> {
    const total = this.outcomes.size + this.pending.size;
    if (total > options.limits.maxRows) {
      throw new InvalidArgumentError(
        `this query asks the models ${total} times, more than max_rows=${options.limits.maxRows}; raise it with set max_rows='${total}';`,
      );
    }
    const batch = [...this.pending.entries()];
    this.pending.clear();
    const byModel = new Map<string, [string, ModelCall][]>();
    for (const entry of batch) {
      const list = byModel.get(entry[1].model) ?? [];
      list.push(entry);
      byModel.set(entry[1].model, list);
    }
    const progress = () =>
      options.onProgress?.({
        done: this.outcomes.size,
        total,
        errors: this.errors,
        rowsPerSecond: this.outcomes.size / Math.max(0.001, (Date.now() - this.startedAt) / 1000),
      });
    await Promise.all(
      [...byModel.entries()].map(async ([model, entries]) => {
        const capacity = Math.max(1, await options.capacityOf(model));
        await runWithLimit(capacity, workItems(entries), async (item) => {
          const outcomes = await this.callWithRetries(model, item, options);
          outcomes.forEach((outcome, index) => {
            this.outcomes.set(item[index]![0], outcome);
            if (!outcome.ok) this.errors++;
          });
          progress();
        });
      }),
    );
    if (options.signal?.aborted) throw new AbortedError('the query was cancelled');
    this.checkErrors(options.limits);
  }

  /** Throws when more calls failed than `max_errors` allows. */
  checkErrors(limits: QueryLimits): void {
    if (this.errors === 0) return;
    const calls = this.outcomes.size;
    const allowed = 'count' in limits.maxErrors ? limits.maxErrors.count : limits.maxErrors.fraction * calls;
    if (this.errors <= allowed) return;
    const first = [...this.outcomes.values()].find((outcome) => !outcome.ok);
    const reason = first && !first.ok ? `${first.error.code}: ${first.error.message}` : 'unknown';
    const limit =
      'count' in limits.maxErrors ? `${limits.maxErrors.count}` : `${limits.maxErrors.fraction * 100}%`;
    const code = first && !first.ok && isErrorCode(first.error.code) ? first.error.code : 'upstream_error';
    throw new ByzerLLMError(
      code,
      `${this.errors} of ${calls} model calls failed, more than max_errors=${limit} (first: ${reason}); ` +
        `allow failures with set max_errors='N'; or '5%' and read them with llm_error(response)`,
    );
  }

  private async callWithRetries(
    model: string,
    item: [string, ModelCall][],
    options: ResolveOptions,
  ): Promise<CallOutcome[]> {
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw new AbortedError('the query was cancelled');
      try {
        return await callOnce(model, item, options);
      } catch (error) {
        const failure = toByzerLLMError(error);
        if (options.signal?.aborted || failure.code === 'aborted')
          throw new AbortedError('the query was cancelled');
        const delay = RETRY_DELAYS_MS[attempt];
        if (failure.isRetryable && delay !== undefined) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        return item.map(() => failedOutcome(failure));
      }
    }
  }
}

function failedOutcome(error: ByzerLLMError): CallOutcome {
  return { ok: false, error: { code: error.code, message: error.message.replace(/\s*\n\s*/g, ' ') } };
}

/** Chat calls go one per item; embedding calls are batched (one call embeds many texts). */
function* workItems(entries: [string, ModelCall][]): Generator<[string, ModelCall][]> {
  let embeds: [string, ModelCall][] = [];
  for (const entry of entries) {
    if (entry[1].kind === 'chat') {
      yield [entry];
      continue;
    }
    embeds.push(entry);
    if (embeds.length === EMBED_BATCH) {
      yield embeds;
      embeds = [];
    }
  }
  if (embeds.length > 0) yield embeds;
}

async function callOnce(
  model: string,
  item: [string, ModelCall][],
  options: ResolveOptions,
): Promise<CallOutcome[]> {
  const callOptions = options.signal ? { signal: options.signal } : {};
  const first = item[0]![1];
  if (first.kind === 'chat') {
    const chat = await options.caller.call(model, 'chat', first.request, callOptions);
    return [{ ok: true, chat }];
  }
  const values = item.map(([, call]) => (call.kind === 'embedding' ? call.text : ''));
  const result = await options.caller.call(model, 'embedding', { values }, callOptions);
  return values.map((_, index) => ({ ok: true, embedding: result.embeddings[index] ?? [] }));
}

/** Runs `work` over `items` with at most `limit` in flight; starts the next as soon as one ends. */
async function runWithLimit<Item>(
  limit: number,
  items: Iterator<Item>,
  work: (item: Item) => Promise<void>,
): Promise<void> {
  const runners = Array.from({ length: limit }, async () => {
    for (let next = items.next(); !next.done; next = items.next()) await work(next.value);
  });
  await Promise.all(runners);
}
