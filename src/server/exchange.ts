/**
 * One gateway request in flight: the cluster to call, the deployment it resolved to, the abort signal
 * that a client disconnect fires, and what metrics record when it ends.
 */
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type {
  AccessGate,
  ClusterApi,
  ClusterCallOptions,
  Governance,
  WorkerCallKind,
  WorkerCallMap,
} from '../cluster/index.js';
import { type Usage, wholeMicroseconds } from '../core/index.js';
import { badField } from './map-error.js';
import { type GatewayMetrics, OTHER_ENDPOINT } from './metrics.js';

export interface GatewayContext {
  cluster: ClusterApi;
  metrics: GatewayMetrics;
  /** Requests that name no model go here (`--served_model_name`). */
  servedModelName?: string;
  bodyLimitBytes: number;
  /** Routes by virtual model name, with cooldowns (`byzerllm route`); absent: plain deployments only. */
  governance?: Governance;
  /** Virtual keys and rate limits (the head's, or reached over NATS); absent: none. */
  gate?: AccessGate;
}

/**
 * Which deployment a route sent the request to (tried last) and after how many tries: the
 * `x-byzerllm-deployment` / `x-byzerllm-attempts` headers while they can still be sent, and the
 * deployment whose price the gate charges (also when the headers went out already).
 */
export function setRouteHeaders(exchange: Exchange, route: { attempts: number; deployment: string }): void {
  if (route.attempts === 0) return;
  exchange.answeredBy = route.deployment;
  const { response } = exchange;
  if (response.headersSent) return;
  response.setHeader('x-byzerllm-deployment', route.deployment);
  response.setHeader('x-byzerllm-attempts', String(route.attempts));
}

export class Exchange {
  /** The deployment name, once resolved. */
  model = '';
  inputTokens = 0;
  outputTokens = 0;
  readonly startedAt = performance.now();
  /**
   * Busy seconds (CPU- or GPU-seconds) that local workers reported in the answer's usage; undefined
   * when none did (SaaS engines, an answer cut short).
   */
  busySeconds: number | undefined;
  /** The deployment a route sent the request to (tried last), whose price the gate charges. */
  answeredBy: string | undefined;
  /**
   * Requests billed at the answering deployment's `gateway.price_request` when the answer succeeds:
   * one, or the images generated for an image generation (image APIs bill per image).
   */
  billedRequests = 1;
  /** An admitted request's reservation on the gate, settled by `finish`. */
  ticket: { gate: AccessGate; id: string } | undefined;

  constructor(
    readonly context: GatewayContext,
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
    /** The route's `endpoint` metrics label (see `GatewayMetrics`). */
    readonly endpoint: string,
  ) {}

  get cluster(): ClusterApi {
    return this.context.cluster;
  }

  /**
   * Fires when the client goes away before the answer is complete: cancels the cluster call.
   *
   * The signal belongs to the connection, not to the request: a client that leaves closes its
   * socket, which ends every request on it. On a keep-alive connection one controller then serves
   * thousands of requests, where one per request cost more CPU than the rest of the gateway's own
   * work (an `AbortSignal` and its first listener are expensive to create in Node 20). Listeners
   * are removed by whoever added them when their call settles, so they do not pile up.
   */
  get signal(): AbortSignal {
    return connectionSignal(this.request.socket);
  }

  /** Adds the busy seconds a local worker reported in one answer's usage (see `Usage.cpuSeconds`). */
  addBusySeconds(usage: Pick<Usage, 'cpuSeconds' | 'gpuSeconds'>): void {
    const busy = usage.cpuSeconds ?? usage.gpuSeconds;
    if (typeof busy === 'number') this.busySeconds = wholeMicroseconds((this.busySeconds ?? 0) + busy);
  }

  /**
   * The deployment a request goes to: its `model`, or the served model name when it names none.
   * A named model always wins, so a served name never swallows requests for other deployments (the
   * original's [quirk]). Unknown names are answered 404 by the cluster, listing what is deployed.
   */
  resolveModel(model: string | undefined): string {
    const name = model ?? this.context.servedModelName;
    if (!name) throw badField('model', 'missing model: the name of a deployment (see GET /v1/models)');
    this.model = name;
    this.context.metrics.started(name);
    return name;
  }

  /**
   * Options for a cluster call of `model`: the cancel signal and, when the name is a route, `route`,
   * which the routed cluster fills with the deployment that answered. `routeAnswered` then puts it
   * in the headers, and the key is charged that deployment's price. A plain deployment name costs
   * one map lookup here (none without governance).
   */
  callOptions(model: string): ClusterCallOptions {
    const options: ClusterCallOptions = { signal: this.signal };
    // An admitted request's ticket: the head charges its workers' busy seconds to the key.
    if (this.ticket) options.ticket = this.ticket.id;
    if (this.context.governance?.route(model)) options.route = { attempts: 0, deployment: '' };
    return options;
  }

  /** Sets `x-byzerllm-deployment` / `-attempts` after a call made with `callOptions` of a route. */
  routeAnswered(options: ClusterCallOptions): void {
    if (options.route) setRouteHeaders(this, options.route);
  }

  /**
   * One non-stream cluster call of `model` (embeddings, rerank, speech, transcription, images): the
   * cancel signal and ticket, and, when the name is a route, the deployment that answered put in the
   * headers and charged. A failed call's headers name the last deployment tried, as chat's do; a
   * failure costs no `price_request` (`settle`).
   */
  async callModel<Kind extends WorkerCallKind>(
    model: string,
    kind: Kind,
    request: WorkerCallMap[Kind][0],
  ): Promise<WorkerCallMap[Kind][1]> {
    const options = this.callOptions(model);
    try {
      return await this.cluster.call(model, kind, request, options);
    } finally {
      this.routeAnswered(options);
    }
  }

  /** Records the request in the metrics; called once when the answer has been sent. */
  finish(status: number): void {
    const metrics = this.context.metrics;
    metrics.record({
      // A client that did not authenticate must not be able to add labels: its path is not counted.
      endpoint: status === 401 ? OTHER_ENDPOINT : this.endpoint,
      model: this.model,
      status,
      seconds: (performance.now() - this.startedAt) / 1000,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
    });
    if (this.model) metrics.ended(this.model);
    if (this.ticket) this.settle(this.ticket, status);
  }

  /** Settles an admitted request with its usage: the deployment that answered, tokens, seconds. */
  private settle(ticket: { gate: AccessGate; id: string }, status: number): void {
    this.ticket = undefined;
    ticket.gate.settle({
      ticket: ticket.id,
      deployment: this.answeredBy ?? this.model,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      // A refusal or failure costs no time (a request refused on its slot waited in the queue).
      seconds: status < 400 ? (performance.now() - this.startedAt) / 1000 : 0,
      // The head charged the workers' busy seconds on their slots already.
      ...(this.busySeconds !== undefined ? { metered: true } : {}),
      // Only an answer is billed per request: a refusal or failure is not.
      ...(status < 400 && this.billedRequests > 0 ? { requests: this.billedRequests } : {}),
    });
  }
}

const connectionControllers = new WeakMap<Socket, AbortController>();

/** The abort signal of one client connection; aborted once the socket has closed. */
function connectionSignal(socket: Socket): AbortSignal {
  let controller = connectionControllers.get(socket);
  if (!controller) {
    const created = new AbortController();
    controller = created;
    connectionControllers.set(socket, created);
    // `n` parallel choices each listen while their call runs; more than 10 is not a leak here.
    setMaxListeners(64, created.signal);
    if (socket.destroyed) created.abort();
    else socket.once('close', () => created.abort());
  }
  return controller.signal;
}
