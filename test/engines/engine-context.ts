/** The `EngineContext` an engine factory gets for worker 0 of a test deployment. */
import {
  type DeploymentSpecInput,
  deploymentSpecSchema,
  type EngineContext,
} from '../../src/core/deployment.js';

export function engineContext(
  pretrainedModelType: string,
  inferParams: Record<string, string>,
  warnings: string[] = [],
  spec: Partial<DeploymentSpecInput> = {},
): EngineContext {
  return {
    spec: deploymentSpecSchema.parse({
      name: `${pretrainedModelType.replace(/\W+/g, '-')}-test`,
      pretrainedModelType,
      inferParams,
      ...spec,
    }),
    workerIndex: 0,
    gpuIndices: [],
    warn: (message) => warnings.push(message),
  };
}
