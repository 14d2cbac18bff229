/**
 * One gateway request in flight: the cluster to call, the deployment it resolved to, the abort signal
 * that a client disconnect fires, and what metrics record when it ends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterApi } from '../cluster/index.js';
import { badField } from './map-error.js';
import type { GatewayMetrics } from './metrics.js';

export interface GatewayContext {
  cluster: ClusterApi;
  metrics: GatewayMetrics;
  /** Requests that name no model go here (`--served_model_name`). */
  servedModelName?: string;
  bodyLimitBytes: number;
}

export class Exchange {
  /** The deployment name, once resolved. */
  model = '';
  inputTokens = 0;
  outputTokens = 0;
  readonly startedAt = performance.now();
  private controller: AbortController | undefined;

  constructor(
    readonly context: GatewayContext,
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
    readonly endpoint: string,
  ) {}

  get cluster(): ClusterApi {
    return this.context.cluster;
  }

  /** Fires when the client goes away before the answer is complete: cancels the cluster call. */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      this.response.once('close', () => {
        if (!this.response.writableFinished) controller.abort();
      });
      if (this.response.destroyed) controller.abort();
    }
    return this.controller.signal;
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

  /** Records the request in the metrics; called once when the answer has been sent. */
  finish(status: number): void {
    const metrics = this.context.metrics;
    if (this.model) metrics.ended(this.model, status === 404);
    metrics.record({
      endpoint: this.endpoint,
      // Unknown model names stay out of the labels: a client must not be able to grow them at will.
      model: status === 404 ? '' : this.model,
      status,
      seconds: (performance.now() - this.startedAt) / 1000,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
    });
  }
}
