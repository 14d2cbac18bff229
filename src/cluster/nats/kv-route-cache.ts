/**
 * Routes' response caches in JetStream KV, shared by every gateway of a NATS cluster (and by the
 * head's own): an answer stored through one gateway is a hit on any other, on any NATS node,
 * without the head in the path.
 *
 * One bucket for every route, `byzerllm_response_cache`, so that NATS permissions can grant it, and
 * only it, to gateway accounts (subject wildcards match whole tokens: a bucket per route could only
 * be granted with `$KV.*.>`, every bucket of the cluster). Keys are the SHA-256 of the normalised
 * request and the route's name, so no prompt appears in a subject. A route's `ttl_seconds`
 * is checked when an entry is read, against the time nats-server stored it; the bucket's max age,
 * `MAX_CACHE_TTL_MS`, bounds every TTL (per-entry TTLs need nats-server 2.11; Debian ships 2.9) and
 * lets nats-server drop what nobody reads. The bucket holds at most `CACHE_BUCKET_BYTES`, oldest
 * written out first; a route's `max_entries` bounds only the in-memory cache. An answer over
 * `MAX_CACHED_ANSWER_BYTES` is not stored (the bucket refuses larger values from anyone).
 *
 * Best effort: a gateway that cannot reach KV (no JetStream, NATS down, no permission, no answer
 * within `KV_TIMEOUT_MS`) answers uncached, says so once per outage in its log and tries KV again
 * after `RETRY_AFTER_MS`. A request never fails because of the cache.
 *
 * Anything on the bus is hostile: a value read from KV is parsed with zod before it is replayed; one
 * that is not a chat answer is refused (logged) and the request goes upstream, whose answer then
 * replaces it. NATS permissions must keep the bucket to gateway accounts (docs/cluster.md).
 */
