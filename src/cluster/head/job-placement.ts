/**
 * Where a training job's workers run. A job is kept on one node when it fits there (its
 * torch.distributed traffic stays local), held as one worker of `numWorkers × cpus` and GPUs. When
 * it does not fit, or `nodes` asks for more than one, its workers are placed one by one and spread
 * over the nodes like a deployment's (the node with the fewest of them first), each node then
 * running its share of the ranks against rank 0's rendezvous (cluster/nats/job-parts.ts).
 *
 * A job that already ran (resumed, or re-attached by a restarted head) is `pinned`: each part's
 * workers are held on the node that ran them, because its files (rank 0's checkpoints) are there.
 */
import { InsufficientResourcesError } from '../../core/index.js';
import type { Placement, WorkerPlacement } from '../placement.js';

export interface JobPlacementRequest {
  name: string;
  numWorkers: number;
  cpusPerWorker: number;
  gpusPerWorker: number;
  /** Exactly this many nodes. Defaults to one node when the workers fit there, else as many as needed. */
  nodes?: number | undefined;
  /** Hold exactly these nodes' shares (node → its workers), on those nodes only. */
  pinned?: ReadonlyArray<{ node: string; workers: number }> | undefined;
}

/** Training jobs hold room in the same ledger as deployments, under names no deployment has. */
export function jobHoldingName(name: string): string {
  return `training job ${name}`;
}

/** One placement per worker, all or nothing; the room is held under `holdingName`. */
export function placeTrainingJob(
  placement: Placement,
  holdingName: string,
  request: JobPlacementRequest,
): WorkerPlacement[] {
  const { numWorkers, cpusPerWorker, gpusPerWorker } = request;
  const label = jobHoldingName(request.name);
  if (request.pinned) return placePinned(placement, holdingName, label, request);
  if ((request.nodes ?? 1) === 1) {
    try {
      const [node] = placement.place({
        name: holdingName,
        label,
        numWorkers: 1,
        cpusPerWorker: numWorkers * cpusPerWorker,
        gpusPerWorker: numWorkers * gpusPerWorker,
      });
      return Array.from({ length: numWorkers }, () => node!);
    } catch (error) {
      const mayTrySpread = request.nodes === undefined && numWorkers > 1;
      if (!mayTrySpread || !(error instanceof InsufficientResourcesError)) throw error;
    }
  }
  if (request.nodes !== undefined && request.nodes > numWorkers)
    throw new InsufficientResourcesError(
      `${label} cannot spread ${numWorkers} workers over ${request.nodes} nodes; give --num_workers ${request.nodes} or more`,
    );
  const spec = { name: holdingName, label, numWorkers, cpusPerWorker, gpusPerWorker };
  const placed = placement.place(spec, request.nodes ? leastBusyBeyond(placement, request.nodes) : []);
  const used = new Set(placed.map((worker) => worker.node)).size;
  if (request.nodes !== undefined && used !== request.nodes) {
    placement.release(holdingName);
    throw new InsufficientResourcesError(
      `${label} asks for ${request.nodes} nodes but its workers fit on ${used} of the ${request.nodes} with the most free CPUs`,
    );
  }
  return placed;
}

/** The nodes past the `count` with the most free CPUs: kept out of a job that asks for `count` nodes. */
function leastBusyBeyond(placement: Placement, count: number): string[] {
  const free = (node: string) =>
    (placement.resources(node)?.cpus ?? 0) - (placement.usage(node)?.cpusUsed ?? 0);
  return placement
    .nodeIds()
    .sort((nodeA, nodeB) => free(nodeB) - free(nodeA) || nodeA.localeCompare(nodeB))
    .slice(count);
}

/** Each pinned share as one holding of `workers × cpus` and GPUs on its node, all or nothing. */
function placePinned(
  placement: Placement,
  holdingName: string,
  label: string,
  request: JobPlacementRequest,
): WorkerPlacement[] {
  const placed: WorkerPlacement[] = [];
  try {
    for (const [index, { node, workers }] of (request.pinned ?? []).entries()) {
      const spec = {
        name: holdingName,
        label,
        numWorkers: 1,
        cpusPerWorker: workers * request.cpusPerWorker,
        gpusPerWorker: workers * request.gpusPerWorker,
      };
      const others = placement.nodeIds().filter((other) => other !== node);
      const worker = placement.placeWorker(spec, index, others);
      placed.push(...Array.from({ length: workers }, () => worker));
    }
  } catch (error) {
    placement.release(holdingName);
    throw error;
  }
  return placed;
}
