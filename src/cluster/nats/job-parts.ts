/**
 * A training job spread over several nodes, as the head sees it: one part per node, each running a
 * contiguous block of global ranks with its own supervisor, all meeting at rank 0's rendezvous.
 *
 * Part 0 holds rank 0 (progress, checkpoints and the trained model come from it). The job's record
 * is part 0's while every part is well (`finishing` when part 0 has succeeded and another has not
 * yet reported its end); once one fails (or its node is lost) the job is `stopping` while the head
 * stops the others, then `failed` with the cause: a worker killed from outside or
 * a lost node before a peer that merely exited because its partner was gone (torch's collectives
 * fail on every rank when one dies), else the first failure. A job on one node is that node's
 * record unchanged.
 */
import type { WorkerPlacement } from '../placement.js';
import {
  type ClusterJobRecord,
  FINISHED_JOB_STATUSES,
  type JobNodeSummary,
  type PlacedJobRecord,
} from './job-messages.js';

export interface JobPart {
  node: string;
  firstRank: number;
  workers: number;
  /** The record the node last reported (or the head set: `lost`). */
  record: ClusterJobRecord;
  /** Progress events received from this node so far (node-side indices). */
  received: number;
  /** The head failed it because its node was lost. */
  lost: boolean;
  /** Order in which parts finished, for picking the first failure. */
  finishedOrder?: number;
  stopRequested: boolean;
  /** The catch-up read from this part's node in flight, if any (one at a time; head-job-recovery.ts). */
  catchingUp?: Promise<void>;
}

/** One part per node, the node with the most workers first (it holds rank 0). */
export function partsFromPlacements(name: string, placements: readonly WorkerPlacement[]): JobPart[] {
  const counts = new Map<string, number>();
  for (const { node } of placements) counts.set(node, (counts.get(node) ?? 0) + 1);
  const nodes = [...counts.keys()].sort((nodeA, nodeB) => counts.get(nodeB)! - counts.get(nodeA)!);
  let firstRank = 0;
  return nodes.map((node) => {
    const workers = counts.get(node)!;
    const part: JobPart = {
      node,
      firstRank,
      workers,
      record: { name, status: 'queued' },
      received: 0,
      lost: false,
      stopRequested: false,
    };
    firstRank += workers;
    return part;
  });
}

/** The options a part's node is started with: its share of the workers and, when spread, its ranks. */
export function partOptions(
  input: Record<string, unknown>,
  parts: readonly JobPart[],
  index: number,
  rendezvous?: { masterAddress: string; masterPort: number },
): Record<string, unknown> {
  // `nodes` is the head's to place by and `deploy` the head's to do once the job succeeded.
  const { nodes: _nodes, deploy: _deploy, ...options } = input;
  const part = parts[index]!;
  if (parts.length === 1) return { ...options, numWorkers: part.workers };
  const worldSize = parts.reduce((sum, each) => sum + each.workers, 0);
  return {
    ...options,
    numWorkers: part.workers,
    distributed: {
      worldSize,
      nodeCount: parts.length,
      nodeRank: index,
      firstRank: part.firstRank,
      ...(rendezvous ?? {}),
    },
  };
}

/** "node a" or "nodes a, b": where a job's parts run, for messages and the head's log. */
export function describeNodes(parts: readonly JobPart[]): string {
  return `${parts.length > 1 ? 'nodes' : 'node'} ${parts.map((part) => part.node).join(', ')}`;
}

export function isFinished(record: ClusterJobRecord): boolean {
  return FINISHED_JOB_STATUSES.includes(record.status);
}

/** The job's record from its parts (see the file comment). */
export function combinedRecord(parts: readonly JobPart[]): PlacedJobRecord {
  const main = parts[0]!;
  const nodes: JobNodeSummary[] = parts.map((part) => ({
    node: part.node,
    ranks: [part.firstRank, part.firstRank + part.workers - 1],
    status: part.record.status,
    ...(part.record.reason ? { reason: part.record.reason } : {}),
    workerPids: part.record.workerPids ?? [],
  }));
  const base: PlacedJobRecord = { ...main.record, node: main.node, nodes };
  if (parts.length === 1) return base;
  base.workerPids = parts.flatMap((part) => part.record.workerPids ?? []);
  const ended = parts.filter((part) => part.record.status === 'failed' || part.record.status === 'stopped');
  const active = parts.some((part) => !isFinished(part.record));
  if (ended.length === 0) return active && isFinished(main.record) ? { ...base, status: 'finishing' } : base;
  const cause = failureCause(parts);
  const reason = cause ? describeFailure(cause) : 'stopped by request';
  const status = active ? 'stopping' : cause ? 'failed' : 'stopped';
  return { ...base, status, reason };
}

function failureCause(parts: readonly JobPart[]): JobPart | undefined {
  const rank = (part: JobPart) => (part.lost || part.record.failure?.signal ? 0 : 1);
  return parts
    .filter((part) => part.record.status === 'failed')
    .sort(
      (partA, partB) =>
        rank(partA) - rank(partB) ||
        (partA.finishedOrder ?? Number.MAX_SAFE_INTEGER) - (partB.finishedOrder ?? Number.MAX_SAFE_INTEGER),
    )[0];
}

function describeFailure(part: JobPart): string {
  const reason = part.record.reason ?? 'no reason recorded';
  return part.lost ? reason : `node ${part.node}: ${reason}`;
}
