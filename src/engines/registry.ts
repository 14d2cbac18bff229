/**
 * The engine catalog: which factory loads a deployment's model.
 *
 * An engine is chosen by the spec: `saas/<provider>` types pick a SaaS engine by type; every other
 * type (`custom/auto`, or a bare module name meaning `custom/<name>`) is a local model and picks
 * its engine by `inferBackend`. Factories are imported lazily (`await import`) so a process only
 * loads the engines it runs — native local engines are heavy.
 *
 * `validateEngineChoice` is the check the head runs before starting workers; `resolveEngine` is what
 * a worker calls to get its factory.
 */
import type { DeploymentSpec, EngineFactory } from '../core/deployment.js';
import { InvalidArgumentError, UnsupportedError } from '../core/errors.js';

/** SaaS model types this build can deploy (`--pretrained_model_type`). */
export const SAAS_MODEL_TYPES = ['saas/openai', 'saas/official_openai'] as const;
/** Local model types; they need an `--infer_backend`. */
export const LOCAL_MODEL_TYPES = ['custom/auto'] as const;
/** Local inference backends (`--infer_backend`). */
export const INFER_BACKENDS = ['llama_cpp', 'vllm', 'transformers'] as const;

export type SaasModelType = (typeof SAAS_MODEL_TYPES)[number];
export type InferBackend = (typeof INFER_BACKENDS)[number];

const openAICompatible: EngineFactory = async (context) => {
  const { createOpenAICompatibleEngine } = await import('./openai-compatible/openai-compatible-provider.js');
  return createOpenAICompatibleEngine(context);
};

const SAAS_ENGINES: Record<SaasModelType, EngineFactory> = {
  'saas/openai': openAICompatible,
  'saas/official_openai': openAICompatible,
};

const llamaCpp: EngineFactory = async (context) => {
  const { createLlamaCppEngine } = await import('./llama-cpp/llama-cpp-provider.js');
  return createLlamaCppEngine(context);
};

/** Local engines by backend; a backend missing here is valid but not built yet. */
const LOCAL_ENGINES: Partial<Record<InferBackend, EngineFactory>> = { llama_cpp: llamaCpp };

/**
 * Where a deployment's workers run. SaaS engines do network I/O and stay in the head process; local
 * engines own native memory and threads, so each worker gets its own process (a crash or a leak then
 * takes down one worker, never the head).
 */
export function engineRunsInProcess(spec: Pick<DeploymentSpec, 'pretrainedModelType'>): boolean {
  return spec.pretrainedModelType.trim().startsWith('saas/');
}

/**
 * Checks that the spec names an engine this build has. Throws `InvalidArgumentError` for an unknown
 * model type or backend (listing the allowed values), `UnsupportedError` for a valid local backend
 * whose engine is not in this build yet.
 */
export function validateEngineChoice(
  spec: Pick<DeploymentSpec, 'pretrainedModelType' | 'inferBackend'>,
): void {
  engineFor(spec);
}

/** The factory for the spec's engine, after the same checks as `validateEngineChoice`. */
export function resolveEngine(
  spec: Pick<DeploymentSpec, 'pretrainedModelType' | 'inferBackend'>,
): EngineFactory {
  return engineFor(spec);
}

function engineFor(spec: Pick<DeploymentSpec, 'pretrainedModelType' | 'inferBackend'>): EngineFactory {
  const modelType = spec.pretrainedModelType.trim();
  if (modelType.startsWith('saas/')) {
    if (isOneOf(SAAS_MODEL_TYPES, modelType)) return SAAS_ENGINES[modelType];
    throw new InvalidArgumentError(
      `unknown pretrained_model_type "${modelType}"; allowed: ${[...SAAS_MODEL_TYPES, ...LOCAL_MODEL_TYPES].join(', ')}`,
    );
  }
  const localType = modelType.includes('/') ? modelType : `custom/${modelType}`;
  if (!isOneOf(LOCAL_MODEL_TYPES, localType)) {
    throw new InvalidArgumentError(
      `unknown pretrained_model_type "${modelType}"; allowed: ${[...SAAS_MODEL_TYPES, ...LOCAL_MODEL_TYPES].join(', ')}`,
    );
  }
  const backend = spec.inferBackend.trim();
  if (!isOneOf(INFER_BACKENDS, backend)) {
    const got = backend === '' ? 'none was given' : `got "${backend}"`;
    throw new InvalidArgumentError(
      `pretrained_model_type ${localType} needs --infer_backend, one of ${INFER_BACKENDS.join(', ')}; ${got}`,
    );
  }
  const factory = LOCAL_ENGINES[backend];
  if (!factory) {
    throw new UnsupportedError(
      `the ${backend} backend is not available in this build yet; deploy a SaaS model (${SAAS_MODEL_TYPES.join(', ')}) instead`,
    );
  }
  return factory;
}

function isOneOf<const Values extends readonly string[]>(
  values: Values,
  value: string,
): value is Values[number] {
  return (values as readonly string[]).includes(value);
}
