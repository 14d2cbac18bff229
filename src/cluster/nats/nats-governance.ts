/**
 * Routes, cooldowns and response caches shared by every gateway of a NATS cluster. The head owns
 * the routes (`routes.json`) and the caches; a gateway started with `--address nats://…` runs
 * routes itself (retries, fallbacks, its own calls) over a mirror of the head's route set.
 *
 * Subjects (all payloads zod-checked):
 * - `byzerllm.governance.routes` (request/reply, head): every route's config by name;
 *   `byzerllm.governance.changed` (the head publishes the whole set after each `route set|rm`).
 * - `byzerllm.governance.cooldown` (published by whoever starts one, head or gateway; everyone
 *   else applies it): `{origin, deployment, durationMs}` — a duration, so clocks need not agree.
 * - `byzerllm.governance.cache.get` / `.set` (request/reply, head): a route's cache entry by key.
 *   A set is answered once stored, so the client's next request finds it on any gateway.
 */
import { randomUUID } from 'node:crypto';
import type { Service, ServiceMsg } from '@nats-io/services';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import type { ChatResult } from '../../core/index.js';
import { Governance, type RouteCache } from '../governance/index.js';
import { failureReply } from '../wire/index.js';
import { HEAD_QUEUE, respondReliably } from './nats-admin-server.js';
import { dropInvalid, parseWire, subscribeParsed } from './nats-messages.js';
import { encode, SUBJECT_PREFIX } from './nats-protocol.js';
import { natsRequest } from './nats-request.js';

const governanceSubjects = {
  routes: `${SUBJECT_PREFIX}.governance.routes`,
  changed: `${SUBJECT_PREFIX}.governance.changed`,
  cooldown: `${SUBJECT_PREFIX}.governance.cooldown`,
  cacheGet: `${SUBJECT_PREFIX}.governance.cache.get`,
  cacheSet: `${SUBJECT_PREFIX}.governance.cache.set`,
};

const routeSetSchema = z.strictObject({ routes: z.record(z.string(), z.unknown()) });
const cooldownSchema = z.strictObject({
  origin: z.string(),
  deployment: z.string().min(1),
  durationMs: z.number().nonnegative().max(86_400_000),
});
/** A cached answer on the wire: the fields of a `ChatResult`. */
const cachedAnswerSchema = z.object({
  text: z.string(),
  reasoning: z.string().optional(),
  toolCalls: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })),
  finishReason: z.string(),
  usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }).passthrough(),
  requestId: z.string(),
  modelId: z.string().optional(),
  warnings: z.array(z.unknown()),
});
const cacheGetSchema = z.strictObject({ route: z.string(), key: z.string() });
const cacheSetSchema = z.strictObject({ route: z.string(), key: z.string(), value: cachedAnswerSchema });
const cacheAnswerSchema = z.strictObject({ value: cachedAnswerSchema.nullable() });
/** The head answers quickly or not at all. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Serves the head's routes and caches to gateways on NATS, and shares cooldowns both ways. */
export function serveGovernanceOverNats(
  connection: NatsConnection,
  service: Service,
  governance: Governance,
  log: (line: string) => void,
): Subscription {
  service.addEndpoint('governance-routes', {
    subject: governanceSubjects.routes,
    queue: HEAD_QUEUE,
    handler: (_error: Error | null, message: ServiceMsg) =>
      respondReliably(connection, message, { ok: true, result: { routes: governance.configs() } }),
  });
  const cacheOf = (route: string): RouteCache | undefined => governance.route(route)?.cache;
  service.addEndpoint('governance-cache-get', {
    subject: governanceSubjects.cacheGet,
    queue: HEAD_QUEUE,
    handler: async (_error: Error | null, message: ServiceMsg) => {
      const parsed = parseWire(cacheGetSchema, message.data);
      if (!parsed.ok) return dropInvalid(message, parsed.reason, log);
      try {
        const value = (await cacheOf(parsed.value.route)?.get(parsed.value.key)) ?? null;
        respondReliably(connection, message, { ok: true, result: { value } });
      } catch (error) {
        respondReliably(connection, message, failureReply(error));
      }
    },
  });
  service.addEndpoint('governance-cache-set', {
    subject: governanceSubjects.cacheSet,
    queue: HEAD_QUEUE,
    handler: async (_error: Error | null, message: ServiceMsg) => {
      const parsed = parseWire(cacheSetSchema, message.data);
      if (!parsed.ok) return dropInvalid(message, parsed.reason, log);
      const { route, key, value } = parsed.value;
      await cacheOf(route)?.set(key, value as ChatResult);
      respondReliably(connection, message, { ok: true, result: {} });
    },
  });
  governance.onChange(() =>
    connection.publish(governanceSubjects.changed, encode({ routes: governance.configs() })),
  );
  return shareCooldowns(connection, governance, log);
}

/** Publishes the cooldowns `governance` starts and applies the ones others publish. */
function shareCooldowns(
  connection: NatsConnection,
  governance: Governance,
  log: (line: string) => void,
): Subscription {
  const origin = randomUUID();
  governance.states.onCooldown = (deployment, durationMs) =>
    connection.publish(governanceSubjects.cooldown, encode({ origin, deployment, durationMs }));
  return subscribeParsed(
    connection,
    governanceSubjects.cooldown,
    (message) => parseWire(cooldownSchema, message.data),
    (cooldown) => {
      if (cooldown.origin !== origin) governance.states.coolDownFor(cooldown.deployment, cooldown.durationMs);
    },
    log,
  );
}

/** A route's cache kept by the head; hits and misses are this gateway's own, for its `/metrics`. */
class NatsRouteCache implements RouteCache {
  hits = 0;
  misses = 0;

  constructor(
    private readonly connection: NatsConnection,
    private readonly route: string,
  ) {}

  async get(key: string): Promise<ChatResult | undefined> {
    const answer = cacheAnswerSchema.parse(
      await natsRequest<unknown>(
        this.connection,
        governanceSubjects.cacheGet,
        { route: this.route, key },
        REQUEST_TIMEOUT_MS,
      ),
    );
    if (answer.value) this.hits++;
    else this.misses++;
    return (answer.value as ChatResult | null) ?? undefined;
  }

  async set(key: string, value: ChatResult): Promise<void> {
    await natsRequest(
      this.connection,
      governanceSubjects.cacheSet,
      { route: this.route, key, value },
      REQUEST_TIMEOUT_MS,
    );
  }
}

/**
 * The governance of a gateway on another machine: the head's routes, kept current from
 * `governance.changed`, the head's caches, and cooldowns shared with every other gateway.
 */
export class NatsGovernance {
  private constructor(
    readonly governance: Governance,
    private readonly subscriptions: Subscription[],
  ) {}

  /** Subscribes to changes first, then asks for the route set, so no change falls in between. */
  static async open(
    connection: NatsConnection,
    log: (line: string) => void = () => {},
  ): Promise<NatsGovernance> {
    const governance = new Governance({ cacheOf: (route) => new NatsRouteCache(connection, route) });
    const changes = subscribeParsed(
      connection,
      governanceSubjects.changed,
      (message) => parseWire(routeSetSchema, message.data),
      (set) => governance.mirror(set.routes, log),
      log,
    );
    const cooldowns = shareCooldowns(connection, governance, log);
    const opened = new NatsGovernance(governance, [changes, cooldowns]);
    const current = routeSetSchema.parse(
      await natsRequest<unknown>(connection, governanceSubjects.routes, {}, REQUEST_TIMEOUT_MS),
    );
    governance.mirror(current.routes, log);
    return opened;
  }

  close(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }
}
