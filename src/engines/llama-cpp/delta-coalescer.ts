/**
 * Merges text deltas that come faster than a minimum interval into one stream part.
 *
 * A tiny or fast local model generates a token every ~0.5 ms, and every stream part then costs more
 * than the token itself on its way out: an IPC message from the worker process, an NDJSON line or
 * SSE chunk from the head, a parse in the client (measured on the tiny GGUF: ~0.5 ms of CPU per part
 * across the processes, against ~0.5 ms per generated token). The coalescer sends a delta at once
 * when the previous part left at least `intervalMs` ago, so the first token and every token of a
 * model slower than that go out without delay; faster deltas wait, at most `intervalMs`, and leave
 * together. `flush()` sends what is pending (before the finish or error part).
 */
export class DeltaCoalescer {
  private pending = '';
  private lastSent = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (delta: string) => void,
  ) {}

  push(delta: string): void {
    if (delta === '') return;
    this.pending += delta;
    if (this.timer) return;
    const wait = this.lastSent + this.intervalMs - performance.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === '') return;
    const delta = this.pending;
    this.pending = '';
    this.lastSent = performance.now();
    this.send(delta);
  }
}
