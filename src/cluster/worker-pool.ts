/**
 * The slot accounting of one deployment: N workers × `workerConcurrency` slots.
 *
 * `acquire` hands out a lease on one slot of one worker, chosen by the balance strategy (or fixed by
 * pinning). When every slot is busy the caller waits in FIFO order, up to the deployment's queue
 * timeout, then gets a `CapacityError` naming the deployment and its capacity. A lease must be
 * released exactly once (callers use `try/finally`); releasing twice is a no-op.
 */
import {
  AbortedError,
  CapacityError,
  InvalidArgumentError,
  type LoadBalanceStrategy,
} from '../core/index.js';
import {
  type BalanceStrategy,
  createBalanceStrategy,
  type PickHint,
  type WorkerSlotView,
} from './routing/index.js';
import { type RequestOutcome, WorkerMetrics, type WorkerMetricsStat } from './worker-metrics.js';

export interface WorkerPoolOptions {
  deploymentName: string;
  workerCount: number;
  slotsPerWorker: number;
  strategy: LoadBalanceStrategy;
  /** Milliseconds a request may wait for a free slot. */
  queueTimeoutMs: number;
}

export interface Lease {
  readonly workerIndex: number;
  /**
   * Frees the slot and records the request in the worker's metrics: its latency (from the lease
   * to now) and, when given, whether it failed and how many tokens it generated.
   */
  release(outcome?: RequestOutcome): void;
}

interface WorkerSlots extends WorkerSlotView {
  index: number;
  freeSlots: number;
  lastHandedOutAt: number;
  ready: boolean;
  totalRequests: number;
  peakActive: number;
  metrics: WorkerMetrics;
}

interface Waiter {
  pinnedIndex: number | undefined;
  hint: PickHint | undefined;
  grant(index: number): void;
  fail(error: Error): void;
}

/** Byzer-LLM's `stat` JSON (seed 004 "监控部署状态"), plus per-worker detail. */
export interface DeploymentStat {
  total_workers: number;
  busy_workers: number;
  idle_workers: number;
  load_balance_strategy: LoadBalanceStrategy;
  total_requests: number[];
  state: number[];
  worker_max_concurrency: number;
  workers_last_work_time: string[];
  worker_state: { active_task: number; ready: boolean; peak_active_task: number }[];
  waiting_requests: number;
  /** Finished/failed requests, latency p50/p95 and tokens per second, per worker. */
  worker_metrics: WorkerMetricsStat[];
}

export class WorkerPool {
  private readonly workers: WorkerSlots[];
  private readonly strategy: BalanceStrategy;
  private readonly waiters: Waiter[] = [];
  private readonly createdAt = performance.now();

  constructor(private readonly options: WorkerPoolOptions) {
    this.strategy = createBalanceStrategy(options.strategy);
    this.workers = Array.from({ length: options.workerCount }, (_, index) => ({
      index,
      freeSlots: options.slotsPerWorker,
      lastHandedOutAt: 0,
      ready: true,
      totalRequests: 0,
      peakActive: 0,
      metrics: new WorkerMetrics(),
    }));
  }

  get capacity(): number {
    return this.options.workerCount * this.options.slotsPerWorker;
  }

  /** True when the strategy places requests by their prompt (see `PickHint.affinityKeys`). */
  get needsAffinityKeys(): boolean {
    return this.strategy.needsAffinityKeys === true;
  }

  /**
   * Takes a slot, waiting if needed. `pinnedIndex` forces one worker (pinned request kinds); `hint`
   * tells the strategy about the request.
   */
  acquire(options: { pinnedIndex?: number; signal?: AbortSignal; hint?: PickHint } = {}): Promise<Lease> {
    const immediate = this.tryAcquire(options.pinnedIndex, options.hint);
    if (immediate !== undefined) return Promise.resolve(immediate);
    return this.waitForSlot(options);
  }

  /**
   * A lease when a slot is free now (as `acquire` would hand it out at once), else undefined and
   * nothing changed: a caller on a hot path skips `acquire`'s promise when it need not wait. Throws
   * the pool's close reason once it is closed.
   */
  tryAcquire(pinnedIndex?: number, hint?: PickHint): Lease | undefined {
    const index = this.tryTake(pinnedIndex === undefined ? undefined : this.checkIndex(pinnedIndex), hint);
    return index === undefined ? undefined : this.lease(index);
  }

