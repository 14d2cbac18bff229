/**
 * A route's response cache in JetStream KV, shared by every gateway of a NATS cluster (and by the
 * head's own): an answer stored through one gateway is a hit on any other, on any NATS node,
 * without the head in the path.
 *
 * One bucket per route and cache settings (`byzerllm_cache_<hash>`): the route's `ttl_seconds` is the
 * bucket's max age (nats-server expires entries itself; per-entry TTLs need nats-server 2.11), its
 * `max_entries` the bucket's message limit (oldest written out first), and values over
 * `MAX_CACHED_ANSWER_BYTES` are not cached (the bucket refuses them too). Keys are the SHA-256 of the
 * normalised request, so neither prompts nor route names appear in subjects.
 *
 * Best effort: a gateway that cannot reach KV (no JetStream, NATS down, no permission) answers
 * uncached, says so once per outage in its log and tries KV again after `RETRY_AFTER_MS`. A request
 * never fails because of the cache.
 *
 * Anything on the bus is hostile: a value read from KV is parsed with zod before it is replayed; one
 * that is not a chat answer is refused (logged) and the request goes upstream, whose answer then
 * replaces it. NATS permissions must keep the buckets to gateway accounts (docs/cluster.md).
 */
import { createHash } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { Bucket, type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import type { ChatResult } from '../../core/index.js';
import type { CacheSettings, RouteCache } from '../governance/index.js';

export const KV_CACHE_PREFIX = 'byzerllm_cache_';
/** The largest answer cached (its JSON): a larger one is answered, not stored. */
export const MAX_CACHED_ANSWER_BYTES = 256 * 1024;
/** A KV operation that takes longer than this counts as KV being unreachable. */
const KV_TIMEOUT_MS = 1_000;
/** How long a gateway serves uncached after KV failed before it tries KV again. */
const RETRY_AFTER_MS = 10_000;

/** A cached answer as stored: exactly the fields of a `ChatResult`. */
const cachedAnswerSchema = z.strictObject({
  text: z.string(),
  reasoning: z.string().optional(),
  toolCalls: z.array(z.strictObject({ id: z.string(), name: z.string(), arguments: z.string() })),
  finishReason: z.enum(['stop', 'length', 'tool-calls', 'content-filter', 'error', 'other', 'unknown']),
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

/** The bucket of a route's cache: a new one whenever the route or its cache settings change. */
export function cacheBucketName(route: string, settings: CacheSettings): string {
  const identity = JSON.stringify([route, settings.ttl_seconds, settings.max_entries]);
  return `${KV_CACHE_PREFIX}${createHash('sha256').update(identity).digest('hex').slice(0, 32)}`;
}

/** The KV key of a normalised request (the gateway's cache key). */
export function cacheEntryKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Opens (creating when missing) a route's bucket with the settings' limits. */
async function openBucket(connection: NatsConnection, name: string, settings: CacheSettings): Promise<KV> {
  const bucket = await new Kvm(jetstream(connection, { timeout: KV_TIMEOUT_MS })).create(name, {
    history: 1,
    ttl: Math.ceil(settings.ttl_seconds * 1000),
    maxValueSize: MAX_CACHED_ANSWER_BYTES,
  });
  // KV buckets refuse writes when full (discard "new"); a cache drops its oldest entries instead.
  // Every gateway asks for the same limits (they are part of the bucket's name), so no two disagree.
  if (bucket instanceof Bucket) {
    const { config } = await bucket.jsm.streams.info(bucket.stream);
    if (config.max_msgs !== settings.max_entries || config.discard !== 'old') {
      await bucket.jsm.streams.update(bucket.stream, {
        ...config,
        max_msgs: settings.max_entries,
        discard: 'old',
      });
    }
  }
  return bucket;
}

export interface KvRouteCacheOptions {
  connection: NatsConnection;
  route: string;
  settings: CacheSettings;
  log: (line: string) => void;
  /** Injected by tests. */
  now?: () => number;
}

/** One route's cache in KV; hits and misses are this process's own, for its `/metrics`. */
export class KvRouteCache implements RouteCache {
  hits = 0;
  misses = 0;
  private bucket: Promise<KV> | undefined;
  private unavailableUntil = 0;
  private outage = false;
  private readonly bucketName: string;
  private readonly now: () => number;

  constructor(private readonly options: KvRouteCacheOptions) {
    this.bucketName = cacheBucketName(options.route, options.settings);
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<ChatResult | undefined> {
    const bucket = await this.reach();
    if (!bucket) return this.miss();
    let text: string | undefined;
    try {
      const entry = await bucket.get(cacheEntryKey(key));
      this.reachable();
      if (entry?.operation !== 'PUT') return this.miss();
      text = entry.string();
    } catch (error) {
      this.unreachable(error);
      return this.miss();
    }
    const answer = parseCachedAnswer(text);
    if (!answer) {
      this.options.log(
        `refused a cached answer of route ${this.options.route} from NATS KV ${this.bucketName} that is not a chat answer; asking the route instead`,
      );
      return this.miss();
    }
    this.hits++;
    return answer;
  }

  async set(key: string, value: ChatResult): Promise<void> {
    const text = JSON.stringify(value);
    if (Buffer.byteLength(text) > MAX_CACHED_ANSWER_BYTES) return;
    const bucket = await this.reach();
    if (!bucket) return;
    try {
      await bucket.put(cacheEntryKey(key), text, { timeout: KV_TIMEOUT_MS });
      this.reachable();
    } catch (error) {
      this.unreachable(error);
    }
  }

  private miss(): undefined {
    this.misses++;
    return undefined;
  }

  /** The bucket, unless KV failed less than `RETRY_AFTER_MS` ago. */
  private async reach(): Promise<KV | undefined> {
    if (this.now() < this.unavailableUntil) return undefined;
    this.bucket ??= openBucket(this.options.connection, this.bucketName, this.options.settings);
    try {
      return await this.bucket;
    } catch (error) {
      this.bucket = undefined;
      this.unreachable(error);
      return undefined;
    }
  }

  private unreachable(error: unknown): void {
    this.unavailableUntil = this.now() + RETRY_AFTER_MS;
    if (this.outage) return;
    this.outage = true;
    this.options.log(
      `response cache of route ${this.options.route} unavailable (NATS KV ${this.bucketName}: ${(error as Error).message}); answering uncached, trying KV again every ${RETRY_AFTER_MS / 1000} s`,
    );
  }

  private reachable(): void {
    if (!this.outage) return;
    this.outage = false;
    this.options.log(`response cache of route ${this.options.route} reachable again in NATS KV`);
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

/** `GovernanceOptions.cacheOf` for a process on NATS: every route's cache in KV. */
export function kvRouteCaches(
  connection: NatsConnection,
  log: (line: string) => void,
): (route: string, settings: CacheSettings) => RouteCache {
  return (route, settings) => new KvRouteCache({ connection, route, settings, log });
}
