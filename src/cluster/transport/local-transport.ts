/**
 * The transport of one machine: SaaS engines' workers in this process (their work is network I/O),
 * local engines' workers in child processes (they own native memory and threads, so a crash or a
 * leak takes down one worker, never the head or node). `engineRunsInProcess` decides per deployment.
 */
import { engineRunsInProcess } from '../../engines/index.js';
import type { WorkerTransport } from './transport.js';

export interface LocalTransportOptions {
  inProcess: WorkerTransport;
  process: WorkerTransport;
}

export function createLocalTransport(options: LocalTransportOptions): WorkerTransport {
  return {
    name: 'local',
    startWorker: (start) =>
      engineRunsInProcess(start.spec)
        ? options.inProcess.startWorker(start)
        : options.process.startWorker(start),
  };
}
