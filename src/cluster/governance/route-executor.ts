/**
 * Runs one request through a route: the one executor for every strategy and nesting depth.
 *
 * A node asks its strategy for the order of its available targets (`route-strategies.ts`); a target
 * is tried `retries + 1` times while its failures are retryable, each try bounded by its
 * `timeout_ms`; a `fallback` node moves on to its next target when the failure matches `on`. Every
 * try of a deployment is recorded in `TargetStates` (in flight, latency, failures → cooldown).
 * Cooldown steers picks only: when every target of a node is cooling down, the node still tries
 * them rather than failing a request that one of them might answer.
 */
import { AbortedError, type ByzerLLMError, TimeoutError, toByzerLLMError } from '../../core/index.js';
import {
  type CooldownSettings,
  deploymentsOf,
  type FallbackCondition,
  isDeploymentTarget,
  type DeploymentTarget,
  type RouteNode,
  type RouteTarget,
} from './route-config.js';
import { type StrategyContext, strategyFor } from './route-strategies.js';
import type { TargetStates } from './target-states.js';

/** One try of one deployment; it must stop when `signal` aborts. */
export type RouteAttempt<Result> = (deployment: string, signal: AbortSignal) => Promise<Result>;

/** What a request went through, readable whether it succeeded or not (response headers). */
export interface RouteProgress {
  /** Tries of deployments so far. */
  attempts: number;
  /** The deployment tried last: the one that answered, after a success. */
  deployment: string;
}

export interface ExecuteRouteOptions<Result> {
  route: RouteNode;
  attempt: RouteAttempt<Result>;
  /** The caller's signal: when it aborts, nothing more is tried. */
  signal: AbortSignal;
  states: TargetStates;
  cooldown: CooldownSettings;
  progress: RouteProgress;
  random?: () => number;
}

/** Errors that are the caller's own: trying elsewhere cannot help, and they are no target's fault. */
const CALLER_ERRORS = new Set(['invalid_argument', 'aborted']);

export function executeRoute<Result>(options: ExecuteRouteOptions<Result>): Promise<Result> {
  const context: StrategyContext = { states: options.states, random: options.random ?? Math.random };

  // A target tried once (no `retries`, the common case) is its try's own promise: no async frame
  // to wait through. Its failures are already `ByzerLLMError`s.
  function runTarget(target: RouteTarget, signal: AbortSignal): Promise<Result> {
    const tries = (target.retries ?? 0) + 1;
    if (tries === 1)
      return isDeploymentTarget(target) ? tryDeployment(target, signal) : runNode(target, signal);
    return retryTarget(target, tries, signal);
  }

  async function retryTarget(target: RouteTarget, tries: number, signal: AbortSignal): Promise<Result> {
    let lastError: ByzerLLMError | undefined;
    for (let attempt = 0; attempt < tries; attempt++) {
      try {
        return isDeploymentTarget(target)
          ? await tryDeployment(target, signal)
          : await runNode(target, signal);
      } catch (error) {
        lastError = toByzerLLMError(error);
        if (!lastError.isRetryable || options.signal.aborted) throw lastError;
      }
    }
    throw lastError!;
  }

  async function runNode(node: RouteNode, outerSignal: AbortSignal): Promise<Result> {
    const signal = withTimeout(outerSignal, node.timeout_ms);
    const strategy = strategyFor(node.strategy);
    const ordered = strategy.order(availableTargets(node.targets, options.states), context);
    // One target per request: its outcome is the node's.
    if (!strategy.movesOn) return runTarget(ordered[0]!, signal);
    let lastError: ByzerLLMError | undefined;
    for (const target of ordered) {
      try {
        return await runTarget(target, signal);
      } catch (error) {
        lastError = toByzerLLMError(error);
        if (options.signal.aborted || !fallsBack(node.on, lastError)) throw lastError;
      }
    }
    throw lastError!;
  }

  async function tryDeployment(target: DeploymentTarget, outerSignal: AbortSignal): Promise<Result> {
    const { deployment } = target;
    const timeout = target.timeout_ms === undefined ? undefined : AbortSignal.timeout(target.timeout_ms);
    const signal = timeout ? AbortSignal.any([outerSignal, timeout]) : outerSignal;
    options.progress.attempts++;
    options.progress.deployment = deployment;
    options.states.started(deployment);
    const startedAt = performance.now();
    try {
      const result = await options.attempt(deployment, signal);
      options.states.succeeded(deployment, performance.now() - startedAt);
      return result;
    } catch (error) {
      let failure = toByzerLLMError(error);
      if (options.signal.aborted) {
        options.states.abandoned(deployment);
        throw new AbortedError('the request was cancelled', { cause: error });
      }
      // The caller is still there, so a timeout (this target's or an enclosing node's) cut the try.
      if (signal.aborted) {
        const limit = timeout?.aborted ? `its ${target.timeout_ms} ms timeout` : "its node's timeout";
        failure = new TimeoutError(`deployment ${deployment} did not answer within ${limit}`, {
          cause: error,
        });
      }
      if (CALLER_ERRORS.has(failure.code)) options.states.abandoned(deployment);
      else options.states.failed(deployment, failure, options.cooldown);
      throw failure;
    }
  }

  return runTarget(options.route, options.signal);
}

/**
 * The targets not cooling down: the node's own list when all are (most requests; no new array).
 * Every target cooling down: the request is still tried, healthiest first (recent success rate of
 * a target's best deployment), so a target failing half the time goes before a dead one.
 */
function availableTargets(targets: readonly RouteTarget[], states: TargetStates): readonly RouteTarget[] {
  const isAvailable = (target: RouteTarget) => deploymentsOf(target).some((name) => states.isAvailable(name));
  if (targets.every(isAvailable)) return targets;
  const available = targets.filter(isAvailable);
  return available.length > 0 ? available : healthiestFirst(targets, states);
}

function healthiestFirst(targets: readonly RouteTarget[], states: TargetStates): RouteTarget[] {
  const health = (target: RouteTarget) =>
    Math.max(...deploymentsOf(target).map((name) => states.health(name)));
  return [...targets].sort((left, right) => health(right) - health(left));
}

/**
 * Whether a request through `target` is tried on one deployment once at most: no `retries`
 * anywhere and no node that moves on after a failure (a `fallback` of several targets). The
 * gateway's OpenAI pass-through hands its body to the engine, which may change it; only a route
 * that can try again needs a copy for the next try.
 */
export function triesAtMostOnce(target: RouteTarget): boolean {
  if ((target.retries ?? 0) > 0) return false;
  if (isDeploymentTarget(target)) return true;
  if (strategyFor(target.strategy).movesOn && target.targets.length > 1) return false;
  return target.targets.every(triesAtMostOnce);
}

/** A node-level timeout: the node's whole run, all targets and retries included. */
function withTimeout(signal: AbortSignal, timeoutMs: number | undefined): AbortSignal {
  return timeoutMs === undefined ? signal : AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
}

function fallsBack(condition: FallbackCondition | undefined, error: ByzerLLMError): boolean {
  if (!condition) return !CALLER_ERRORS.has(error.code);
  if (condition.codes?.includes(error.code)) return true;
  const status = error.details.status;
  return typeof status === 'number' && (condition.statuses?.includes(status) ?? false);
}
