/**
 * The head's view of the nodes: joined on their registration or first heartbeat, lost when
 * heartbeats stop for `NODE_TIMEOUT_MS` (counted while the head's own NATS connection is up). Tells
 * the head through `onJoined` / `onLost`.
 *
 * Every heartbeat is parsed (and, with a cluster key, its signature checked) before it counts: an
 * invalid one is dropped with a log line and changes nothing. One node id belongs to one node
 * process (`instanceId`) while it lives: another process with the same id is refused (its
 * registration fails, its heartbeats are ignored) until the first one is lost.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { ClusterKey } from './cluster-key.js';
import { watchConnection } from './connection-watch.js';
import { type NodeAdvert, nodeAdvertSchema } from './nats-messages.js';
import { NODE_TIMEOUT_MS, subjects } from './nats-protocol.js';
import { decodeSigned } from './signed-envelope.js';

export interface NodeDirectoryOptions {
  connection: NatsConnection;
  /** May return a promise: `observe` resolves when the join is complete. */
  onJoined: (advert: NodeAdvert) => void | Promise<void>;
  onLost: (nodeId: string, reason: string) => void;
  timeoutMs?: number;
  /** Heartbeats must be signed with it. */
  clusterKey?: ClusterKey;
  log?: (line: string) => void;
}

/** What `observe` decided: joined (or still known), or refused because the id is taken. */
export type Observation = { accepted: true; joined: Promise<void> } | { accepted: false; holder: NodeAdvert };

export class NodeDirectory {
  private readonly nodes = new Map<string, { advert: NodeAdvert; lastSeen: number }>();
  private readonly joins = new Map<string, Promise<void>>();
  /** Instances already logged as duplicates (one log line each, not one per heartbeat). */
  private readonly reportedDuplicates = new Set<string>();
  private readonly subscription: Subscription;
  private readonly timer: NodeJS.Timeout;
  private readonly timeoutMs: number;

  constructor(private readonly options: NodeDirectoryOptions) {
    this.timeoutMs = options.timeoutMs ?? NODE_TIMEOUT_MS;
    const log = options.log ?? (() => {});
    this.subscription = options.connection.subscribe(subjects.heartbeatAll, {
      callback: (_error, message) => {
        const parsed = decodeSigned(options.clusterKey, message.subject, message.data, nodeAdvertSchema);
        if (!parsed.ok) {
          log(`dropped an invalid message on ${message.subject}: ${parsed.reason}`);
          return;
        }
        if (message.subject !== subjects.heartbeat(parsed.value.nodeId)) {
          log(`dropped a heartbeat of node ${parsed.value.nodeId} sent on ${message.subject}`);
          return;
        }
        const observed = this.observe(parsed.value);
        if (!observed.accepted && !this.reportedDuplicates.has(parsed.value.instanceId)) {
          this.reportedDuplicates.add(parsed.value.instanceId);
          log(
            `ignoring heartbeats of a second node process with id ${parsed.value.nodeId} ${describe(parsed.value)}`,
          );
        }
      },
    });
    const watch = watchConnection(options.connection);
    this.timer = setInterval(
      () => {
        // While the head's own connection is down (a NATS restart) no heartbeat can arrive: that
        // silence says nothing about the nodes, so their clocks start again when it is back.
        if (!watch.connected) return;
        const now = Date.now();
        for (const [nodeId, node] of this.nodes) {
          if (now - Math.max(node.lastSeen, watch.reconnectedAt) <= this.timeoutMs) continue;
          this.nodes.delete(nodeId);
          options.onLost(nodeId, `no heartbeat for ${((now - node.lastSeen) / 1000).toFixed(1)}s`);
        }
      },
      Math.min(250, this.timeoutMs / 4),
    );
    this.timer.unref();
  }

  /** Records a sign of life (a heartbeat or a node's registration). */
  observe(advert: NodeAdvert): Observation {
    const known = this.nodes.get(advert.nodeId);
    if (known && known.advert.instanceId !== advert.instanceId) {
      // Another process claims a live node's id: refused until the holder is lost (a restarted
      // node's new process joins once its old one times out).
      if (Date.now() - known.lastSeen <= this.timeoutMs) return { accepted: false, holder: known.advert };
      this.nodes.delete(advert.nodeId);
      this.options.onLost(advert.nodeId, 'a new process took over its id');
    }
    const isNew = !this.nodes.has(advert.nodeId);
    this.nodes.set(advert.nodeId, { advert, lastSeen: Date.now() });
    if (!isNew) return { accepted: true, joined: this.whenJoined(advert.nodeId) };
    // A failed join is logged, never an unhandled rejection (a heartbeat must not crash the head).
    const joined = Promise.resolve()
      .then(() => this.options.onJoined(advert))
      .catch((error: unknown) =>
        this.options.log?.(`node ${advert.nodeId} could not join: ${(error as Error).message}`),
      );
    this.joins.set(advert.nodeId, joined);
    return { accepted: true, joined };
  }

  /** Resolves once the node's join (if one is under way) is complete. */
  whenJoined(nodeId: string): Promise<void> {
    return this.joins.get(nodeId) ?? Promise.resolve();
  }

  list(): NodeAdvert[] {
    return [...this.nodes.values()].map((node) => node.advert);
  }

  close(): void {
    clearInterval(this.timer);
    this.subscription.unsubscribe();
  }
}

/** `(host H, pid P)`, for messages about a node process. */
export function describe(advert: NodeAdvert): string {
  return `(host ${advert.hostname}, pid ${advert.pid})`;
}
