/**
 * The training-job runner node agents are given (cluster/nats/job-messages.ts): the same local job
 * path `byzerllm finetune` uses without `--address`, under this node's `$BYZERLLM_HOME`. The cluster
 * layer cannot import src/train, so the CLI injects it, as it injects the SQL layer's trainer.
 */
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
  return {
    // startTrainingJob validates the options with their zod schema before any work starts.
    start: async (options) => asClusterRecord(await startTrainingJob(options as TrainingOptionsInput)),
    stop: async (name) => asClusterRecord(await stopTrainingJob(name)),
    read: async (name, from) => ({
      record: asClusterRecord(await getTrainingJob(name)),
      events: (await readTrainingProgress(name)).slice(from),
    }),
    resume: async (name) => asClusterRecord(await resumeTrainingJob(name)),
    remove: (name, force) => removeTrainingJob(name, { force }),
  };
}

function asClusterRecord(record: JobRecord): ClusterJobRecord {
  return record as unknown as ClusterJobRecord;
}
