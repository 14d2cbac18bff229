/**
 * `--deploy NAME` of a cluster job: the head deploys the model the job registered once the job
 * succeeded, on llama_cpp, pinned to the node that holds the file, and exactly once, also when the
 * head restarts in the middle of it.
 *
 * The head first adds a `deployment` event with status `deploying` and waits until it is on disk.
 * Then it looks for a deployment of that name among those it holds (a restarted head restored its
 * deployments before its jobs): when the first attempt got as far as registering it, that is the
 * outcome (`deployed`, or `failed` with its error; another model under that name is `failed`), and
 * nothing is deployed again. Otherwise it deploys. A worker an interrupted attempt was still
 * starting is stopped by its node once the new head said hello (node-agent.ts).
 */
import { toByzerLLMError } from '../../core/index.js';
import type { DeploymentInfo } from '../cluster-api.js';
import { HEAD_EVENT_SOURCE, type JobDeployment, type JobEntry, type JobRegistry } from './head-job-entry.js';

type DeploymentOutcome = NonNullable<JobDeployment['outcome']>;

/** Deploys the job's model (see the file comment); `done` runs once its outcome is recorded. */
export async function deployJobModel(
  registry: JobRegistry,
  entry: JobEntry,
  done: () => void,
): Promise<void> {
  const deployment = entry.deployment!;
  const outcome = await deployOnce(registry, entry, deployment.name).catch(
    (error: unknown): DeploymentOutcome => ({
      name: deployment.name,
      status: 'failed',
      error: toByzerLLMError(error).message,
    }),
  );
  deployment.outcome = outcome;
  entry.events.push({ event: 'deployment', ...outcome, ...HEAD_EVENT_SOURCE });
  registry.options.log(`training job ${entry.record.name}: deployment ${outcome.name} ${outcome.status}`);
  done();
}

async function deployOnce(registry: JobRegistry, entry: JobEntry, name: string): Promise<DeploymentOutcome> {
  const main = entry.parts[0]!;
  const gguf = (main.record.outputs as { gguf?: unknown } | undefined)?.gguf;
  if (typeof gguf !== 'string') throw new Error('the job registered no model.gguf');
  entry.events.push({ event: 'deployment', name, status: 'deploying', ...HEAD_EVENT_SOURCE });
  await registry.persist(entry);
  const { placer } = registry.options;
  const existing = (await placer.list()).find((each) => each.name === name);
  if (existing) return trainedModelOutcome(existing, gguf);
  await placer.deployTrainedModel({ name, modelPath: gguf, node: main.node });
  return { name, status: 'deployed' };
}

/**
 * A deployment of the name exists: it is this job's when it serves this job's file (also what the
 * local job supervisor records when its deploy answers `already_deployed`).
 */
export function trainedModelOutcome(existing: DeploymentInfo, gguf: string): DeploymentOutcome {
  const { name } = existing;
  if (existing.modelPath !== gguf)
    return {
      name,
      status: 'failed',
      error: `deployment ${name} exists and serves ${existing.modelPath}, not this job's ${gguf}`,
    };
  if (existing.state === 'failed')
    return { name, status: 'failed', error: existing.error ?? `deployment ${name} failed to start` };
  return { name, status: 'deployed' };
}
