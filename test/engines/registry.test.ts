/** The engine catalog: which model types and backends this build accepts, and lazy factories. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deploymentSpecSchema } from '../../src/core/deployment.js';
import { ByzerLLMError } from '../../src/core/errors.js';
import {
  BACKENDS_BY_MODEL_TYPE,
  engineRunsInProcess,
  INFER_BACKENDS,
  SAAS_MODEL_TYPES,
  resolveEngine,
  validateEngineChoice,
} from '../../src/engines/index.js';

const spec = (pretrainedModelType: string, inferBackend = '', inferParams: Record<string, string> = {}) =>
  deploymentSpecSchema.parse({ name: 'registry-test', pretrainedModelType, inferBackend, inferParams });

function failsWith(code: string, ...fragments: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof ByzerLLMError, String(error));
    assert.equal(error.code, code, error.message);
    for (const fragment of fragments)
      assert.ok(error.message.includes(fragment), `"${error.message}" names ${fragment}`);
    return true;
  };
}

test('saas/openai and its alias saas/official_openai resolve to the OpenAI-compatible engine', async () => {
  const openAITypes = ['saas/openai', 'saas/official_openai'] as const;
  for (const type of openAITypes) assert.ok(SAAS_MODEL_TYPES.includes(type), `${type} is listed`);
  for (const type of openAITypes) {
    validateEngineChoice(spec(type));
    const factory = resolveEngine(spec(type));
    const engine = await factory({
      spec: spec(type, '', { 'saas.api_key': 'sk-x', 'saas.model': 'gpt-4o' }),
      workerIndex: 0,
      gpuIndices: [],
      warn: () => {},
    });
    assert.equal(engine.meta.model_name, 'gpt-4o');
    assert.equal(engine.chat?.provider, type);
    await engine.dispose();
  }
});

test('an unknown model type is an invalid argument listing the allowed types', () => {
  assert.throws(
    () => validateEngineChoice(spec('saas/nope')),
    failsWith('invalid_argument', '"saas/nope"', 'saas/openai', 'saas/official_openai', 'custom/auto'),
  );
  assert.throws(
    () => resolveEngine(spec('custom/llama2', 'vllm')),
    failsWith('invalid_argument', '"custom/llama2"', 'custom/auto'),
  );
});

test('a local type needs a known infer backend; the allowed ones are listed', () => {
  assert.deepEqual([...INFER_BACKENDS], ['llama_cpp', 'vllm', 'transformers']);
  assert.throws(
    () => validateEngineChoice(spec('custom/auto')),
    failsWith('invalid_argument', 'llama_cpp, vllm, transformers', 'none was given'),
  );
  assert.throws(
    () => validateEngineChoice(spec('custom/auto', 'deepspeed')),
    failsWith('invalid_argument', '"deepspeed"', 'llama_cpp'),
  );
});

test('llama_cpp resolves for custom/auto and runs in a worker process; SaaS engines stay in-process', () => {
  assert.equal(typeof resolveEngine(spec('auto', 'llama_cpp')), 'function');
  assert.equal(engineRunsInProcess(spec('custom/auto', 'llama_cpp')), false);
  assert.equal(engineRunsInProcess(spec('saas/openai', '')), true);
});

test('custom/auto runs on llama_cpp, vllm and transformers; transformers alone serves bge, m3e, bge_rerank and whisper', () => {
  for (const backend of ['llama_cpp', 'vllm', 'transformers']) {
    assert.equal(typeof resolveEngine(spec('custom/auto', backend)), 'function');
  }
  for (const modelType of ['custom/bge', 'custom/m3e', 'custom/bge_rerank', 'custom/whisper', 'bge']) {
    assert.equal(typeof resolveEngine(spec(modelType, 'transformers')), 'function');
    assert.throws(
      () => validateEngineChoice(spec(modelType, 'vllm')),
      failsWith('invalid_argument', 'runs on --infer_backend transformers', 'not vllm'),
    );
  }
  assert.deepEqual(BACKENDS_BY_MODEL_TYPE['custom/auto'], ['llama_cpp', 'vllm', 'transformers']);
  assert.deepEqual(BACKENDS_BY_MODEL_TYPE['custom/whisper'], ['transformers']);
});

test("Byzer-LLM's sensevoice, qwen_vl and stable_diffusion fail naming what serves those models", () => {
  const expected: Record<string, string[]> = {
    'custom/qwen_vl': ['custom/auto --infer_backend vllm', 'saas/qianwen_vl'],
    sensevoice: ['custom/whisper on --infer_backend transformers', 'whisper-1'],
    'custom/stable_diffusion': ['saas/openai', 'dall-e-3'],
  };
  for (const [modelType, fragments] of Object.entries(expected)) {
    for (const backend of ['transformers', 'vllm', '']) {
      assert.throws(
        () => validateEngineChoice(spec(modelType, backend)),
        failsWith('unsupported', 'is not served by any backend here', ...fragments),
      );
    }
  }
});
