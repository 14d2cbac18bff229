/**
 * Virtual keys and rate limits for gateways on other machines: the head's `AccessControl` served over
 * NATS, and `NatsAccessGate`, the `AccessGate` a gateway started with `--address nats://…` uses. The
 * head stays the single counter, so two gateways share one rpm limit and one budget instead of each
 * counting its own.
 *
 * Subjects: `byzerllm.access.admit` (request/reply), `byzerllm.access.settle` (published, no reply:
 * the gateway does not wait to settle), `byzerllm.access.state` (request/reply: is the gate active)
 * and `byzerllm.access.changed` (the head publishes `{active}` when keys or limits come or go, so an
 * idle gateway skips the gate with one boolean and a busy one starts using it at once).
 */
import type { Service, ServiceMsg } from '@nats-io/services';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { failureReply } from '../wire/index.js';
import {
  type AccessControl,
  type AccessGate,
  type AccessRequest,
  type Admission,
  accessRequestSchema,
  type UsageReport,
  usageReportSchema,
} from '../governance/index.js';
import { HEAD_QUEUE, respondReliably } from './nats-admin-server.js';
import { dropInvalid, parseWire, subscribeParsed } from './nats-messages.js';
import { encode, SUBJECT_PREFIX } from './nats-protocol.js';
import { natsRequest } from './nats-request.js';

const accessSubjects = {
  admit: `${SUBJECT_PREFIX}.access.admit`,
  settle: `${SUBJECT_PREFIX}.access.settle`,
  state: `${SUBJECT_PREFIX}.access.state`,
  changed: `${SUBJECT_PREFIX}.access.changed`,
};

const stateSchema = z.strictObject({ active: z.boolean() });
/** An admission is answered quickly by the head or not at all: a gateway waits this long at most. */
const ADMIT_TIMEOUT_MS = 10_000;

/** Adds the access endpoints to the head's service; returns what to call when keys or limits change. */
export function serveAccessOverNats(
  connection: NatsConnection,
  service: Service,
  control: AccessControl,
  log: (line: string) => void,
): void {
  service.addEndpoint('access-admit', {
    subject: accessSubjects.admit,
    queue: HEAD_QUEUE,
    handler: (_error: Error | null, message: ServiceMsg) => {
      const parsed = parseWire<AccessRequest>(accessRequestSchema, message.data);
      if (!parsed.ok) return dropInvalid(message, parsed.reason, log);
      try {
        respondReliably(connection, message, { ok: true, result: control.admitNow(parsed.value) });
      } catch (error) {
        respondReliably(connection, message, failureReply(error));
      }
    },
  });
  service.addEndpoint('access-settle', {
    subject: accessSubjects.settle,
    queue: HEAD_QUEUE,
    handler: (_error: Error | null, message: ServiceMsg) => {
      const parsed = parseWire<UsageReport>(usageReportSchema, message.data);
      if (!parsed.ok) return dropInvalid(message, parsed.reason, log);
      control.settle(parsed.value);
    },
  });
  service.addEndpoint('access-state', {
    subject: accessSubjects.state,
    queue: HEAD_QUEUE,
    handler: (_error: Error | null, message: ServiceMsg) =>
      respondReliably(connection, message, { ok: true, result: { active: control.active } }),
  });
  control.onChange(() => connection.publish(accessSubjects.changed, encode({ active: control.active })));
}

/** The head's gate, for a gateway in another process. Close it with the gateway. */
export class NatsAccessGate implements AccessGate {
  active = false;
  private readonly subscription: Subscription;

  private constructor(
    private readonly connection: NatsConnection,
    log: (line: string) => void,
  ) {
    this.subscription = subscribeParsed(
      connection,
      accessSubjects.changed,
      (message) => parseWire(stateSchema, message.data),
      (state) => {
        this.active = state.active;
      },
      log,
    );
  }

  /** Subscribes to changes first, then asks for the state, so no change falls in between. */
  static async open(
    connection: NatsConnection,
    log: (line: string) => void = () => {},
  ): Promise<NatsAccessGate> {
    const gate = new NatsAccessGate(connection, log);
    const state = await natsRequest<unknown>(connection, accessSubjects.state, {}, ADMIT_TIMEOUT_MS);
    gate.active = stateSchema.parse(state).active;
    return gate;
  }

  admit(request: AccessRequest): Promise<Admission> {
    return natsRequest<Admission>(this.connection, accessSubjects.admit, request, ADMIT_TIMEOUT_MS);
  }

  settle(usage: UsageReport): void {
    this.connection.publish(accessSubjects.settle, encode(usage));
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}
