/**
 * The head's `AccessGate`: the one counter of every gateway's requests per key and per deployment.
 *
 * Budgets are exact by reservation: admitting a request reserves its estimated cost (estimated
 * tokens × price), and a key is admitted only while `spent + reserved < budget`; settling replaces
 * the reservation with the upstream's usage × price. So a key goes over its budget only by what the
 * requests already in flight cost beyond their estimates — at most one request per worker slot —
 * also under concurrent load, since admit and settle run one at a time on the head's event loop.
 *
 * A key's budget in seconds (`budgetSeconds`, for local workers) is held where the time is spent:
 * the head checks it when a request takes a worker slot and charges the busy seconds the worker
 * reports when it leaves the slot (`TicketCharges`, `slot-charge.ts`), so the key goes over by at
 * most one request per worker slot without estimating anything.
 *
 * rpm/tpm are sliding one-minute windows per key and per model name (`RateWindow`); tpm reserves the
 * estimate and is corrected to the real usage when the request settles.
 *
 * A request through a route is admitted against the route name's limits; the deployment a try of it
 * goes to is not known yet, so each try is counted against that deployment's own limits when it
 * takes the deployment's worker slot (`start`): one limit per deployment, however its requests
 * arrive. A try over it is refused as the deployment's rate limit (`upstream_rate_limit` with
 * `retryAfterSeconds`), so the route cools that target down and falls back as on an upstream's 429.
 * Its budget reservation is priced at the route's dearest target (an upper bound of what answers).
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type TokenPrice, UpstreamError, wholeMicroseconds } from '../../core/index.js';
import type { BusySeconds, TicketCharges } from '../slot-charge.js';
import type { AccessGate, AccessRefusal, AccessRequest, Admission, UsageReport } from './access-gate.js';
import { RateWindow, type WindowEntry } from './rate-window.js';
import type { KeyRecord, RateLimits, VirtualKeyStore } from './virtual-keys.js';

/**
 * A reservation whose ticket was never settled (its gateway died mid-request) is dropped after this
 * long, so it does not hold a key's budget forever. Longer than any request may take.
 */
const RESERVATION_LIFETIME_MS = 30 * 60_000;

interface Reservation {
  at: number;
  /** The name the request was admitted for: a deployment, or a route whose tries `start` counts. */
  model: string;
  key: KeyRecord | undefined;
  moneyPico: number;
  /** The estimate the tpm windows were given, corrected to the usage at settle. */
  tokens: number;
  modelTokens: RateWindow | undefined;
  modelEntry: WindowEntry;
  keyTokens: RateWindow | undefined;
  keyEntry: WindowEntry;
  /** A route's tries counted in their deployments' tpm windows, corrected at settle. */
  targetTokens?: { deployment: string; window: RateWindow; entry: WindowEntry }[];
}

interface Windows {
  limits: RateLimits;
  requests?: RateWindow;
  tokens?: RateWindow;
}

export interface AccessControlOptions {
  keys: VirtualKeyStore;
  /** The price of a deployment (its `gateway.price_*` params); undefined: none (counted in seconds). */
  priceOf: (deployment: string) => TokenPrice | undefined;
  /**
   * The deployments a route may send a request to (the head's `Governance`); undefined for a name
   * that is not a route. Without it, route names are admitted like deployment names.
   */
  targetsOf?: (model: string) => readonly string[] | undefined;
  now?: () => number;
}

export class AccessControl implements AccessGate, TicketCharges {
  active = false;
  private readonly reservations = new Map<string, Reservation>();
  /**
   * The key of each admitted ticket, until its slot charge (kept apart from the
   * reservation, which the gateway's settle may end before the head's stream frees its slot).
   */
  private readonly slotKeys = new Map<string, { at: number; key: KeyRecord }>();
  private readonly reservedPico = new Map<string, number>();
  private readonly keyWindows = new Map<string, Windows>();
  private readonly modelWindows = new Map<string, Windows>();
  private readonly now: () => number;
  private readonly listeners: (() => void)[] = [];
  private admissions = 0;
  /**
   * Tickets are this instance's random prefix and a sequence number: unique, and cheaper than a
   * UUID per request; the prefix keeps a ticket issued before a restart from settling a new one.
   */
  private readonly ticketPrefix = `${randomBytes(6).toString('base64url')}-`;
  private tickets = 0;

