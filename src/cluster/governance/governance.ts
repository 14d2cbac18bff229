/**
 * Gateway governance in the head process: the routes by name (kept in `routes.json` in the state
 * directory, so they survive a restart), what the router has learnt about each deployment, and the
 * one call that runs a request through a route.
 *
 * The gateway asks `route(model)` once per request: one `Map` lookup, so a request for a plain
 * deployment costs nothing more. `byzerllm route set|get|list|rm` reach it through the admin API.
 */
import path from 'node:path';
import { z } from 'zod';
import { type ChatResult, InvalidArgumentError } from '../../core/index.js';
import { ResponseCache, type RouteCache } from './response-cache.js';
import { readFileIfExists, writeFileAtomic } from '../state-store.js';
import {
  type CacheSettings,
  cacheSettingsSchema,
  type CooldownSettings,
  cooldownSettingsSchema,
  deploymentsOf,
  parseRouteConfig,
  type RouteConfig,
  routeNameSchema,
} from './route-config.js';
import { executeRoute, type RouteAttempt, type RouteProgress, triesAtMostOnce } from './route-executor.js';
import { TargetStates, type TargetStateView } from './target-states.js';

/** A route ready to run: its config as stored and its resolved cooldown settings. */
export interface ActiveRoute {
  name: string;
  config: RouteConfig;
  cooldown: CooldownSettings;
  /** Answers by normalised request, when the config has `cache`; the gateway fills and reads it. */
  cache?: RouteCache | undefined;
  /** Every deployment the route can send to (the gateway checks they all offer its pass-through). */
  deployments: readonly string[];
  /** No request through it is tried more than once (see `triesAtMostOnce`). */
  triesOnce: boolean;
}

/** `route stat`: every route by name, and every deployment the routes have sent to. */
export interface GovernanceStat {
  routes: string[];
  targets: TargetStateView[];
}

const routesFileSchema = z.object({ version: z.literal(1), routes: z.record(z.string(), z.unknown()) });

export interface GovernanceOptions {
  /** Where `routes.json` lives; without it routes live in memory only. */
  stateDirectory?: string;
  /** Injected by tests that drive cooldowns through time. */
  now?: () => number;
  random?: () => number;
  /**
   * The cache of a route that asks for one; defaults to an in-memory LRU here. On NATS the head and
   * every gateway give one in JetStream KV (`KvRouteCache`), so they all share one cache.
   */
  cacheOf?: (route: string, settings: CacheSettings) => RouteCache;
}

