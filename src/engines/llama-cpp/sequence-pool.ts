/**
 * Hands out a context's sequences, one per concurrent request, preferring the one whose KV cache
 * already holds the longest part of the request's prompt.
 *
 * A worker owns one llama.cpp context with `worker_concurrency` sequences (parallel slots sharing the
 * model's weights and the context's batch; each sequence has its own KV cells). A released sequence
 * keeps its tokens: node-llama-cpp's `LlamaChat` adapts a sequence's state to the next prompt
 * (`adaptStateToTokens`), keeping the common token prefix and evaluating only the rest, so a
 * conversation's next turn or a request with the same system prompt skips the shared prefix. Which
 * free sequence holds the most is judged on the formatted messages (`promptKey`), before
 * tokenising. The worker pool upstream never sends more requests than there are sequences, but the
 * wait queue here keeps the engine correct on its own too.
 */
import type { LlamaContext, LlamaContextSequence } from 'node-llama-cpp';
import type { ChatMessage } from '../../core/chat-model.js';

interface FreeSequence {
  sequence: LlamaContextSequence;
  /** The `promptKey` of the last request it served ('' = none). */
  promptKey: string;
  /** Release order (0 = never used): among sequences sharing nothing useful, the oldest is reused. */
  releasedAt: number;
}

/**
 * A shared prefix shorter than this (in characters of `promptKey`) is not worth choosing a
 * sequence for: taking it would overwrite a cached prompt to save a few tokens.
 */
const MIN_USEFUL_PREFIX = 64;

interface Waiter {
  promptKey: string;
  grant(sequence: LlamaContextSequence): void;
}

export class SequencePool {
  private readonly free: FreeSequence[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly keyOf = new Map<LlamaContextSequence, string>();
  private releases = 0;

  constructor(context: LlamaContext) {
    while (context.sequencesLeft > 0)
      this.free.push({ sequence: context.getSequence(), promptKey: '', releasedAt: 0 });
  }

  get size(): number {
    return this.free.length;
  }

  /**
   * A free sequence, or waits for one: the one sharing the longest prefix with `promptKey`, else
   * the one released longest ago (an unused one first).
   */
  async acquire(promptKey = ''): Promise<LlamaContextSequence> {
    let best = -1;
    let bestShared = -1;
    for (const [position, candidate] of this.free.entries()) {
      const length = sharedPrefixLength(candidate.promptKey, promptKey);
      const shared = length < MIN_USEFUL_PREFIX ? 0 : length;
      const older = best >= 0 && shared === bestShared && candidate.releasedAt < this.free[best]!.releasedAt;
      if (shared > bestShared || older) {
        best = position;
        bestShared = shared;
      }
    }
    if (best >= 0) {
      const [taken] = this.free.splice(best, 1);
      this.keyOf.set(taken!.sequence, promptKey);
      return taken!.sequence;
    }
    return new Promise((resolve) =>
      this.waiters.push({
        promptKey,
        grant: (sequence) => {
          this.keyOf.set(sequence, promptKey);
          resolve(sequence);
        },
      }),
    );
  }

  /** Gives the sequence, its tokens kept, to the next waiter or back to the free list. */
  release(sequence: LlamaContextSequence): void {
    const promptKey = this.keyOf.get(sequence) ?? '';
    this.keyOf.delete(sequence);
    const waiter = this.waiters.shift();
    if (waiter) waiter.grant(sequence);
    else if (!sequence.disposed) this.free.push({ sequence, promptKey, releasedAt: ++this.releases });
  }
}

/** The formatted messages a sequence is matched on: one string, messages in order. */
export function promptKey(messages: readonly ChatMessage[]): string {
  let key = '';
  for (const message of messages) {
    const content =
      typeof message.content === 'string'
        ? message.content
        : message.content.map((part) => (part.type === 'text' ? part.text : part.type)).join('');
    key += `${message.role}\u0000${content}\u0001`;
  }
  return key;
}

function sharedPrefixLength(left: string, right: string): number {
  const length = Math.min(left.length, right.length);
  let index = 0;
  while (index < length && left.charCodeAt(index) === right.charCodeAt(index)) index++;
  return index;
}
