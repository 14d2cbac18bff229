/**
 * The trainer `byzerllm sql` gives its session: Byzer-LLM's `run command as LLM` training form
 * (`pretrainedModelType="sft/…"` / `"sfft/…"`) mapped onto training jobs. Warnings (parameters that
 * cannot be honoured) go to stderr naming each one; the statement's result row names the job.
 */
import { ByzerLLMError } from '../core/index.js';
import type { SqlTrainer } from '../sql/index.js';
import { followTrainingJob, startTrainingJob, trainingOptionsFromByzerSql } from '../train/index.js';

export function createSqlTrainer(): SqlTrainer {
  return {
    async train({ params, rows }) {
      const { options, detached } = trainingOptionsFromByzerSql(params, rows);
      const started = await startTrainingJob(options);
      for (const warning of options.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
      if (detached) return { job: started.name, status: started.status, model: null };
      // detached="false": the statement ends with the job (Byzer-LLM's non-detached sft waits too).
      const events = followTrainingJob(started.name);
      let next = await events.next();
      while (!next.done) next = await events.next();
      const record = next.value;
      if (record.status !== 'succeeded') {
        throw new ByzerLLMError(
          'worker_failed',
          `training job ${record.name} ${record.status}: ${record.reason ?? 'no reason recorded'}`,
        );
      }
      return { job: record.name, status: record.status, model: record.outputs?.gguf ?? null };
    },
  };
}
