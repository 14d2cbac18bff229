/**
 * Async iterators for the per-part path of a stream, written as plain objects rather than async
 * generators: a generator hop costs several microtasks and promise allocations per item, and a
 * stream part of a fast local model passes two of them in the head (the worker's parts, then the
 * lease held around them) on its way to the HTTP answer. These give the same order, the same end and
 * the same `return()` contract with one promise per item.
 */

/**
 * A queue that a producer pushes into and a consumer iterates. Items pushed after `end()` are
 * dropped; the consumer gets every item pushed before it, then the end. `onReturn` runs once when the
 * consumer stops before the end (`break` out of `for await`, or `return()`), never after the end.
 */
export class PushIterator<Item> implements AsyncIterableIterator<Item> {
  private items: Item[] = [];
  private readonly waiters: ((result: IteratorResult<Item>) => void)[] = [];
  private ended = false;

  /**
   * `onReturn`: see the class. `onNext` runs at each `next()`, before it takes an item: a producer
   * that paused its source while `queued` was high resumes it there.
   */
  constructor(
    private readonly onReturn: () => void = () => {},
    private readonly onNext?: () => void,
  ) {}

  /** Items pushed and not yet taken. */
  get queued(): number {
    return this.items.length;
  }

  push(item: Item): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter({ value: item, done: false });
    else this.items.push(item);
  }

  /** No more items: the consumer gets what is queued, then the end. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<Item>> {
    this.onNext?.();
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<Item>> {
    this.items = [];
    if (!this.ended) {
      this.end();
      this.onReturn();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * The items of `items`, with `release` called once when they end, fail, or the consumer stops early
 * (after `items` was told to stop: its `return()` runs first, as a generator's `finally` would).
 * `release` gets `true` only when the items ran to their end; `observe`, when given, sees each item
 * before the consumer does (the lease reads a stream's usage from it).
 */
export function releasingIterator<Item>(
  items: AsyncIterable<Item>,
  release: (completed: boolean) => void,
  observe?: (item: Item) => void,
): AsyncIterableIterator<Item> {
  const inner = items[Symbol.asyncIterator]();
  let released = false;
  const releaseOnce = (completed: boolean) => {
    if (released) return;
    released = true;
    release(completed);
  };
  return {
    next: () =>
      inner.next().then(
        (result) => {
          if (result.done) releaseOnce(true);
          else observe?.(result.value);
          return result;
        },
        (error: unknown) => {
          releaseOnce(false);
          throw error;
        },
      ),
    async return(value?: unknown) {
      try {
        await inner.return?.(value);
      } finally {
        releaseOnce(false);
      }
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
