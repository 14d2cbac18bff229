import type { BalanceStrategy, WorkerSlotView } from './balance-strategy.js';
import { isAvailable } from './balance-strategy.js';

/**
 * Least recently used (the default): the available worker that was handed a request longest ago.
 * Spreads load evenly and lets an idle worker's connections stay warm.
 */
export function createLruStrategy(): BalanceStrategy {
  return {
    name: 'lru',
    pick(workers: readonly WorkerSlotView[]) {
      let best: WorkerSlotView | undefined;
      for (const worker of workers) {
        if (!isAvailable(worker)) continue;
        if (best === undefined || worker.lastHandedOutAt < best.lastHandedOutAt) best = worker;
      }
      return best?.index;
    },
  };
}
