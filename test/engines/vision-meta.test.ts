/**
 * `ModelMeta.support_vision`: which deployments say they read images (the console offers its
 * attach-image control only for those). Engines are created through the registry as workers create
 * them; nothing is called upstream, so no upstream runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveEngine } from '../../src/engines/index.js';
import { isVisionArchitecture, isVisionModel } from '../../src/engines/shared/vision-models.js';
import { engineContext } from './engine-context.js';

async function visionOf(pretrainedModelType: string, inferParams: Record<string, string>) {
  const context = engineContext(pretrainedModelType, { 'saas.api_key': 'k', ...inferParams });
  const engine = await resolveEngine(context.spec)(context);
  try {
    return engine.meta.support_vision;
  } finally {
    await engine.dispose();
  }
}

test('vision model names: the vendors vision families read images, text-only models do not', () => {
  for (const name of [
    'gpt-4o',
    'gpt-4o-mini',
    'chatgpt-4o-latest',
    'gpt-4.1-nano',
    'gpt-5',
    'o1',
    'o3',
    'o4-mini',
    'gpt-4-turbo',
    'openai/gpt-4o',
    'qwen-vl-plus',
    'Qwen2.5-VL-72B-Instruct',
    'deepseek-vl2',
    'glm-4v-plus',
    'glm-4.5v',
    'yi-vision',
    'llava:13b',
    'claude-3-5-sonnet-20240620',
    'anthropic.claude-3-haiku-20240307-v1:0',
    'gemini-2.0-flash',
  ])
    assert.equal(isVisionModel(name), true, name);
  for (const name of [
    'gpt-3.5-turbo',
    'gpt-4',
    'o1-mini',
    'o3-mini',
    'deepseek-chat',
    'deepseek-reasoner',
    'glm-4',
    'qwen-turbo',
    'claude-2.1',
    'claude-instant-1.2',
    'm',
  ])
    assert.equal(isVisionModel(name), false, name);
});

test('saas/openai: saas.vision says it, else the model name does; an invalid value names the key', async () => {
  assert.equal(await visionOf('saas/openai', { 'saas.model': 'gpt-4o' }), true);
  assert.equal(await visionOf('saas/openai', { 'saas.model': 'gpt-3.5-turbo' }), false);
  assert.equal(await visionOf('saas/openai', { 'saas.model': 'm', 'saas.vision': 'true' }), true);
  assert.equal(await visionOf('saas/openai', { 'saas.model': 'gpt-4o', 'saas.vision': 'false' }), false);
  // OpenAI-shaped vendors are the same engine: DeepSeek's chat model reads text only.
  assert.equal(await visionOf('saas/reasoning_openai', { 'saas.model': 'deepseek-reasoner' }), false);
  await assert.rejects(visionOf('saas/openai', { 'saas.vision': 'maybe' }), /saas\.vision.*true or false/);
});

test('engines that carry images in their messages say so per model; the text-only ones do not', async () => {
  assert.equal(await visionOf('saas/claude', {}), true, 'the default claude-3-haiku');
  assert.equal(await visionOf('saas/claude', { 'saas.model': 'claude-2.1' }), false);
  assert.equal(await visionOf('saas/gemini', {}), true);
  assert.equal(await visionOf('saas/gemini', { 'saas.model': 'text-embedding-004' }), false);
  assert.equal(await visionOf('saas/qianwen_vl', {}), true);
  assert.equal(await visionOf('saas/qianwen', {}), false);
  assert.equal(await visionOf('saas/zhipu', { 'saas.api_key': 'id.secret', 'saas.model': 'glm-4v' }), true);
  assert.equal(await visionOf('saas/zhipu', { 'saas.api_key': 'id.secret' }), false);
});

test('vision architectures (a local model folder for vLLM): vision-language classes read images', () => {
  for (const name of [
    'Qwen2VLForConditionalGeneration',
    'Qwen2_5_VLForConditionalGeneration',
    'LlavaForConditionalGeneration',
    'MllamaForConditionalGeneration',
    'InternVLChatModel',
    'Gemma3ForConditionalGeneration',
  ])
    assert.equal(isVisionArchitecture([name]), true, name);
  for (const name of ['Qwen2ForCausalLM', 'LlamaForCausalLM', 'Gemma3ForCausalLM', 'BertModel'])
    assert.equal(isVisionArchitecture([name]), false, name);
});
