/**
 * The console's live view: one ticker per console (not one per browser tab) reads the cluster's
 * status and each deployment's worker stats, and sends the snapshot to every subscriber when it
 * changed. The ticker runs only while someone is subscribed, so an idle console costs nothing.
 */
import type { ClusterApi, ClusterStatus, DeploymentStat } from '../../cluster/index.js';

export interface ConsoleSnapshot {
  status: ClusterStatus;
  /** Worker stats by deployment name; a deployment whose stat failed is left out. */
  stats: Record<string, DeploymentStat>;
}

type Listener = (snapshotJson: string) => void;

export class ConsoleEvents {
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private reading = false;

  constructor(
    private readonly cluster: ClusterApi,
    private readonly refreshMs: number,
  ) {}

  /** Calls `listener` with the latest snapshot now (when one exists) and on every change. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.last) listener(this.last);
    if (!this.timer) {
      this.timer = setInterval(() => void this.refresh(), this.refreshMs);
      void this.refresh();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** After a deploy or undeploy: show it now rather than at the next tick. */
  refreshSoon(): void {
    if (this.listeners.size > 0) void this.refresh();
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  private async refresh(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const status = await this.cluster.status();
      const stats: Record<string, DeploymentStat> = {};
      await Promise.all(
        status.deployments.map(async (deployment) => {
          const stat = await this.cluster.stat(deployment.name).catch(() => undefined);
          if (stat) stats[deployment.name] = stat;
        }),
      );
      const json = JSON.stringify({ status, stats } satisfies ConsoleSnapshot);
      if (json === this.last) return;
      this.last = json;
      for (const listener of this.listeners) listener(json);
    } catch {
      // The head is momentarily unreachable: the next tick tries again; the page keeps its last view.
    } finally {
      this.reading = false;
    }
  }
}
