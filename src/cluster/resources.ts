/**
 * What a node has (CPUs, memory, GPUs) and what its deployments have taken.
 *
 * Deploys are checked against it up front so that a deploy asking for more than exists fails at once
 * with what is missing, instead of workers failing one by one later. GPU indices are assigned here and
 * become `CUDA_VISIBLE_DEVICES` for local engines.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { type DeploymentSpec, InsufficientResourcesError } from '../core/index.js';

export interface GpuInfo {
  index: number;
  name: string;
  memoryMiB: number;
}

export interface NodeResources {
  cpus: number;
  memoryBytes: number;
  gpus: GpuInfo[];
}

/**
 * Detects this node's resources. GPUs come from `nvidia-smi` when present. `BYZERLLM_NUM_GPUS`
 * overrides the GPU count (for machines where detection is impossible, and for tests of placement).
 */
export async function detectNodeResources(
  environment: NodeJS.ProcessEnv = process.env,
): Promise<NodeResources> {
  const override = environment.BYZERLLM_NUM_GPUS;
  const gpus =
    override !== undefined && override !== ''
      ? Array.from({ length: Math.max(0, Number.parseInt(override, 10) || 0) }, (_, index) => ({
          index,
          name: 'declared by BYZERLLM_NUM_GPUS',
          memoryMiB: 0,
        }))
      : await detectNvidiaGpus();
  return { cpus: os.availableParallelism(), memoryBytes: os.totalmem(), gpus };
}

function detectNvidiaGpus(): Promise<GpuInfo[]> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'],
      { timeout: 5000 },
      (error, stdout) => {
        if (error) return resolve([]);
        const gpus = stdout
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const [index, name, memory] = line.split(',').map((field) => field.trim());
            return { index: Number(index), name: name ?? 'gpu', memoryMiB: Number(memory) || 0 };
          });
        resolve(gpus);
      },
    );
  });
}

/** Tracks the CPUs and GPU shares handed to workers on one node. */
export class ResourceLedger {
  private readonly gpuLoad: number[];
  private cpusUsed = 0;
  private readonly holdings = new Map<string, { cpus: number; gpus: { index: number; share: number }[] }>();

  constructor(readonly node: NodeResources) {
    this.gpuLoad = node.gpus.map(() => 0);
  }

  /**
   * Reserves resources for every worker of a deployment, or throws `InsufficientResourcesError`
   * saying what is missing. Returns the GPU indices of each worker.
   */
  reserve(spec: DeploymentSpec): number[][] {
    const { numWorkers, gpusPerWorker, cpusPerWorker, name } = spec;
    const cpusWanted = numWorkers * cpusPerWorker;
    if (this.cpusUsed + cpusWanted > this.node.cpus + 1e-9) {
      throw new InsufficientResourcesError(
        `deployment ${name} asks for ${cpusWanted} CPUs (${numWorkers} workers × ${cpusPerWorker}) but this node has ` +
          `${(this.node.cpus - this.cpusUsed).toFixed(2)} of ${this.node.cpus} free; lower --cpus_per_worker or --num_workers`,
      );
    }
    const gpuTotal = this.node.gpus.length;
    if (gpusPerWorker > 0 && gpuTotal === 0) {
      throw new InsufficientResourcesError(
        `deployment ${name} asks for ${gpusPerWorker} GPUs per worker but this node has no GPU ` +
          `(nvidia-smi found none); use --gpus_per_worker 0 for a CPU deployment`,
      );
    }
    const load = [...this.gpuLoad];
    const assignments: number[][] = [];
    for (let worker = 0; worker < numWorkers; worker++) {
      const indices = assignGpus(load, gpusPerWorker);
      if (indices === undefined) {
        const free = load.reduce((sum, used) => sum + Math.max(0, 1 - used), 0);
        throw new InsufficientResourcesError(
          `deployment ${name} asks for ${numWorkers * gpusPerWorker} GPUs (${numWorkers} workers × ${gpusPerWorker}) ` +
            `but this node has ${gpuTotal} GPUs with ${free.toFixed(2)} free`,
        );
      }
      assignments.push(indices);
    }
    this.gpuLoad.splice(0, this.gpuLoad.length, ...load);
    this.cpusUsed += cpusWanted;
    const share = Math.min(1, gpusPerWorker);
    this.holdings.set(name, {
      cpus: cpusWanted,
      gpus: assignments.flat().map((index) => ({ index, share })),
    });
    return assignments;
  }

  release(name: string): void {
    const holding = this.holdings.get(name);
    if (!holding) return;
    this.holdings.delete(name);
    this.cpusUsed -= holding.cpus;
    for (const { index, share } of holding.gpus)
      this.gpuLoad[index] = Math.max(0, (this.gpuLoad[index] ?? 0) - share);
  }

  usage(): { cpusUsed: number; gpuLoad: number[] } {
    return { cpusUsed: this.cpusUsed, gpuLoad: [...this.gpuLoad] };
  }
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
  const wanted = Math.ceil(gpus);
  const free = load.flatMap((used, index) => (used === 0 ? [index] : []));
  if (free.length < wanted) return undefined;
  const chosen = free.slice(0, wanted);
  for (const index of chosen) load[index] = 1;
  return chosen;
}
