/** Gateway governance: routing configs by virtual model name, their executor, cooldowns. */
export * from './governance.js';
export * from './route-config.js';
export {
  executeRoute,
  type ExecuteRouteOptions,
  type RouteAttempt,
  type RouteProgress,
  triesAtMostOnce,
} from './route-executor.js';
export { ResponseCache, type RouteCache } from './response-cache.js';
export { type RouteStrategy, strategyFor } from './route-strategies.js';
export { type TargetState, TargetStates, type TargetStateView } from './target-states.js';
export * from './access-control.js';
export * from './access-lookups.js';
export * from './access-gate.js';
export { RateWindow } from './rate-window.js';
export * from './virtual-keys.js';
export {
  createRoutedCluster,
  openFirstPart,
  openRoutedStream,
  type RoutedCluster,
} from './routed-cluster.js';
