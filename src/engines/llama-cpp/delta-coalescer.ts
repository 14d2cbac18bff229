/**
 * Merges text deltas that come faster than a minimum interval into one stream part.
 *
 * A tiny or fast local model generates a token every ~0.5 ms, and every stream part then costs more
 * than the token itself on its way out: an IPC message from the worker process, an NDJSON line or
 * SSE chunk from the head, a parse in the client (measured on the tiny GGUF: ~0.5 ms of CPU per part
 * across the processes, against ~0.5 ms per generated token). A stream's first delta goes out at
 * once (time to first token); later deltas wait for the next tick of the model's `StreamClock`, at
 * most `intervalMs`, and leave together. `flush()` sends what is pending (before the finish or error
 * part).
 */
export class DeltaCoalescer {
  private pending = '';
  private sentAny = false;

  constructor(
    private readonly clock: StreamClock,
    private readonly send: (delta: string) => void,
  ) {}

  push(delta: string): void {
    if (delta === '') return;
    this.pending += delta;
    if (this.sentAny) this.clock.schedule(this);
    else {
      this.clock.sent();
      this.flush();
    }
  }

  flush(): void {
    this.clock.forget(this);
    if (this.pending === '') return;
    const delta = this.pending;
    this.pending = '';
    this.sentAny = true;
    this.send(delta);
  }
}

/**
 * The ticks on which the waiting text of all streams of one model leaves, at least `intervalMs`
 * apart. The concurrent streams of a llama.cpp context produce their tokens together (one batch per
 * step); on a shared clock their parts also leave in the same turn of the event loop, where the
 * worker sends them as one IPC message, instead of on as many timers as there are streams. A delta
 * that arrives when the last tick is `intervalMs` old leaves at once; none waits longer than
 * `intervalMs`.
 */
export class StreamClock {
  private readonly waiting = new Set<DeltaCoalescer>();
  private timer: NodeJS.Timeout | undefined;
  private lastTick = Number.NEGATIVE_INFINITY;

  constructor(private readonly intervalMs: number) {}

  /** `coalescer` has text waiting: it is flushed on the next tick. */
  schedule(coalescer: DeltaCoalescer): void {
    this.waiting.add(coalescer);
    if (this.timer) return;
    const wait = this.lastTick + this.intervalMs - performance.now();
    if (wait <= 0) this.tick();
    else this.timer = setTimeout(() => this.tick(), wait);
  }

  /** A stream sent its first delta outside a tick: the interval counts from now. */
  sent(): void {
    this.lastTick = performance.now();
  }

  /** `coalescer` flushed on its own (its stream ended): nothing of it waits any more. */
  forget(coalescer: DeltaCoalescer): void {
    if (!this.waiting.delete(coalescer) || this.waiting.size > 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastTick = performance.now();
    const due = [...this.waiting];
    this.waiting.clear();
    for (const coalescer of due) coalescer.flush();
  }
}
