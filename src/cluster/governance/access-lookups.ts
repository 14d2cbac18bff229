/** What `AccessControl` looks up by name: deployments' prices, routes' target deployments. */
import { type DeploymentSpec, type TokenPrice, tokenPriceOf } from '../../core/index.js';
import type { Governance } from './governance.js';
import { deploymentsOf } from './route-config.js';

/**
 * `priceOf` over running deployments' specs: each spec's price parsed once (it was checked at
 * deploy), looked up per request by name.
 */
export function pricesOfSpecs(
  specOf: (name: string) => DeploymentSpec | undefined,
): (name: string) => TokenPrice | undefined {
  const prices = new WeakMap<DeploymentSpec, TokenPrice | null>();
  return (name) => {
    const spec = specOf(name);
    if (!spec) return undefined;
    let price = prices.get(spec);
    if (price === undefined) {
      price = tokenPriceOf(spec.inferParams) ?? null;
      prices.set(spec, price);
    }
    return price ?? undefined;
  };
}

/** `targetsOf` over a governance's routes: every deployment a route may send to (cached per config). */
export function routeTargetsOf(governance: Governance): (name: string) => readonly string[] | undefined {
  return (name) => {
    const route = governance.route(name);
    return route && deploymentsOf(route.config);
  };
}
