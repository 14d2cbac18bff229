/**
 * `GET /v1/models` and `GET /v1/models/{id}`: the deployed models with their type (the original
 * listed one empty placeholder [quirk]). `type` is the main task of the model (`chat`, `embedding`,
 * …); `tasks` is everything it offers, from the deployment's meta.
 */
import type { ClusterApi, DeploymentInfo } from '../cluster/index.js';
import { NotFoundError } from '../core/index.js';

export async function listModels(cluster: ClusterApi) {
  const deployments = await cluster.list();
  return {
    object: 'list',
    data: await Promise.all(deployments.map((deployment) => modelCard(cluster, deployment))),
  };
}

export async function getModel(cluster: ClusterApi, id: string) {
  const deployments = await cluster.list();
  const deployment = deployments.find((candidate) => candidate.name === id);
  if (!deployment) {
    const names = deployments.map((candidate) => candidate.name);
    throw new NotFoundError(
      `no deployment named ${id}; deployed: ${names.length ? names.join(', ') : '(none)'}`,
      {
        details: { param: 'model' },
      },
    );
  }
  return modelCard(cluster, deployment);
}

async function modelCard(cluster: ClusterApi, deployment: DeploymentInfo) {
  let tasks: string[] = [];
  let type = 'unknown';
  if (deployment.state === 'running') {
    try {
      const meta = await cluster.meta(deployment.name);
      tasks = meta.tasks;
      type = meta.embedding_mode && tasks.includes('embedding') ? 'embedding' : (tasks[0] ?? 'unknown');
    } catch {
      // A deployment whose workers cannot answer is still listed, with an unknown type.
    }
  }
  return {
    id: deployment.name,
    object: 'model',
    created: 0,
    owned_by: 'byzerllm',
    type,
    tasks,
    state: deployment.state,
    pretrained_model_type: deployment.pretrainedModelType,
  };
}
