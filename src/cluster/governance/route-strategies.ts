/**
 * The routing strategies: small objects that order a node's targets; `route-executor.ts` runs them.
 *
 * Each gets the targets still available (not all cooled down, see `TargetStates`) and returns the
 * order to try them in. Only `fallback` moves on to the next target after a failure; the others
 * pick one target per request, whose own `retries` cover transient failures.
 */
import { assertNever } from '../../core/index.js';
import { deploymentsOf, type RouteStrategyName, type RouteTarget } from './route-config.js';
import type { TargetStates } from './target-states.js';

export interface StrategyContext {
  states: TargetStates;
  /** A number in [0, 1); `Math.random` outside tests. */
  random: () => number;
}

export interface RouteStrategy {
  /** Whether a failure of one target moves on to the next in `order`. */
  readonly movesOn: boolean;
  /** The targets to try, first first; may be `targets` itself (never changed by the caller). */
  order(targets: readonly RouteTarget[], context: StrategyContext): readonly RouteTarget[];
}

const inOrder: RouteStrategy = { movesOn: false, order: (targets) => targets };

const fallback: RouteStrategy = { movesOn: true, order: (targets) => targets };

/** One target drawn by weight (default 1). */
const loadbalance: RouteStrategy = {
  movesOn: false,
  order(targets, context) {
    const total = targets.reduce((sum, target) => sum + (target.weight ?? 1), 0);
    let draw = context.random() * total;
    for (const target of targets) {
      draw -= target.weight ?? 1;
      if (draw < 0) return [target];
    }
    return [targets[targets.length - 1]!];
  },
};

/** The target with the fewest requests in flight (summed over a nested node's deployments). */
const leastBusy: RouteStrategy = {
  movesOn: false,
  order(targets, context) {
    return [
      minimumBy(targets, (target) =>
        deploymentsOf(target).reduce((sum, name) => sum + context.states.get(name).inFlight, 0),
      ),
    ];
  },
};

/**
 * The target with the lowest average latency; one never measured counts as 0, so each gets tried
 * and measured once before the fastest takes over.
 */
const latency: RouteStrategy = {
  movesOn: false,
  order(targets, context) {
    return [
      minimumBy(targets, (target) =>
        Math.min(...deploymentsOf(target).map((name) => context.states.get(name).latencyMs ?? 0)),
      ),
    ];
  },
};

function minimumBy(targets: readonly RouteTarget[], score: (target: RouteTarget) => number): RouteTarget {
  let best = targets[0]!;
  let bestScore = score(best);
  for (let index = 1; index < targets.length; index++) {
    const candidate = score(targets[index]!);
    if (candidate < bestScore) {
      best = targets[index]!;
      bestScore = candidate;
    }
  }
  return best;
}

export function strategyFor(name: RouteStrategyName): RouteStrategy {
  switch (name) {
    case 'single':
      return inOrder;
    case 'fallback':
      return fallback;
    case 'loadbalance':
      return loadbalance;
    case 'least_busy':
      return leastBusy;
    case 'latency':
      return latency;
    default:
      return assertNever(name);
  }
}