  constructor(private readonly options: AccessControlOptions) {
    this.now = options.now ?? Date.now;
    this.refresh();
  }

  get keys(): VirtualKeyStore {
    return this.options.keys;
  }

  /** Call after keys or limits change: recomputes `active` and drops windows of changed limits. */
  refresh(): void {
    const active = this.options.keys.size > 0 || this.options.keys.deploymentLimits.size > 0;
    const changed = active !== this.active;
    this.active = active;
    if (changed) for (const listener of this.listeners) listener();
    for (const [name, windows] of this.modelWindows) {
      if (this.options.keys.deploymentLimits.get(name) !== windows.limits) this.modelWindows.delete(name);
    }
  }

  /** Called when `active` changes (gateways in other processes follow it over NATS). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Decided at once, in this process: no promise for the gateway beside it to wait on. */
  admit(request: AccessRequest): Admission {
    return this.admitNow(request);
  }

  admitNow(request: AccessRequest): Admission {
    const now = this.now();
    if (++this.admissions % 1024 === 0) this.dropStaleReservations(now);
    const checked = this.checkKey(request, now);
    if ('reason' in checked) return { ok: false, refusal: checked };
    const key = checked.key;
    if (request.model === undefined) return { ok: true };
    const modelWindows = this.windowsOf(this.modelWindows, request.model, this.limitsOf(request.model));
    const keyWindows = key ? this.windowsOf(this.keyWindows, key.id, key) : undefined;
    const targets = this.options.targetsOf?.(request.model);
    const tokens = request.inputTokens + request.outputTokens;
    const wait = Math.max(waitOf(modelWindows, tokens, now), waitOf(keyWindows, tokens, now));
    if (wait > 0) {
      const owner =
        keyWindows && waitOf(keyWindows, tokens, now) > 0
          ? `key sk-byz-${key!.id}`
          : `model ${request.model}`;
      return {
        ok: false,
        refusal: {
          reason: 'rate_limited',
          message: `rate limit of ${owner} reached (${describeLimits(owner.startsWith('key') ? key! : modelWindows!.limits)}); retry after ${Math.ceil(wait / 1000)} s`,
          retryAfterSeconds: Math.ceil(wait / 1000),
        },
      };
    }
    if (key?.budgetSeconds !== undefined && key.spend.seconds >= key.budgetSeconds) {
      return { ok: false, refusal: { reason: 'budget_exceeded', message: secondsSpent(key) } };
    }
    let moneyPico = 0;
    if (key?.budget !== undefined) {
      const reserved = this.reservedPico.get(key.id) ?? 0;
      if (key.spend.moneyPico + reserved >= Math.round(key.budget * 1e12)) {
        return {
          ok: false,
          refusal: {
            reason: 'budget_exceeded',
            message: `key sk-byz-${key.id} has used its budget of ${key.budget} (spent ${key.spend.moneyPico / 1e12}${reserved > 0 ? `, ${reserved / 1e12} reserved by requests in flight` : ''})`,
          },
        };
      }
      moneyPico = this.estimatedPico(request, targets);
    }
    if (!key && !modelWindows && !targets?.some((name) => this.limitsOf(name))) return { ok: true };
    modelWindows?.requests?.add(1, now);
    keyWindows?.requests?.add(1, now);
    const modelTokens = modelWindows?.tokens;
    const keyTokens = keyWindows?.tokens;
    const ticket = this.ticketPrefix + (++this.tickets).toString(36);
    this.reservations.set(ticket, {
      at: now,
      model: request.model,
      key,
      moneyPico,
      tokens,
      modelTokens,
      modelEntry: modelTokens ? modelTokens.add(tokens, now) : 0,
      keyTokens,
      keyEntry: keyTokens ? keyTokens.add(tokens, now) : 0,
    });
    if (key) this.slotKeys.set(ticket, { at: now, key });
    if (key && moneyPico > 0) this.reservedPico.set(key.id, (this.reservedPico.get(key.id) ?? 0) + moneyPico);
    return { ok: true, ticket };
  }

