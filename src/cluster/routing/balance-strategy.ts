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

/** What a strategy may know about the request it places (only strategies that need it read it). */
export interface PickHint {
  /**
   * Hashes of the request's prompt prefixes, longest first (`affinityKeysOf`); present only for
   * chat requests on a deployment whose strategy asks for them (`needsAffinityKeys`).
   */
  readonly affinityKeys?: readonly number[];
}

export interface BalanceStrategy {
  readonly name: LoadBalanceStrategy;
  /** True when `pick` reads `PickHint.affinityKeys`, so callers compute them only then. */
  readonly needsAffinityKeys?: boolean;
  /** Returns the index of a ready worker with a free slot, or undefined when none has one. */
  pick(workers: readonly WorkerSlotView[], hint?: PickHint): number | undefined;
}

export function isAvailable(worker: WorkerSlotView): boolean {
  return worker.ready && worker.freeSlots > 0;
}
