/**
 * The training-job runner node agents are given (cluster/nats/job-messages.ts): the same local job
 * path `byzerllm finetune` uses without `--address`, under this node's `$BYZERLLM_HOME`. The cluster
 * layer cannot import src/train, so the CLI injects it, as it injects the SQL layer's trainer.
 *
 * Jobs started here are tied to the agent: they fail when it exits (a job whose node agent is gone
 * could report to no one, and would hold the machine's CPUs unseen).
 */
import os from 'node:os';
import type { ClusterJobRecord, TrainingJobRunner } from '../cluster/index.js';
import {
  getTrainingJob,
  type JobRecord,
  readTrainingProgress,
  removeTrainingJob,
  resumeTrainingJob,
  startTrainingJob,
  stopTrainingJob,
  type TrainingOptionsInput,
} from '../train/index.js';

export function createTrainingJobRunner(): TrainingJobRunner {
  const context = { tiedToCaller: true, advertiseAddress: nodeAddress() };
  return {
    // startTrainingJob validates the options with their zod schema before any work starts.
    start: async (options) =>
      asClusterRecord(await startTrainingJob(options as TrainingOptionsInput, context)),
    stop: async (name) => asClusterRecord(await stopTrainingJob(name)),
    read: async (name, from) => ({
      record: asClusterRecord(await getTrainingJob(name)),
      events: (await readTrainingProgress(name)).slice(from),
    }),
    resume: async (name, rendezvous) =>
      asClusterRecord(await resumeTrainingJob(name, { ...context, ...(rendezvous ? { rendezvous } : {}) })),
    remove: (name, force) => removeTrainingJob(name, { force }),
  };
}

/**
 * The address other nodes reach this one at, for the rendezvous of a job spread over nodes when
 * this node holds rank 0: `$BYZERLLM_NODE_ADDRESS`, else the first non-loopback IPv4 address, else
 * 127.0.0.1 (a cluster on one machine).
 */
export function nodeAddress(): string {
  const configured = process.env.BYZERLLM_NODE_ADDRESS?.trim();
  if (configured) return configured;
  for (const addresses of Object.values(os.networkInterfaces())) {
    const external = addresses?.find((address) => address.family === 'IPv4' && !address.internal);
    if (external) return external.address;
  }
  return '127.0.0.1';
}

function asClusterRecord(record: JobRecord): ClusterJobRecord {
  return record as unknown as ClusterJobRecord;
}