import { createHash } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { Bucket, type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { type ChatResult, FINISH_REASONS } from '../../core/index.js';
import type { CacheSettings, RouteCache } from '../governance/index.js';

export const KV_RESPONSE_CACHE = 'byzerllm_response_cache';
/** The largest answer cached (its JSON): a larger one is answered, not stored. */
export const MAX_CACHED_ANSWER_BYTES = 256 * 1024;
/** The bucket's max age: no route's answer is served from KV for longer than a day. */
export const MAX_CACHE_TTL_MS = 86_400_000;
/** The bucket's size; past it the oldest entries go first. */
export const CACHE_BUCKET_BYTES = 256 * 1024 * 1024;
/** A KV operation that takes longer than this counts as KV being unreachable. */
const KV_TIMEOUT_MS = 1_000;
/** How long a gateway serves uncached after KV failed before it tries KV again. */
const RETRY_AFTER_MS = 10_000;

/** A cached answer as stored: exactly the fields of a `ChatResult`. */
const cachedAnswerSchema = z.strictObject({
  text: z.string(),
  reasoning: z.string().optional(),
  toolCalls: z.array(z.strictObject({ id: z.string(), name: z.string(), arguments: z.string() })),
  finishReason: z.enum(FINISH_REASONS),
  usage: z.strictObject({ inputTokens: z.number().nonnegative(), outputTokens: z.number().nonnegative() }),
  requestId: z.string(),
  modelId: z.string().optional(),
  warnings: z.array(
    z.strictObject({
      type: z.enum(['unsupported-setting', 'other']),
      setting: z.string().optional(),
      message: z.string(),
    }),
  ),
}) satisfies z.ZodType<ChatResult>;

/** The KV key of a route's cache key (the normalised request): two routes never share one. */
export function cacheEntryKey(route: string, key: string): string {
  return createHash('sha256')
    .update(JSON.stringify([route, key]))
    .digest('hex');
}

/** Opens the bucket, creating it when missing; every process asks for the same limits. */
async function openBucket(connection: NatsConnection): Promise<KV> {
  const kvm = new Kvm(jetstream(connection, { timeout: KV_TIMEOUT_MS }));
  const options = {
    history: 1,
    ttl: MAX_CACHE_TTL_MS,
    max_bytes: CACHE_BUCKET_BYTES,
    maxValueSize: MAX_CACHED_ANSWER_BYTES,
  };
  // Two processes creating it at once: the second's create can meet the first's bucket with the
  // discard policy already changed below, and fail; by then it exists, and opening it works.
  const bucket = await kvm.create(KV_RESPONSE_CACHE, options).catch((error: Error) => {
    if (!/already in use/.test(error.message)) throw error;
    return kvm.create(KV_RESPONSE_CACHE, options);
  });
  // KV buckets refuse writes when full (discard "new"); a cache drops its oldest entries instead.
  if (bucket instanceof Bucket) {
    const { config } = await bucket.jsm.streams.info(bucket.stream);
    if (config.discard !== 'old')
      await bucket.jsm.streams.update(bucket.stream, { ...config, discard: 'old' });
  }
  return bucket;
}

/**
 * The bucket as one process reaches it: opened once and shared by all its routes' caches, which
 * therefore also share one outage (one log line, one retry clock).
 */
export class ResponseCacheBucket {
  private bucket: Promise<KV> | undefined;
  private unavailableUntil = 0;
  private outage = false;
  readonly now: () => number;

  constructor(
    private readonly options: {
      connection: NatsConnection;
      log: (line: string) => void;
      /** Injected by tests. */
      now?: () => number;
    },
  ) {
    this.now = options.now ?? Date.now;
  }

  log(line: string): void {
    this.options.log(line);
  }

  /**
   * Runs `operation` on the bucket; `undefined` when KV cannot be reached, failed less than
   * `RETRY_AFTER_MS` ago, or the operation failed (which starts an outage).
   */
  async use<Result>(operation: (bucket: KV) => Promise<Result>): Promise<Result | undefined> {
    if (this.now() < this.unavailableUntil) return undefined;
    try {
      this.bucket ??= openBucket(this.options.connection);
      const result = await operation(await this.bucket);
      this.reachable();
      return result;
    } catch (error) {
      this.unreachable(error);
      return undefined;
    }
  }

  private unreachable(error: unknown): void {
    this.unavailableUntil = this.now() + RETRY_AFTER_MS;
    // Opened again on the next try: the bucket may have been deleted (and is then created again).
    this.bucket = undefined;
    if (this.outage) return;
    this.outage = true;
    this.options.log(
      `response cache unavailable (NATS KV ${KV_RESPONSE_CACHE}: ${(error as Error).message}); answering uncached, trying KV again every ${RETRY_AFTER_MS / 1000} s`,
    );
  }

  private reachable(): void {
    if (!this.outage) return;
    this.outage = false;
    this.options.log(`response cache reachable again in NATS KV ${KV_RESPONSE_CACHE}`);
  }
}

/** One route's cache in KV; hits and misses are this process's own, for its `/metrics`. */
export class KvRouteCache implements RouteCache {
  hits = 0;
  misses = 0;
  storeFailures = 0;
  private readonly ttlMs: number;

  constructor(
    private readonly options: { bucket: ResponseCacheBucket; route: string; settings: CacheSettings },
  ) {
    this.ttlMs = Math.min(options.settings.ttl_seconds * 1000, MAX_CACHE_TTL_MS);
  }

  async get(key: string): Promise<ChatResult | undefined> {
    const { bucket, route } = this.options;
    const entry = await bucket.use((kv) => kv.get(cacheEntryKey(route, key)));
    if (entry?.operation !== 'PUT' || entry.created.getTime() + this.ttlMs <= bucket.now()) {
      this.misses++;
      return undefined;
    }
    const answer = parseCachedAnswer(entry.string());
    if (!answer) {
      bucket.log(
        `refused a cached answer of route ${route} from NATS KV ${KV_RESPONSE_CACHE} that is not a chat answer; asking the route instead`,
      );
      this.misses++;
      return undefined;
    }
    this.hits++;
    return answer;
  }

  async set(key: string, value: ChatResult): Promise<void> {
    const text = JSON.stringify(value);
    if (Buffer.byteLength(text) > MAX_CACHED_ANSWER_BYTES) return;
    const { bucket, route } = this.options;
    // `use` logs the outage (once); the count shows every write it cost in `/metrics`.
    const sequence = await bucket.use((kv) =>
      kv.put(cacheEntryKey(route, key), text, { timeout: KV_TIMEOUT_MS }),
    );
    if (sequence === undefined) this.storeFailures++;
  }
}

function parseCachedAnswer(text: string): ChatResult | undefined {
  try {
    const parsed = cachedAnswerSchema.safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as ChatResult) : undefined;
  } catch {
    return undefined;
  }
}

/** `GovernanceOptions.cacheOf` for a process on NATS: every route's cache in the one KV bucket. */
export function kvRouteCaches(
  connection: NatsConnection,
  log: (line: string) => void,
): (route: string, settings: CacheSettings) => RouteCache {
  const bucket = new ResponseCacheBucket({ connection, log });
  return (route, settings) => new KvRouteCache({ bucket, route, settings });
}