  settle(usage: UsageReport): void {
    const reservation = this.reservations.get(usage.ticket);
    if (!reservation) return;
    this.release(usage.ticket, reservation);
    const used = usage.inputTokens + usage.outputTokens;
    reservation.modelTokens?.correct(reservation.modelEntry, reservation.tokens, used);
    reservation.keyTokens?.correct(reservation.keyEntry, reservation.tokens, used);
    // A route's failed tries used nothing of their deployments' tokens; the one that answered, its usage.
    for (const target of reservation.targetTokens ?? []) {
      target.window.correct(
        target.entry,
        reservation.tokens,
        target.deployment === usage.deployment ? used : 0,
      );
    }
    const key = reservation.key;
    if (!key) return;
    const price = this.options.priceOf(usage.deployment);
    const spend = key.spend;
    spend.requests += 1;
    spend.inputTokens += usage.inputTokens;
    spend.outputTokens += usage.outputTokens;
    if (price) {
      spend.moneyPico +=
        usage.inputTokens * price.inputPicoPerToken +
        usage.outputTokens * price.outputPicoPerToken +
        (usage.requests ?? 0) * price.requestPico;
    } else if (!usage.metered) {
      spend.seconds = wholeMicroseconds(spend.seconds + usage.seconds);
    }
    this.options.keys.spendChanged();
  }

  /**
   * A ticket's request took a worker slot of `deployment`: refused there once its key's seconds are
   * spent, and, for a try through a route, when the deployment is at its own rate limit.
   */
  start(ticket: string, deployment: string): void {
    const key = this.slotKeys.get(ticket)?.key;
    if (key?.budgetSeconds !== undefined && key.spend.seconds >= key.budgetSeconds) {
      this.slotKeys.delete(ticket);
      throw new InvalidArgumentError(secondsSpent(key), { details: { reason: 'budget_exceeded' } });
    }
    const reservation = this.reservations.get(ticket);
    if (reservation && reservation.model !== deployment) this.startTry(reservation, deployment);
  }