  private waitForSlot(options: {
    pinnedIndex?: number;
    signal?: AbortSignal;
    hint?: PickHint;
  }): Promise<Lease> {
    const pinnedIndex = options.pinnedIndex === undefined ? undefined : this.checkIndex(options.pinnedIndex);
    const hint = options.hint;
    if (options.signal?.aborted) return Promise.reject(new AbortedError());

    return new Promise<Lease>((resolve, reject) => {
      const signal = options.signal;
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const position = this.waiters.indexOf(waiter);
        if (position >= 0) this.waiters.splice(position, 1);
      };
      const waiter: Waiter = {
        pinnedIndex,
        hint,
        grant: (index) => {
          cleanup();
          resolve(this.lease(index));
        },
        fail: (error) => {
          cleanup();
          reject(error);
        },
      };
      const onAbort = () => {
        cleanup();
        reject(new AbortedError('the request was aborted while waiting for a free worker slot'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(this.capacityError());
      }, this.options.queueTimeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Marks a worker (un)able to take requests, e.g. while it restarts. */
  setReady(index: number, ready: boolean): void {
    const worker = this.workers[this.checkIndex(index)]!;
    worker.ready = ready;
    if (ready) this.serveWaiters();
  }

  stat(): DeploymentStat {
    const now = performance.now();
    const max = this.options.slotsPerWorker;
    const busy = this.workers.filter((worker) => worker.freeSlots < max).length;
    return {
      total_workers: this.workers.length,
      busy_workers: busy,
      idle_workers: this.workers.length - busy,
      load_balance_strategy: this.strategy.name,
      total_requests: this.workers.map((worker) => worker.totalRequests),
      state: this.workers.map((worker) => worker.freeSlots),
      worker_max_concurrency: max,
      workers_last_work_time: this.workers.map(
        (worker) => `${((now - (worker.lastHandedOutAt || this.createdAt)) / 1000).toFixed(3)}s`,
      ),
      worker_state: this.workers.map((worker) => ({
        active_task: max - worker.freeSlots,
        ready: worker.ready,
        peak_active_task: worker.peakActive,
      })),
      waiting_requests: this.waiters.length,
      worker_metrics: this.workers.map((worker) => worker.metrics.snapshot()),
    };
  }

  /** Resolves once no slot is in use (every lease released). */
  whenIdle(): Promise<void> {
    if (this.inUse() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly idleWaiters: (() => void)[] = [];

  private inUse(): number {
    return this.workers.reduce((sum, worker) => sum + this.options.slotsPerWorker - worker.freeSlots, 0);
  }

  /** Rejects every waiting request (the deployment is going away). */
  close(reason: Error): void {
    this.closedReason = reason;
    for (const waiter of [...this.waiters]) waiter.fail(reason);
  }

  private closedReason: Error | undefined;

  private tryTake(pinnedIndex: number | undefined, hint: PickHint | undefined): number | undefined {
    if (this.closedReason) throw this.closedReason;
    if (pinnedIndex !== undefined) {
      const worker = this.workers[pinnedIndex]!;
      return worker.ready && worker.freeSlots > 0 ? pinnedIndex : undefined;
    }
    return this.strategy.pick(this.workers, hint);
  }

  private lease(index: number): Lease {
    const worker = this.workers[index]!;
    worker.freeSlots -= 1;
    worker.totalRequests += 1;
    const leasedAt = performance.now();
    worker.lastHandedOutAt = leasedAt;
    worker.peakActive = Math.max(worker.peakActive, this.options.slotsPerWorker - worker.freeSlots);
    let released = false;
    return {
      workerIndex: index,
      release: (outcome) => {
        if (released) return;
        released = true;
        worker.metrics.record(performance.now() - leasedAt, outcome);
        worker.freeSlots = Math.min(worker.freeSlots + 1, this.options.slotsPerWorker);
        this.serveWaiters();
        if (this.idleWaiters.length > 0 && this.inUse() === 0)
          for (const resolve of this.idleWaiters.splice(0)) resolve();
      },
    };
  }

  private serveWaiters(): void {
    for (let position = 0; position < this.waiters.length; ) {
      const waiter = this.waiters[position]!;
      const index = this.tryTake(waiter.pinnedIndex, waiter.hint);
      if (index === undefined) {
        // A pinned waiter may be stuck on its worker while others can go elsewhere.
        position++;
        continue;
      }
      waiter.grant(index); // removes itself from `waiters`
    }
  }

  private capacityError(): CapacityError {
    const { deploymentName, workerCount, slotsPerWorker, queueTimeoutMs } = this.options;
    return new CapacityError(
      `deployment ${deploymentName} has no free worker slot after waiting ${queueTimeoutMs / 1000}s ` +
        `(capacity ${workerCount} workers × ${slotsPerWorker} slots = ${this.capacity}, all busy; ` +
        `${this.waiters.length} requests waiting); deploy more workers or raise --worker_concurrency`,
      { details: { deployment: deploymentName, workers: workerCount, slotsPerWorker } },
    );
  }

  private checkIndex(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.workers.length) {
      throw new InvalidArgumentError(
        `deployment ${this.options.deploymentName} has no worker ${index} (it has workers 0-${this.workers.length - 1}); fix its pinning`,
      );
    }
    return index;
  }
}
