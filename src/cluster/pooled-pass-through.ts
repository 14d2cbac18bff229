/**
 * A deployment's OpenAI pass-through (`OpenAIPassThroughV1`) through its worker pool: the same
 * slots, queueing and balancing as `RunningDeployment.call`/`stream`, the lease held while a stream
 * runs, and the call counted in flight on its endpoint (a worker being moved finishes it first).
 *
 * Every gateway pass-through request runs through here, so the non-stream path is built for few
 * promise hops: with a slot free (the usual case) the lease is taken without `acquire`'s promise,
 * and the one hop of this layer is the one that releases the lease when the answer settled.
 */
import {
  type OpenAIChatObject,
  type OpenAIChunkText,
  type OpenAIPassThroughV1,
  WorkerFailedError,
} from '../core/index.js';
import { openAIOutcome, releaseWhenDone } from './lease-release.js';
import { type ChargedCallOptions, startOnSlot, usageOf } from './slot-charge.js';
import type { WorkerEndpoint } from './transport/transport.js';
import type { RequestOutcome } from './worker-metrics.js';
import type { Lease, WorkerPool } from './worker-pool.js';

/** What the pass-through needs of its deployment (`RunningDeployment` gives it once). */
export interface PassThroughHost {
  deploymentName: string;
  pool: WorkerPool;
  /** The running endpoint of a worker; throws when it has none. */
  endpoint(index: number): WorkerEndpoint;
  /** Counts a call in flight on the endpoint; `endBusy` is called exactly once after it. */
  startBusy(endpoint: WorkerEndpoint): void;
  endBusy(endpoint: WorkerEndpoint): void;
}

export class PooledPassThrough implements OpenAIPassThroughV1 {
  constructor(private readonly host: PassThroughHost) {}

  doGenerateOpenAI(
    body: Record<string, unknown>,
    options: ChargedCallOptions = {},
  ): Promise<OpenAIChatObject> {
    let lease: Lease | undefined;
    try {
      lease = this.host.pool.tryAcquire();
    } catch (error) {
      return Promise.reject(error);
    }
    if (lease) return this.generateOn(lease, body, options);
    return this.host.pool
      .acquire(options.signal ? { signal: options.signal } : {})
      .then((waited) => this.generateOn(waited, body, options));
  }

  /**
   * The lease is held until the stream ends, fails or the consumer stops iterating. A ticket's
   * charge is finished without busy seconds: the pass-through's engines (SaaS upstreams) report none,
   * and their chunks are not parsed here (the gate charges the key's money from the usage chunk).
   */
  async doStreamOpenAI(
    body: Record<string, unknown>,
    options: ChargedCallOptions = {},
  ): Promise<AsyncIterable<OpenAIChunkText[]>> {
    const { host } = this;
    const lease = await host.pool.acquire(options.signal ? { signal: options.signal } : {});
    startOnSlot(options.charge, lease);
    let endpoint: WorkerEndpoint | undefined;
    let chunks: AsyncIterable<OpenAIChunkText[]>;
    try {
      endpoint = host.endpoint(lease.workerIndex);
      host.startBusy(endpoint);
      chunks = await this.openAIOf(endpoint, lease.workerIndex).doStreamOpenAI(body, options);
    } catch (error) {
      if (endpoint) host.endBusy(endpoint);
      lease.release({ failed: true });
      throw error;
    }
    const busyEndpoint = endpoint;
    return releaseWhenDone(chunks, () => host.endBusy(busyEndpoint), lease);
  }

  /** A ticket's refusal frees the slot and rejects, as on `RunningDeployment.call`. */
  private async generateOn(
    lease: Lease,
    body: Record<string, unknown>,
    options: ChargedCallOptions,
  ): Promise<OpenAIChatObject> {
    const { host } = this;
    startOnSlot(options.charge, lease);
    let outcome: RequestOutcome | undefined = { failed: true };
    let endpoint: WorkerEndpoint | undefined;
    let answer: OpenAIChatObject | undefined;
    try {
      endpoint = host.endpoint(lease.workerIndex);
      host.startBusy(endpoint);
      answer = await this.openAIOf(endpoint, lease.workerIndex).doGenerateOpenAI(body, options);
      outcome = openAIOutcome(answer);
      return answer;
    } finally {
      if (endpoint) host.endBusy(endpoint);
      options.charge?.finish(usageOf(answer));
      lease.release(outcome);
    }
  }

  private openAIOf(endpoint: WorkerEndpoint, index: number): OpenAIPassThroughV1 {
    const passThrough = endpoint.openAI;
    // Only reachable if a worker were replaced by one without it between the check and the call.
    if (!passThrough)
      throw new WorkerFailedError(
        `worker ${index} of ${this.host.deploymentName} has no OpenAI pass-through`,
      );
    return passThrough;
  }
}
