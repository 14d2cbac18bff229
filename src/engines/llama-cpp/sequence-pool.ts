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
 *
 * Erasing what a reused sequence holds beyond the common prefix takes node-llama-cpp's context
 * lock, and so does its batch dispatch loop, which keeps the lock for as long as decodes are queued
 * after a batch: while other sequences generate, they always are (each queues its next token while
 * the loop is still finishing the batch), so an erase used to wait until every other request on the
 * context had finished (tens of ms at c=4; the new request then missed the batches it could have
 * joined). The pool counts the erases in flight (`prepare`), and generation on the plain path waits
 * for them to finish before asking for its next token (`pauseForErase`): the dispatch loop finds its
 * queue empty after the batch, ends, the erase runs, and the new prompt is queued before the paused
 * sequences queue again, so it is evaluated in the next batch, together with their tokens. Pausing
 * for one event-loop turn is not enough: the paused sequences then queue during the next native
 * decode, one after the other, and the loop never finds its queue empty. `LlamaChat` generation
 * cannot pause between tokens, so while one runs on the context nothing pauses (erases wait as
 * before rather than stall the plain streams behind it).
 */
import type { LlamaContext, LlamaContextSequence, Token } from 'node-llama-cpp';
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
  /** Erases started by `prepare` that have not finished (each waits for the context lock first). */
  private erasing = 0;
  /** `LlamaChat` generations running on the context (see `chatStarted`). */
  private chats = 0;
  /** What paused generation waits for: resolved when no erase is left or a `LlamaChat` starts. */
  private paused: { promise: Promise<void>; resume(): void } | undefined;

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

  /**
   * Readies an acquired sequence for a prompt of `tokens`: erases whatever it holds beyond their
   * common prefix and answers the tokens still to evaluate. The last prompt token is always
   * evaluated again: generation needs its logits.
   */
  async prepare(sequence: LlamaContextSequence, tokens: Token[]): Promise<Token[]> {
    if (sequence.nextTokenIndex === 0) return tokens;
    this.erasing++;
    try {
      if (tokens.length <= 1) {
        await sequence.eraseContextTokenRanges([{ start: 0, end: sequence.nextTokenIndex }]);
        return tokens;
      }
      await sequence.adaptStateToTokens(tokens.slice(0, -1), false);
      return tokens.slice(sequence.nextTokenIndex);
    } finally {
      this.erasing--;
      if (this.erasing === 0) this.resume();
    }
  }

  /**
   * While an erase is in flight on the context (and no `LlamaChat` generation runs), a promise that
   * settles when none is left, which generation awaits before asking for its next token (see the
   * module comment); otherwise `undefined`, so that the usual token costs nothing.
   */
  pauseForErase(): Promise<void> | undefined {
    if (this.erasing === 0 || this.chats > 0) return undefined;
    if (!this.paused) {
      let resume = () => {};
      const promise = new Promise<void>((resolve) => {
        resume = resolve;
      });
      this.paused = { promise, resume };
    }
    return this.paused.promise;
  }

  /**
   * Marks a `LlamaChat` generation on the context until the answered function is called: it
   * queues its tokens without pausing, so paused generation would wait for its whole answer.
   */
  chatStarted(): () => void {
    this.chats++;
    this.resume();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.chats--;
    };
  }

  private resume(): void {
    const paused = this.paused;
    this.paused = undefined;
    paused?.resume();
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
