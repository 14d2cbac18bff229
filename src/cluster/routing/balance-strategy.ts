/**
 * Load-balancing strategies: small objects that pick a worker among those with a free slot.
 *
 * A strategy only chooses; slot accounting, waiting and pinning belong to the pool. Every strategy
 * runs the shared suite in `test/cluster/balance-strategy.test.ts`.
 */
import type { LoadBalanceStrategy } from '../../core/index.js';

/** What a strategy may look at for each worker. */
export interface WorkerSlotView {
  readonly index: number;
  readonly freeSlots: number;
  /** `performance.now()` when the worker was last handed a request (0 = never). */
  readonly lastHandedOutAt: number;
  readonly ready: boolean;
}

export interface BalanceStrategy {
  readonly name: LoadBalanceStrategy;
  /** Returns the index of a ready worker with a free slot, or undefined when none has one. */
  pick(workers: readonly WorkerSlotView[]): number | undefined;
}

export function isAvailable(worker: WorkerSlotView): boolean {
  return worker.ready && worker.freeSlots > 0;
}
