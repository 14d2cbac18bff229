/**
 * The head's view of the nodes: joined on their first heartbeat, lost when heartbeats stop for
 * `NODE_TIMEOUT_MS`. Tells the head through `onJoined` / `onLost`.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { watchConnection } from './connection-watch.js';
import { decode, NODE_TIMEOUT_MS, subjects } from './nats-protocol.js';
import type { NodeAdvert } from './node-agent.js';

export interface NodeDirectoryOptions {
  connection: NatsConnection;
  /** May return a promise: `observe` resolves when the join is complete. */
  onJoined: (advert: NodeAdvert) => void | Promise<void>;
  onLost: (nodeId: string, reason: string) => void;
  timeoutMs?: number;
}

export class NodeDirectory {
  private readonly nodes = new Map<string, { advert: NodeAdvert; lastSeen: number }>();
  private readonly subscription: Subscription;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: NodeDirectoryOptions) {
    const timeoutMs = options.timeoutMs ?? NODE_TIMEOUT_MS;
    this.subscription = options.connection.subscribe(subjects.heartbeatAll, {
      callback: (_error, message) => void this.observe(decode<NodeAdvert>(message.data)),
    });
    const watch = watchConnection(options.connection);
    this.timer = setInterval(
      () => {
        // While the head's own connection is down (a NATS restart) no heartbeat can arrive: that
        // silence says nothing about the nodes, so their clocks start again when it is back.
        if (!watch.connected) return;
        const now = Date.now();
        for (const [nodeId, node] of this.nodes) {
          if (now - Math.max(node.lastSeen, watch.reconnectedAt) <= timeoutMs) continue;
          this.nodes.delete(nodeId);
          options.onLost(nodeId, `no heartbeat for ${((now - node.lastSeen) / 1000).toFixed(1)}s`);
        }
      },
      Math.min(250, timeoutMs / 4),
    );
    this.timer.unref();
  }

  /** Records a sign of life (a heartbeat or a node's registration). */
  observe(advert: NodeAdvert): Promise<void> {
    const known = this.nodes.get(advert.nodeId);
    // A node that restarted (new pid) lost its workers: treat it as lost, then joined again.
    if (known && known.advert.pid !== advert.pid) {
      this.nodes.delete(advert.nodeId);
      this.options.onLost(advert.nodeId, 'it restarted');
    }
    const isNew = !this.nodes.has(advert.nodeId);
    this.nodes.set(advert.nodeId, { advert, lastSeen: Date.now() });
    if (!isNew) return Promise.resolve();
    const joined = Promise.resolve(this.options.onJoined(advert));
    this.joins.set(advert.nodeId, joined);
    return joined;
  }

  /** Resolves once the node's join (if one is under way) is complete. */
  whenJoined(nodeId: string): Promise<void> {
    return this.joins.get(nodeId) ?? Promise.resolve();
  }

  private readonly joins = new Map<string, Promise<void>>();

  list(): NodeAdvert[] {
    return [...this.nodes.values()].map((node) => node.advert);
  }

  close(): void {
    clearInterval(this.timer);
    this.subscription.unsubscribe();
  }
}
