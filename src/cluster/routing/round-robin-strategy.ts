import type { BalanceStrategy, WorkerSlotView } from './balance-strategy.js';
import { isAvailable } from './balance-strategy.js';

/** Round robin: the next available worker after the one chosen last, in index order. */
export function createRoundRobinStrategy(): BalanceStrategy {
  let cursor = -1;
  return {
    name: 'round_robin',
    pick(workers: readonly WorkerSlotView[]) {
      const count = workers.length;
      for (let step = 1; step <= count; step++) {
        const worker = workers[(cursor + step) % count];
        if (worker && isAvailable(worker)) {
          cursor = worker.index;
          return worker.index;
        }
      }
      return undefined;
    },
  };
}
