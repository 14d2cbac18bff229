/**
 * Routes and cooldowns shared by every gateway of a NATS cluster. The head owns the routes
 * (`routes.json`); a gateway started with `--address nats://…` runs routes itself (retries,
 * fallbacks, its own calls) over a mirror of the head's route set. Response caches are in
 * JetStream KV, read and written by each gateway directly (`kv-route-cache.ts`), not the head's.
 *
 * Subjects (all payloads zod-checked):
 * - `byzerllm.governance.routes` (request/reply, head): every route's config by name;
 *   `byzerllm.governance.changed` (the head publishes the whole set after each `route set|rm`).
 * - `byzerllm.governance.cooldown` (published by whoever starts one, head or gateway; everyone
 *   else applies it): `{origin, deployment, durationMs}` — a duration, so clocks need not agree.
 */
import { randomUUID } from 'node:crypto';
import type { Service, ServiceMsg } from '@nats-io/services';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { Governance } from '../governance/index.js';
import { kvRouteCaches } from './kv-route-cache.js';
import { HEAD_QUEUE, respondReliably } from './nats-admin-server.js';
import { parseWire, subscribeParsed } from './nats-messages.js';
import { encode, SUBJECT_PREFIX } from './nats-protocol.js';
import { natsRequest } from './nats-request.js';

const governanceSubjects = {
  routes: `${SUBJECT_PREFIX}.governance.routes`,
  changed: `${SUBJECT_PREFIX}.governance.changed`,
  cooldown: `${SUBJECT_PREFIX}.governance.cooldown`,
};

const routeSetSchema = z.strictObject({ routes: z.record(z.string(), z.unknown()) });
const cooldownSchema = z.strictObject({
  origin: z.string(),
  deployment: z.string().min(1),
  durationMs: z.number().nonnegative().max(86_400_000),
});
/** The head answers quickly or not at all. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Serves the head's routes to gateways on NATS, and shares cooldowns both ways. */
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

/**
 * The governance of a gateway on another machine: the head's routes, kept current from
 * `governance.changed`, response caches in KV, and cooldowns shared with every other gateway.
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
    const governance = new Governance({ cacheOf: kvRouteCaches(connection, log) });
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
