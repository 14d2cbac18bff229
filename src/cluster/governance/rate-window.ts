/**
 * A sliding one-minute window of amounts (requests for rpm, tokens for tpm): exact over any 60 s,
 * unlike fixed per-minute buckets that let twice the limit through around a minute's boundary.
 * Entries leave in the order they came, so pruning is a walk from the front.
 */

/** One admitted amount; `amount` can be corrected later (a tpm estimate settled to the real usage). */
export interface WindowEntry {
  at: number;
  amount: number;
  expired: boolean;
}

export class RateWindow {
  private entries: WindowEntry[] = [];
  private first = 0;
  private total = 0;

  constructor(
    /** The most the window holds (requests or tokens per minute). */
    readonly limit: number,
    private readonly windowMs = 60_000,
  ) {}

  /**
   * Milliseconds until `amount` fits under the limit; 0 when it fits now. An amount larger than the
   * limit fits an empty window (one request whose estimate alone is over a tpm limit is let through
   * once the minute is clear, rather than never).
   */
  waitMs(amount: number, now: number): number {
    this.prune(now);
    if (this.total + amount <= this.limit || this.total === 0) return 0;
    let freed = 0;
    for (let index = this.first; index < this.entries.length; index++) {
      const entry = this.entries[index]!;
      freed += entry.amount;
      if (this.total - freed + amount <= this.limit || this.total - freed === 0) {
        return Math.max(1, entry.at + this.windowMs - now);
      }
    }
    return this.windowMs;
  }

  add(amount: number, now: number): WindowEntry {
    const entry: WindowEntry = { at: now, amount, expired: false };
    this.entries.push(entry);
    this.total += amount;
    return entry;
  }

  /** Replaces an entry's amount (an estimate by what was used); nothing once it has left the window. */
  correct(entry: WindowEntry, amount: number): void {
    if (entry.expired) return;
    this.total += amount - entry.amount;
    entry.amount = amount;
  }

  /** What the window holds now. */
  used(now: number): number {
    this.prune(now);
    return this.total;
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs;
    while (this.first < this.entries.length && this.entries[this.first]!.at <= cutoff) {
      const entry = this.entries[this.first++]!;
      entry.expired = true;
      this.total -= entry.amount;
    }
    // Compact now and then, so the array does not grow without bound.
    if (this.first > 1024 && this.first * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.first);
      this.first = 0;
    }
  }
}
