/**
 * Placement: which node runs each worker of a deployment, with which GPUs.
 *
 * Each node has a resource ledger (CPUs and GPU shares in use). A deployment's workers are spread
 * over the nodes with room — the node with the fewest workers of that deployment first, then the
 * one with the most free CPUs — and a deploy that cannot fit fails at once saying what is missing.
 * The embedded head is the one-node case (node `head`).
 */
import { type DeploymentSpec, InsufficientResourcesError } from '../core/index.js';
import type { NodeResources } from './resources.js';

/** What placing needs of a deployment; a training job is placed as one worker holding all its room. */
export type PlacementRequest = Pick<
  DeploymentSpec,
  'name' | 'numWorkers' | 'cpusPerWorker' | 'gpusPerWorker' | 'nodes'
> & {
  /** What errors call it. Defaults to `deployment <name>`. */
  label?: string;
};

export interface WorkerPlacement {
  node: string;
  gpuIndices: number[];
}

interface NodeLedger {
  resources: NodeResources;
  cpusUsed: number;
  gpuLoad: number[];
  labels: Record<string, string>;
}

interface Holding {
  node: string;
  cpus: number;
  gpus: { index: number; share: number }[];
}

export class Placement {
  private readonly nodes = new Map<string, NodeLedger>();
  /** deployment name → worker index → what it holds */
  private readonly holdings = new Map<string, Map<number, Holding>>();

  addNode(node: string, resources: NodeResources, labels: Record<string, string> = {}): void {
    if (this.nodes.has(node)) return;
    this.nodes.set(node, { resources, cpusUsed: 0, gpuLoad: resources.gpus.map(() => 0), labels });
  }

  /** Forgets a node; returns the workers that were on it, by deployment. */
  removeNode(node: string): Map<string, number[]> {
    this.nodes.delete(node);
    const lost = new Map<string, number[]>();
    for (const [name, workers] of this.holdings) {
      for (const [index, holding] of workers) {
        if (holding.node !== node) continue;
        workers.delete(index);
        lost.set(name, [...(lost.get(name) ?? []), index]);
      }
    }
    return lost;
  }

  nodeIds(): string[] {
    return [...this.nodes.keys()];
  }

  resources(node: string): NodeResources | undefined {
    return this.nodes.get(node)?.resources;
  }

  usage(node: string): { cpusUsed: number; gpuLoad: number[] } | undefined {
    const ledger = this.nodes.get(node);
    return ledger && { cpusUsed: ledger.cpusUsed, gpuLoad: [...ledger.gpuLoad] };
  }

  /** Places every worker of a deployment, all or nothing, on nodes other than `excludeNodes`. */
  place(spec: PlacementRequest, excludeNodes: readonly string[] = []): WorkerPlacement[] {
    const placed: WorkerPlacement[] = [];
    try {
      for (let index = 0; index < spec.numWorkers; index++)
        placed.push(this.placeWorker(spec, index, excludeNodes));
    } catch (error) {
      this.release(spec.name);
      // Describe what is free before this deploy, not after its partial placement.
      if (error instanceof InsufficientResourcesError)
        throw new InsufficientResourcesError(this.describeShortfall(spec, excludeNodes));
      throw error;
    }
    return placed;
  }

  /** Places one worker (after its node was lost), avoiding `excludeNodes`. */
  placeWorker(spec: PlacementRequest, index: number, excludeNodes: readonly string[] = []): WorkerPlacement {
    const workers = this.holdings.get(spec.name) ?? new Map<number, Holding>();
    const perNode = new Map<string, number>();
    for (const holding of workers.values()) perNode.set(holding.node, (perNode.get(holding.node) ?? 0) + 1);
    const candidates = [...this.nodes.entries()]
      .filter(([node]) => !excludeNodes.includes(node) && allows(spec, node))
      .sort(
        ([nodeA, ledgerA], [nodeB, ledgerB]) =>
          (perNode.get(nodeA) ?? 0) - (perNode.get(nodeB) ?? 0) ||
          ledgerB.resources.cpus - ledgerB.cpusUsed - (ledgerA.resources.cpus - ledgerA.cpusUsed) ||
          nodeA.localeCompare(nodeB),
      );
    for (const [node, ledger] of candidates) {
      if (ledger.cpusUsed + spec.cpusPerWorker > ledger.resources.cpus + 1e-9) continue;
      const gpuIndices = assignGpus(ledger.gpuLoad, spec.gpusPerWorker);
      if (gpuIndices === undefined) continue;
      ledger.cpusUsed += spec.cpusPerWorker;
      const share = Math.min(1, spec.gpusPerWorker);
      workers.set(index, {
        node,
        cpus: spec.cpusPerWorker,
        gpus: gpuIndices.map((gpu) => ({ index: gpu, share })),
      });
      this.holdings.set(spec.name, workers);
      return { node, gpuIndices };
    }
    throw new InsufficientResourcesError(this.describeShortfall(spec, excludeNodes));
  }