export class Governance {
  readonly states: TargetStates;
  private readonly routes = new Map<string, ActiveRoute>();
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly options: GovernanceOptions = {}) {
    this.states = new TargetStates(options.now);
  }

  /** Loads the stored routes; a route that no longer parses is reported and left out. */
  async load(log: (line: string) => void = () => {}): Promise<void> {
    const file = this.file();
    if (!file) return;
    const text = await readFileIfExists(file);
    if (text === undefined) return;
    const stored = routesFileSchema.parse(JSON.parse(text));
    for (const [name, config] of Object.entries(stored.routes)) {
      try {
        this.routes.set(name, this.activate(name, parseRouteConfig(config, `stored route ${name}`)));
      } catch (error) {
        log(`route ${name} left out: ${(error as Error).message}`);
      }
    }
  }

  /** The route a request's `model` names, if any: the gateway's one lookup per request. */
  route(model: string): ActiveRoute | undefined {
    return this.routes.get(model);
  }

  list(): ActiveRoute[] {
    return [...this.routes.values()].sort((left, right) => left.name.localeCompare(right.name));
  }

  /** Validates, stores and activates a route; `created` is false when it replaced one. */
  async set(name: string, input: unknown): Promise<{ created: boolean; route: ActiveRoute }> {
    const checkedName = routeNameSchema.safeParse(name);
    if (!checkedName.success) {
      throw new InvalidArgumentError(
        `invalid route name ${JSON.stringify(name)}: ${checkedName.error.issues[0]!.message}`,
      );
    }
    const route = this.activate(name, parseRouteConfig(input));
    const created = !this.routes.has(name);
    this.routes.set(name, route);
    await this.persist();
    this.changed();
    return { created, route };
  }

  async remove(name: string): Promise<boolean> {
    const removed = this.routes.delete(name);
    if (removed) {
      await this.persist();
      this.changed();
    }
    return removed;
  }

  /** Every route's config by name, as the head hands them to gateways on other machines. */
  configs(): Record<string, RouteConfig> {
    return Object.fromEntries(this.list().map((route) => [route.name, route.config]));
  }

  /**
   * Takes the head's route set as it is now (a gateway on another machine): routes gone from it
   * go, the others are (re)activated; a route whose config did not change keeps its cache here.
   */
  mirror(configs: Record<string, unknown>, log: (line: string) => void = () => {}): void {
    for (const name of [...this.routes.keys()]) if (!(name in configs)) this.routes.delete(name);
    for (const [name, input] of Object.entries(configs)) {
      try {
        const config = parseRouteConfig(input, `route ${name} from the head`);
        const current = this.routes.get(name);
        if (current && JSON.stringify(current.config) === JSON.stringify(config)) continue;
        this.routes.set(name, this.activate(name, config));
      } catch (error) {
        this.routes.delete(name);
        log(`route ${name} left out: ${(error as Error).message}`);
      }
    }
  }

  /** Called after every `set` and `remove` (the head tells gateways on NATS). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Runs one request through a route; `progress` says which deployment answered and after how many tries. */
  execute<Result>(
    route: ActiveRoute,
    attempt: RouteAttempt<Result>,
    signal: AbortSignal,
    progress: RouteProgress,
  ): Promise<Result> {
    return executeRoute({
      route: route.config,
      attempt,
      signal,
      progress,
      states: this.states,
      cooldown: route.cooldown,
      ...(this.options.random ? { random: this.options.random } : {}),
    });
  }

  stat(): GovernanceStat {
    return { routes: this.list().map((route) => route.name), targets: this.states.views() };
  }

  /**
   * Prometheus lines for the gateway's `/metrics`: per deployment the router has sent to, whether
   * it is cooling down, its cooldowns so far and its tries by outcome. Deployment names come from
   * routes an operator set, never from what a client sends.
   */
  renderMetrics(): string {
    const views = this.states.views();
    const cached = this.list().filter((route) => route.cache);
    const lines = [
      ...(cached.length === 0
        ? []
        : [
            '# HELP byzerllm_route_cache_requests_total Response cache lookups per route, by result.',
            '# TYPE byzerllm_route_cache_requests_total counter',
            ...cached.flatMap((route) => [
              `byzerllm_route_cache_requests_total{route=${label(route.name)},result="hit"} ${route.cache!.hits}`,
              `byzerllm_route_cache_requests_total{route=${label(route.name)},result="miss"} ${route.cache!.misses}`,
            ]),
            '# HELP byzerllm_route_cache_store_failures_total Answers a route could not store in its cache (NATS KV unreachable or refusing the write).',
            '# TYPE byzerllm_route_cache_store_failures_total counter',
            ...cached.map(
              (route) =>
                `byzerllm_route_cache_store_failures_total{route=${label(route.name)}} ${route.cache!.storeFailures}`,
            ),
          ]),
    ];
    if (views.length === 0) return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
    lines.push(
      '# HELP byzerllm_route_target_cooling_down 1 while the deployment is out of rotation after failures or a 429.',
      '# TYPE byzerllm_route_target_cooling_down gauge',
      ...views.map(
        (view) =>
          `byzerllm_route_target_cooling_down{deployment=${label(view.deployment)}} ${view.coolingDown ? 1 : 0}`,
      ),
      '# HELP byzerllm_route_target_cooldowns_total Cooldowns started per deployment.',
      '# TYPE byzerllm_route_target_cooldowns_total counter',
      ...views.map(
        (view) =>
          `byzerllm_route_target_cooldowns_total{deployment=${label(view.deployment)}} ${view.cooldowns}`,
      ),
      '# HELP byzerllm_route_target_tries_total Tries of a deployment through routes, by outcome.',
      '# TYPE byzerllm_route_target_tries_total counter',
      ...views.flatMap((view) => [
        `byzerllm_route_target_tries_total{deployment=${label(view.deployment)},outcome="success"} ${view.successes}`,
        `byzerllm_route_target_tries_total{deployment=${label(view.deployment)},outcome="failure"} ${view.failures}`,
      ]),
    );
    return `${lines.join('\n')}\n`;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private activate(name: string, config: RouteConfig): ActiveRoute {
    const cache = config.cache === undefined ? undefined : cacheSettingsSchema.parse(config.cache);
    const cacheOf =
      this.options.cacheOf ??
      ((_route: string, settings: CacheSettings) =>
        new ResponseCache<ChatResult>(
          { ttlMs: settings.ttl_seconds * 1000, maxEntries: settings.max_entries },
          this.options.now,
        ));
    return {
      name,
      config,
      cooldown: cooldownSettingsSchema.parse(config.cooldown ?? {}),
      cache: cache && cacheOf(name, cache),
      deployments: deploymentsOf(config),
      triesOnce: triesAtMostOnce(config),
    };
  }

  private file(): string | undefined {
    return this.options.stateDirectory ? path.join(this.options.stateDirectory, 'routes.json') : undefined;
  }

  /** Writes `routes.json`, one write at a time, so the last change always lands last. */
  private persist(): Promise<void> {
    const file = this.file();
    if (!file) return Promise.resolve();
    const content = `${JSON.stringify({ version: 1, routes: this.configs() }, null, 2)}\n`;
    this.writing = this.writing.catch(() => {}).then(() => writeFileAtomic(file, content, 0o600));
    return this.writing;
  }
}

function label(value: string): string {
  return JSON.stringify(value);
}
