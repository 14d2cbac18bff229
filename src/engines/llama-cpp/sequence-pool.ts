/**
 * Hands out a context's sequences, one per concurrent request.
 *
 * A worker owns one llama.cpp context with `worker_concurrency` sequences (parallel slots sharing the
 * model's weights and the context's batch). The worker pool upstream never sends more requests than
 * that, but the wait queue here keeps the engine correct on its own too.
 */
import type { LlamaContext, LlamaContextSequence } from 'node-llama-cpp';

export class SequencePool {
  private readonly free: LlamaContextSequence[] = [];
  private readonly waiters: ((sequence: LlamaContextSequence) => void)[] = [];

  constructor(context: LlamaContext) {
    while (context.sequencesLeft > 0) this.free.push(context.getSequence());
  }

  get size(): number {
    return this.free.length;
  }

  async acquire(): Promise<LlamaContextSequence> {
    const sequence = this.free.pop();
    if (sequence) return sequence;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Clears the sequence's tokens (each request starts fresh) and gives it to the next waiter. */
  async release(sequence: LlamaContextSequence): Promise<void> {
    if (!sequence.disposed) await sequence.clearHistory();
    const waiter = this.waiters.shift();
    if (waiter) waiter(sequence);
    else this.free.push(sequence);
  }
}
