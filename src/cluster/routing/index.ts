import type { LoadBalanceStrategy } from '../../core/index.js';
import type { BalanceStrategy } from './balance-strategy.js';
import { createLruStrategy } from './lru-strategy.js';
import { createPrefixAffinityStrategy } from './prefix-affinity-strategy.js';
import { createRoundRobinStrategy } from './round-robin-strategy.js';

export { affinityKeysOf } from './affinity-keys.js';
export type { BalanceStrategy, PickHint, WorkerSlotView } from './balance-strategy.js';
export { createLruStrategy } from './lru-strategy.js';
export { createPrefixAffinityStrategy } from './prefix-affinity-strategy.js';
export { createRoundRobinStrategy } from './round-robin-strategy.js';

const factories: Record<LoadBalanceStrategy, () => BalanceStrategy> = {
  lru: createLruStrategy,
  round_robin: createRoundRobinStrategy,
  prefix_affinity: () => createPrefixAffinityStrategy(),
};

export function createBalanceStrategy(name: LoadBalanceStrategy): BalanceStrategy {
  return factories[name]();
}
