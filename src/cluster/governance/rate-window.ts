/**
 * A sliding one-minute window of amounts (requests for rpm, tokens for tpm): exact over any 60 s,
 * unlike fixed per-minute buckets that let twice the limit through around a minute's boundary.
 * Entries leave in the order they came, so pruning is a walk from the front.
 *
 * Held in two typed arrays used as a ring (time, amount), not one object per entry: a window under
 * load holds a minute of entries (hundreds of thousands at gateway rates), and objects that live a
 * minute are what made the garbage collector a visible share of a governed request's CPU. Amounts
 * added in the same millisecond share one entry: they enter and leave the window together, so this
 * changes nothing about what the window holds at any time.
 */

/**
 * One admitted amount, for `correct`: the entry's position since the window was created. Entries
 * before the window's first live one have left it.
 */
export type WindowEntry = number;

const INITIAL_CAPACITY = 64;

export class RateWindow {
  private times = new Float64Array(INITIAL_CAPACITY);
  private amounts = new Float64Array(INITIAL_CAPACITY);
  /** Position of the oldest entry still in the window, and of the next one to add. */
  private first = 0;
  private next = 0;
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
    const mask = this.times.length - 1;
    let freed = 0;
    for (let position = this.first; position < this.next; position++) {
      freed += this.amounts[position & mask]!;
      if (this.total - freed + amount <= this.limit || this.total - freed === 0) {
        return Math.max(1, this.times[position & mask]! + this.windowMs - now);
      }
    }
    return this.windowMs;
  }

  /** Adds `amount` at `now` (never earlier than the last add); returns its entry for `correct`. */
  add(amount: number, now: number): WindowEntry {
    this.total += amount;
    const last = this.next - 1;
    if (last >= this.first && this.times[last & (this.times.length - 1)] === now) {
      this.amounts[last & (this.times.length - 1)]! += amount;
      return last;
    }
    if (this.next - this.first === this.times.length) this.grow();
    const mask = this.times.length - 1;
    this.times[this.next & mask] = now;
    this.amounts[this.next & mask] = amount;
    return this.next++;
  }

  /**
   * Replaces an amount added with `entry` (`added`, an estimate) by `amount` (what was used);
   * nothing once the entry has left the window.
   */
  correct(entry: WindowEntry, added: number, amount: number): void {
    if (entry < this.first) return;
    this.amounts[entry & (this.times.length - 1)]! += amount - added;
    this.total += amount - added;
  }

  /** What the window holds now. */
  used(now: number): number {
    this.prune(now);
    return this.total;
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs;
    const mask = this.times.length - 1;
    while (this.first < this.next && this.times[this.first & mask]! <= cutoff) {
      this.total -= this.amounts[this.first & mask]!;
      this.first++;
    }
  }

  /** Doubles the ring, keeping every entry at its position (positions are taken modulo the size). */
  private grow(): void {
    const size = this.times.length * 2;
    const times = new Float64Array(size);
    const amounts = new Float64Array(size);
    for (let position = this.first; position < this.next; position++) {
      times[position & (size - 1)] = this.times[position & (this.times.length - 1)]!;
      amounts[position & (size - 1)] = this.amounts[position & (this.times.length - 1)]!;
    }
    this.times = times;
    this.amounts = amounts;
  }
}