  /** Counts a route's try in its deployment's rpm/tpm windows, or refuses it as that deployment's limit. */
  private startTry(reservation: Reservation, deployment: string): void {
    const windows = this.windowsOf(this.modelWindows, deployment, this.limitsOf(deployment));
    if (!windows) return;
    const now = this.now();
    const wait = waitOf(windows, reservation.tokens, now);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new UpstreamError(
        'upstream_rate_limit',
        `rate limit of model ${deployment} reached (${describeLimits(windows.limits)}); retry after ${seconds} s`,
        { isRetryable: true, details: { retryAfterSeconds: seconds } },
      );
    }
    windows.requests?.add(1, now);
    if (windows.tokens) {
      const entry = windows.tokens.add(reservation.tokens, now);
      reservation.targetTokens ??= [];
      reservation.targetTokens.push({ deployment, window: windows.tokens, entry });
    }
  }

  /** A request's estimated cost: at its deployment's price, or at a route's dearest target's. */
  private estimatedPico(request: AccessRequest, targets: readonly string[] | undefined): number {
    if (!targets) return estimatedPico(this.options.priceOf(request.model!), request);
    let dearest = 0;
    for (const name of targets)
      dearest = Math.max(dearest, estimatedPico(this.options.priceOf(name), request));
    return dearest;
  }

  private limitsOf(name: string): RateLimits | undefined {
    return this.options.keys.deploymentLimits.get(name);
  }

  /** A ticket's request left its slot: its worker's busy seconds go to the key's spend. */
  charge(ticket: string, usage: BusySeconds | undefined): void {
    const key = this.slotKeys.get(ticket)?.key;
    this.slotKeys.delete(ticket);
    if (!key || !usage) return;
    // Checked where they came in (`wireBusySecondsSchema`): finite and not negative.
    const cpu = usage.cpuSeconds ?? 0;
    const gpu = usage.gpuSeconds ?? 0;
    if (cpu + gpu === 0) return;
    const spend = key.spend;
    spend.cpuSeconds = wholeMicroseconds(spend.cpuSeconds + cpu);
    spend.gpuSeconds = wholeMicroseconds(spend.gpuSeconds + gpu);
    spend.seconds = wholeMicroseconds(spend.seconds + cpu + gpu);
    this.options.keys.spendChanged();
  }

  private release(ticket: string, reservation: Reservation): void {
    this.reservations.delete(ticket);
    const key = reservation.key;
    if (!key || reservation.moneyPico === 0) return;
    const left = (this.reservedPico.get(key.id) ?? 0) - reservation.moneyPico;
    if (left > 0) this.reservedPico.set(key.id, left);
    else this.reservedPico.delete(key.id);
  }

  private dropStaleReservations(now: number): void {
    for (const [ticket, reservation] of this.reservations) {
      if (now - reservation.at > RESERVATION_LIFETIME_MS) this.release(ticket, reservation);
    }
    // Tickets that never reached a slot (a cache hit, a queue timeout) are never charged.
    for (const [ticket, { at }] of this.slotKeys) {
      if (now - at > RESERVATION_LIFETIME_MS) this.slotKeys.delete(ticket);
    }
  }

  /**
   * The master key passes; so does anyone on a gateway without a master key while no virtual key
   * exists (limits alone change nothing about who may call). Otherwise the bearer must be a live
   * virtual key allowed to use the model.
   */
  private checkKey(request: AccessRequest, now: number): AccessRefusal | { key: KeyRecord | undefined } {
    const { model } = request;
    if (request.master || (request.open && this.options.keys.size === 0)) return { key: undefined };
    const key = request.key === undefined ? undefined : this.options.keys.find(request.key);
    if (!key)
      return {
        reason: 'unauthenticated',
        message: 'missing or wrong API key: send Authorization: Bearer <key>',
      };
    if (key.revokedAt) return { reason: 'unauthenticated', message: `API key sk-byz-${key.id} was revoked` };
    if (key.expiresAt && Date.parse(key.expiresAt) <= now) {
      return { reason: 'unauthenticated', message: `API key sk-byz-${key.id} expired at ${key.expiresAt}` };
    }
    if (model !== undefined && key.models && !key.models.includes(model)) {
      return {
        reason: 'model_not_allowed',
        message: `API key sk-byz-${key.id} may not use model ${model}; allowed: ${key.models.join(', ')}`,
      };
    }
    return { key };
  }

  private windowsOf(
    table: Map<string, Windows>,
    name: string,
    limits: RateLimits | undefined,
  ): Windows | undefined {
    if (!limits || (limits.rpm === undefined && limits.tpm === undefined)) return undefined;
    const existing = table.get(name);
    if (existing && existing.limits.rpm === limits.rpm && existing.limits.tpm === limits.tpm) return existing;
    const created: Windows = {
      limits,
      ...(limits.rpm !== undefined ? { requests: new RateWindow(limits.rpm) } : {}),
      ...(limits.tpm !== undefined ? { tokens: new RateWindow(limits.tpm) } : {}),
    };
    table.set(name, created);
    return created;
  }
}

/** A request's estimated cost at a price: its estimated tokens, and one request. */
function estimatedPico(price: TokenPrice | undefined, request: AccessRequest): number {
  if (!price) return 0;
  return (
    request.inputTokens * price.inputPicoPerToken +
    request.outputTokens * price.outputPicoPerToken +
    price.requestPico
  );
}

function waitOf(windows: Windows | undefined, tokens: number, now: number): number {
  if (!windows) return 0;
  return Math.max(windows.requests?.waitMs(1, now) ?? 0, windows.tokens?.waitMs(tokens, now) ?? 0);
}

function secondsSpent(key: KeyRecord): string {
  return `key sk-byz-${key.id} has used its budget of ${key.budgetSeconds} seconds (spent ${key.spend.seconds} s)`;
}

function describeLimits(limits: RateLimits): string {
  return [
    limits.rpm !== undefined ? `${limits.rpm} rpm` : '',
    limits.tpm !== undefined ? `${limits.tpm} tpm` : '',
  ]
    .filter(Boolean)
    .join(', ');
}
