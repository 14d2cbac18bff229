import type { ChatResult } from '../../core/index.js';

/**
 * A route's response cache as the gateway uses it: in this process (`ResponseCache`) or in NATS
 * JetStream KV, shared by every gateway of a cluster (`KvRouteCache`), hence maybe asynchronous.
 *
 * Best effort: neither method rejects. A cache that cannot answer is a miss, one that cannot store
 * stores nothing, so a request never fails because of its cache.
 */
export interface RouteCache {
  hits: number;
  misses: number;
  /** Answers that could not be stored (KV unreachable or refusing the write); `/metrics`. */
  storeFailures: number;
  get(key: string): ChatResult | undefined | Promise<ChatResult | undefined>;
  set(key: string, value: ChatResult): void | Promise<void>;
}

/**
 * An exact-match response cache: in memory, least recently used first out, each entry for a fixed
 * time. One per route that asks for it (`cache:` in its config); the gateway keys it on the
 * normalised request, so only a request identical in model, messages and parameters is answered
 * from it. Counts hits and misses for `/metrics`.
 */
export class ResponseCache<Value> {
  private readonly entries = new Map<string, { value: Value; expiresAt: number }>();
  hits = 0;
  misses = 0;
  /** Always 0: storing in memory cannot fail (`RouteCache.storeFailures`). */
  storeFailures = 0;

  constructor(
    private readonly settings: { ttlMs: number; maxEntries: number },
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): Value | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= this.now()) {
      if (entry) this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    // Map order is insertion order: re-inserting makes this the most recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.hits++;
    return entry.value;
  }

  set(key: string, value: Value): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.settings.ttlMs });
    while (this.entries.size > this.settings.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
