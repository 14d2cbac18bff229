/**
 * What a node has: CPUs, memory and GPUs. `Placement` (placement.ts) checks deploys against it.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';

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
 * overrides the GPU count (for machines where detection is impossible, and for tests of placement);
 * `BYZERLLM_NUM_CPUS` (`start --cpus`) the CPUs offered, to share a machine with other work.
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
  const cpus = Number.parseInt(environment.BYZERLLM_NUM_CPUS ?? '', 10);
  return { cpus: cpus > 0 ? cpus : os.availableParallelism(), memoryBytes: os.totalmem(), gpus };
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
