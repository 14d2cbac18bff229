/**
 * Charging a gateway request's busy time where it runs: on the worker slot it holds.
 *
 * A gateway request admitted under a virtual key carries its ticket (`ClusterCallOptions.ticket`)
 * to the head. When the request has taken a worker slot, the head asks the ticket's key whether it
 * may still start (`TicketCharges.start`: a key whose seconds budget is spent is refused there, so a
 * request that waited in the queue while the budget ran out never runs); when it leaves the slot,
 * the busy seconds its worker reported (`Usage.cpuSeconds` / `gpuSeconds`) are charged before the
 * slot is freed. So every request that started but is not yet charged holds a slot: a key ends over
 * its seconds budget by at most one request per worker slot, whatever the concurrency, over any
 * number of gateways (the head is the one counter).
 */
import type { CallOptions, OpenAIPassThroughV1, Usage } from '../core/index.js';
import { wireBusySecondsSchema } from './wire/index.js';
import type { Lease } from './worker-pool.js';

/** What a charge reads of a usage: the busy seconds its worker reported, checked at the wire. */
export type BusySeconds = Pick<Usage, 'cpuSeconds' | 'gpuSeconds'>;

/** The head's side of tickets (implemented by `AccessControl`). */
export interface TicketCharges {
  /**
   * Throws the refusal when the ticket's request may not start on `deployment`: its key's seconds
   * are spent (`budget_exceeded`), or it came through a route and `deployment` is at its rate limit.
   */
  start(ticket: string, deployment: string): void;
  /** The request left its slot: charges the busy seconds its worker reported, if any. */
  charge(ticket: string, usage: BusySeconds | undefined): void;
}

/** One request's ticket, bound to the head's charges (what `RunningDeployment` is given). */
export interface SlotCharge {
  start(): void;
  finish(usage: BusySeconds | undefined): void;
}

/** A call through a deployment's pool, with the slot charge of its gateway ticket, if any. */
export interface ChargedCallOptions extends CallOptions {
  charge?: SlotCharge;
}

/** A cluster call's options for `deployment` with the slot charge of its ticket, when the head charges tickets. */
export function chargedOptions(
  charges: TicketCharges | undefined,
  options: CallOptions & { ticket?: string },
  deployment: string,
): ChargedCallOptions {
  const { ticket } = options;
  if (!charges || ticket === undefined) return options;
  // Not `{ ...options, charge }`: V8 copies a spread followed by more keys ~15× slower.
  const charged: ChargedCallOptions = Object.assign({}, options);
  charged.charge = slotChargeOf(charges, ticket, deployment);
  return charged;
}

/**
 * Deployments' OpenAI pass-throughs whose calls carry their ticket's slot charge: a call made with
 * `{ ticket }` (`ClusterCallOptions`) is started under it once it holds its slot, as `call`/`stream`
 * are (`PooledPassThrough` takes the charge). Each is made once per pass-through and charges: the
 * gateway asks for one on every request.
 */
export class ChargedPassThroughs {
  private readonly made = new WeakMap<
    OpenAIPassThroughV1,
    { charges: TicketCharges; charged: OpenAIPassThroughV1 }
  >();

  of(passThrough: OpenAIPassThroughV1, charges: TicketCharges, deployment: string): OpenAIPassThroughV1 {
    const made = this.made.get(passThrough);
    if (made?.charges === charges) return made.charged;
    const charged: OpenAIPassThroughV1 = {
      doGenerateOpenAI: (body, options = {}) =>
        passThrough.doGenerateOpenAI(body, chargedOptions(charges, options, deployment)),
      doStreamOpenAI: (body, options = {}) =>
        passThrough.doStreamOpenAI(body, chargedOptions(charges, options, deployment)),
    };
    this.made.set(passThrough, { charges, charged });
    return charged;
  }
}

function slotChargeOf(charges: TicketCharges, ticket: string, deployment: string): SlotCharge {
  let finished = false;
  return {
    start: () => charges.start(ticket, deployment),
    finish: (usage) => {
      if (finished || usage === undefined) return;
      finished = true;
      charges.charge(ticket, usage);
    },
  };
}

/** Starts a leased request under its charge; a refusal frees the slot (not counted as a request). */
export function startOnSlot(charge: SlotCharge | undefined, lease: Lease): void {
  if (!charge) return;
  try {
    charge.start();
  } catch (error) {
    lease.release({ refused: true });
    throw error;
  }
}

/**
 * The busy seconds of a call's result, when it has a usage. Call results cross the wire unchecked
 * (`result: unknown`), so they are checked here with the schema finish parts are checked with at
 * the wire: a usage with negative or endless seconds charges nothing.
 */
export function usageOf(result: unknown): BusySeconds | undefined {
  const usage = (result as { usage?: unknown } | null | undefined)?.usage;
  if (typeof usage !== 'object' || usage === null) return undefined;
  const parsed = wireBusySecondsSchema.safeParse(usage);
  return parsed.success ? parsed.data : undefined;
}
