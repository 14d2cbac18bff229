import type { BalanceStrategy, PickHint, WorkerSlotView } from './balance-strategy.js';
import { isAvailable } from './balance-strategy.js';

export interface PrefixAffinityOptions {
  /** Prefix keys remembered (least recently used forgotten first). Defaults to 4096. */
  maxKeys?: number;
}

/**
 * Prefix affinity: a chat request whose prompt starts like an earlier one's (same conversation,
 * same long system prompt) goes to the worker that served that one, whose llama.cpp sequences still
 * hold the prefix's KV cache, so only the new tokens are evaluated. The longest remembered prefix
 * whose worker can take it wins. When every such worker is overloaded (no free slot: its queue is
 * full) or unready, or the request has no key, the
 * request goes to the least busy worker (most free slots, then least recently used) and its keys
 * move there. Memory is bounded: at most `maxKeys` keys, in a `Map` kept in LRU order.
 */
export function createPrefixAffinityStrategy(options: PrefixAffinityOptions = {}): BalanceStrategy {
  const maxKeys = options.maxKeys ?? 4096;
  const workerByKey = new Map<number, number>();

  const remember = (keys: readonly number[], index: number) => {
    for (const key of keys) {
      workerByKey.delete(key);
      workerByKey.set(key, index);
    }
    for (const key of workerByKey.keys()) {
      if (workerByKey.size <= maxKeys) break;
      workerByKey.delete(key);
    }
  };

  return {
    name: 'prefix_affinity',
    needsAffinityKeys: true,
    pick(workers: readonly WorkerSlotView[], hint?: PickHint) {
      const keys = hint?.affinityKeys ?? [];
      for (const key of keys) {
        const index = workerByKey.get(key);
        if (index === undefined) continue;
        const worker = workers[index];
        if (worker && isAvailable(worker)) {
          remember(keys, index);
          return index;
        }
      }
      const chosen = leastBusy(workers);
      if (chosen !== undefined) remember(keys, chosen);
      return chosen;
    },
  };
}

function leastBusy(workers: readonly WorkerSlotView[]): number | undefined {
  let best: WorkerSlotView | undefined;
  for (const worker of workers) {
    if (!isAvailable(worker)) continue;
    if (
      best === undefined ||
      worker.freeSlots > best.freeSlots ||
      (worker.freeSlots === best.freeSlots && worker.lastHandedOutAt < best.lastHandedOutAt)
    )
      best = worker;
  }
  return best?.index;
}
