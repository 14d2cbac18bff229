/**
 * Routing configs: a virtual model name resolved to deployments as validated data (after Portkey's
 * recursive targets). A node picks among its `targets` with a strategy; a target is a deployment or
 * another node, nested to any depth; each target may retry and time out on its own.
 *
 * ```yaml
 * strategy: fallback
 * on: { statuses: [429, 500, 503] }
 * targets:
 *   - deployment: gpt_primary
 *     timeout_ms: 20000
 *   - strategy: loadbalance
 *     targets:
 *       - { deployment: local_a, weight: 3, retries: 2 }
 *       - { deployment: local_b, weight: 1 }
 * ```
 */
import { z } from 'zod';
import { ERROR_CODES, InvalidArgumentError } from '../../core/index.js';

export const ROUTE_STRATEGIES = ['single', 'loadbalance', 'fallback', 'least_busy', 'latency'] as const;
export type RouteStrategyName = (typeof ROUTE_STRATEGIES)[number];

/** What every target (deployment or nested node) may set. */
const targetSettings = {
  /** Share of `loadbalance` picks, relative to its siblings. Defaults to 1. */
  weight: z.number().positive().optional(),
  /** Further tries of this target after a retryable failure, before its node gives up on it. Defaults to 0. */
  retries: z.number().int().min(0).max(100).optional(),
  /** Time one try of this target may take; a try over it fails as retryable `timeout`. No limit by default. */
  timeout_ms: z.number().int().positive().optional(),
};

export interface DeploymentTarget {
  deployment: string;
  weight?: number | undefined;
  retries?: number | undefined;
  timeout_ms?: number | undefined;
}

/** Which failures move a `fallback` node on to its next target. */
export interface FallbackCondition {
  /** Error codes (`upstream_rate_limit`, `worker_failed`, …). */
  codes?: (typeof ERROR_CODES)[number][] | undefined;
  /** Upstream HTTP statuses (`details.status` of an upstream error). */
  statuses?: number[] | undefined;
}

export interface RouteNode {
  strategy: RouteStrategyName;
  targets: RouteTarget[];
  /**
   * `fallback` only. Without it a node moves on after any failure except the caller's own
   * (`invalid_argument`, `aborted`): those would fail on every target alike.
   */
  on?: FallbackCondition | undefined;
  weight?: number | undefined;
  retries?: number | undefined;
  timeout_ms?: number | undefined;
}

export type RouteTarget = DeploymentTarget | RouteNode;

export function isDeploymentTarget(target: RouteTarget): target is DeploymentTarget {
  return 'deployment' in target;
}

const deploymentTargetSchema = z.strictObject({ deployment: z.string().min(1), ...targetSettings });

const fallbackConditionSchema = z.strictObject({
  codes: z.array(z.enum(ERROR_CODES)).min(1).optional(),
  statuses: z.array(z.number().int().min(100).max(599)).min(1).optional(),
});

export const routeNodeSchema: z.ZodType<RouteNode> = z.lazy(() =>
  z
    .strictObject({
      strategy: z.enum(ROUTE_STRATEGIES),
      targets: z.array(z.union([deploymentTargetSchema, routeNodeSchema])).min(1),
      on: fallbackConditionSchema.optional(),
      ...targetSettings,
    })
    .refine((node) => node.strategy !== 'single' || node.targets.length === 1, {
      message: 'strategy single takes exactly one target',
      path: ['targets'],
    })
    .refine((node) => node.on === undefined || node.strategy === 'fallback', {
      message: '`on` applies to strategy fallback only',
      path: ['on'],
    }),
);

/** When a target is taken out of rotation, and for how long. */
export const cooldownSettingsSchema = z.strictObject({
  /** Failures within `window_seconds` that take a deployment out. Defaults to 3. */
  failures: z.number().int().positive().default(3),
  window_seconds: z.number().positive().default(60),
  /** How long it stays out (a 429's `Retry-After` wins when it says). Defaults to 30. */
  cooldown_seconds: z.number().positive().default(30),
});
export type CooldownSettings = z.output<typeof cooldownSettingsSchema>;

/** An exact-match response cache for the route (off unless set). */
export const cacheSettingsSchema = z.strictObject({
  /** How long an answer is served from the cache. Defaults to 300; on NATS at most a day. */
  ttl_seconds: z.number().positive().default(300),
  /**
   * Answers kept in memory; the least recently used go first. Defaults to 1000. On NATS the cache
   * is the cluster's shared KV bucket, whose size limit applies instead (`kv-route-cache.ts`).
   */
  max_entries: z.number().int().positive().default(1000),
});
export type CacheSettings = z.output<typeof cacheSettingsSchema>;

/** A stored route: the tree, plus its cooldown and cache settings at the top. */
export type RouteConfig = RouteNode & {
  cooldown?: z.input<typeof cooldownSettingsSchema> | undefined;
  cache?: z.input<typeof cacheSettingsSchema> | undefined;
};

/** A route name: the `model` clients send. */
export const routeNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'letters, digits and . _ : / - (at most 128)');

/** Parses a route config, naming the first bad field. */
export function parseRouteConfig(input: unknown, source = 'route'): RouteConfig {
  // `cooldown` sits beside the top node's fields; nested nodes have none (settings are per route).
  const { cooldown, cache, ...node } =
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? (input as Record<string, unknown>)
      : { cooldown: undefined, cache: undefined };
  const parsedNode = routeNodeSchema.safeParse(node);
  const parsedCooldown = cooldownSettingsSchema.optional().safeParse(cooldown);
  const parsedCache = cacheSettingsSchema.optional().safeParse(cache);
  const failure = !parsedNode.success
    ? parsedNode.error.issues[0]!
    : !parsedCooldown.success
      ? { ...parsedCooldown.error.issues[0]!, path: ['cooldown', ...parsedCooldown.error.issues[0]!.path] }
      : !parsedCache.success
        ? { ...parsedCache.error.issues[0]!, path: ['cache', ...parsedCache.error.issues[0]!.path] }
        : undefined;
  if (failure) {
    const where = failure.path.length > 0 ? failure.path.join('.') : '(top level)';
    throw new InvalidArgumentError(`invalid ${source} at ${where}: ${failure.message}`);
  }
  return {
    ...(parsedNode.data as RouteNode),
    ...(cooldown === undefined ? {} : { cooldown: cooldown as RouteConfig['cooldown'] }),
    ...(cache === undefined ? {} : { cache: cache as RouteConfig['cache'] }),
  };
}

const deploymentLists = new WeakMap<RouteTarget, readonly string[]>();

/**
 * Every deployment a target reaches, depth first. Listed once per target object (a parsed route is
 * never changed; a changed route is parsed anew), since the executor asks on every request.
 */
export function deploymentsOf(target: RouteTarget): readonly string[] {
  let list = deploymentLists.get(target);
  if (!list) {
    list = isDeploymentTarget(target) ? [target.deployment] : target.targets.flatMap(deploymentsOf);
    deploymentLists.set(target, list);
  }
  return list;
}
