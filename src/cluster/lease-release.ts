/**
 * Releasing a worker lease when a request ends, with what the worker's metrics record about it
 * (`worker-metrics.ts`): whether it failed and how many tokens it generated. Streams release
 * their lease when they end, fail or the consumer stops iterating.
 */
import type { StreamPart, Usage } from '../core/index.js';
import type { SlotCharge } from './slot-charge.js';
import { releasingIterator } from './transport/push-iterator.js';
import type { Lease } from './worker-pool.js';
import type { RequestOutcome } from './worker-metrics.js';

/** A call's result → its outcome: a chat result's output tokens; other kinds only count. */
export function callOutcome(kind: string, result: unknown): RequestOutcome | undefined {
  if (kind !== 'chat') return undefined;
  const outputTokens = (result as { usage?: { outputTokens?: number } }).usage?.outputTokens;
  return outputTokens === undefined ? undefined : { outputTokens };
}

/** An OpenAI pass-through answer's `usage.completion_tokens`, when the upstream sent it. */
export function openAIOutcome(answer: Record<string, unknown>): RequestOutcome | undefined {
  const outputTokens = (answer.usage as { completion_tokens?: unknown } | undefined)?.completion_tokens;
  return typeof outputTokens === 'number' ? { outputTokens } : undefined;
}

/**
 * The items of a stream; the worker is marked idle and its lease released when the stream ends. A
 * plain iterator rather than a generator (`transport/push-iterator.ts`): every part of a fast local
 * model passes through here, and a generator hop costs several microtasks per part.
 */
export function releaseWhenDone<Item>(
  items: AsyncIterable<Item>,
  done: () => void,
  lease: Lease,
): AsyncIterable<Item> {
  return releasingIterator(items, (completed) => {
    done();
    lease.release(completed ? undefined : { failed: true });
  });
}

/**
 * Like `releaseWhenDone` for stream parts: the `finish` part's usage gives the tokens, an `error`
 * part (or a stream that breaks or is left before its end) counts as failed. A ticket's charge is
 * settled with the finish part's usage before the slot is freed.
 */
export function releaseWhenPartsDone(
  parts: AsyncIterable<StreamPart>,
  done: () => void,
  lease: Lease,
  charge?: SlotCharge,
): AsyncIterable<StreamPart> {
  let outcome: RequestOutcome = { failed: true };
  let usage: Usage | undefined;
  return releasingIterator(
    parts,
    (completed) => {
      done();
      charge?.finish(usage);
      lease.release(completed ? outcome : { failed: true });
    },
    (part) => {
      if (part.type === 'finish') {
        outcome = { outputTokens: part.usage.outputTokens };
        usage = part.usage;
      }
    },
  );
}