  /**
   * Moves one placed worker to `node` when that node has room for it (rebalancing onto a node that
   * joined); returns its new placement, or undefined (and changes nothing) when it does not fit.
   */
  moveWorker(spec: DeploymentSpec, index: number, node: string): WorkerPlacement | undefined {
    const ledger = this.nodes.get(node);
    if (!ledger || !allows(spec, node)) return undefined;
    if (ledger.cpusUsed + spec.cpusPerWorker > ledger.resources.cpus + 1e-9) return undefined;
    if (assignGpus([...ledger.gpuLoad], spec.gpusPerWorker) === undefined) return undefined;
    this.releaseWorker(spec.name, index);
    return this.placeWorker(
      spec,
      index,
      this.nodeIds().filter((other) => other !== node),
    );
  }

  /** Releases every worker of a deployment. */
  release(name: string): void {
    for (const index of [...(this.holdings.get(name)?.keys() ?? [])]) this.releaseWorker(name, index);
    this.holdings.delete(name);
  }

  releaseWorker(name: string, index: number): void {
    const holding = this.holdings.get(name)?.get(index);
    if (!holding) return;
    this.holdings.get(name)!.delete(index);
    const ledger = this.nodes.get(holding.node);
    if (!ledger) return;
    ledger.cpusUsed = Math.max(0, ledger.cpusUsed - holding.cpus);
    for (const { index: gpu, share } of holding.gpus)
      ledger.gpuLoad[gpu] = Math.max(0, (ledger.gpuLoad[gpu] ?? 0) - share);
  }

  private describeShortfall(spec: PlacementRequest, excludeNodes: readonly string[]): string {
    const { numWorkers, cpusPerWorker, gpusPerWorker } = spec;
    const name = spec.label ?? `deployment ${spec.name}`;
    const nodes = [...this.nodes.entries()].filter(
      ([node]) => !excludeNodes.includes(node) && allows(spec, node),
    );
    if (nodes.length === 0)
      return `${name} cannot be placed: no node is available${spec.nodes ? ` (it runs only on ${spec.nodes.join(', ')})` : ''}`;
    const totalGpus = nodes.reduce((sum, [, ledger]) => sum + ledger.resources.gpus.length, 0);
    if (gpusPerWorker > 0 && totalGpus === 0) {
      return (
        `${name} asks for ${gpusPerWorker} GPUs per worker but ` +
        `${nodes.length === 1 ? 'this node has' : 'no node has any'} no GPU (nvidia-smi found none); use --gpus_per_worker 0 for a CPU deployment`
      );
    }
    const free = nodes
      .map(([node, ledger]) => {
        const freeGpus = ledger.gpuLoad.reduce((sum, used) => sum + Math.max(0, 1 - used), 0);
        return `${node}: ${(ledger.resources.cpus - ledger.cpusUsed).toFixed(2)} CPUs and ${freeGpus.toFixed(2)} of ${ledger.resources.gpus.length} GPUs free`;
      })
      .join('; ');
    return (
      `${name} needs ${numWorkers} workers × (${cpusPerWorker} CPUs, ${gpusPerWorker} GPUs) = ` +
      `${numWorkers * cpusPerWorker} CPUs and ${numWorkers * gpusPerWorker} GPUs, which do not fit: ${free}; ` +
      'lower --num_workers, --cpus_per_worker or --gpus_per_worker, or add nodes'
    );
  }
}

/** Whether the request may run on `node` (`nodes` restricts it). */
function allows(spec: PlacementRequest, node: string): boolean {
  return spec.nodes === undefined || spec.nodes.includes(node);
}

/** Whole GPUs for `gpus >= 1`, a share of the least loaded GPU for fractions. Mutates `load`. */
function assignGpus(load: number[], gpus: number): number[] | undefined {
  if (gpus <= 0) return [];
  if (gpus < 1) {
    let best = -1;
    for (let index = 0; index < load.length; index++) {
      if (load[index]! + gpus <= 1 + 1e-9 && (best < 0 || load[index]! < load[best]!)) best = index;
    }
    if (best < 0) return undefined;
    load[best]! += gpus;
    return [best];
  }
  const free = load.flatMap((used, index) => (used === 0 ? [index] : []));
  const wanted = Math.ceil(gpus);
  if (free.length < wanted) return undefined;
  const chosen = free.slice(0, wanted);
  for (const index of chosen) load[index] = 1;
  return chosen;
}
