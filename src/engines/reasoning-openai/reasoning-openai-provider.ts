/**
 * `saas/reasoning_openai`: OpenAI-compatible reasoning models (o-series, DeepSeek R1 and the
 * vendors that serve it), a configuration of the OpenAI-compatible engine.
 *
 * Differences from `saas/openai`: no `temperature`/`top_p` in the body (these models reject them;
 * each one asked for becomes an unsupported-setting warning), and `reasoning_content` is reported
 * as `reasoning` / `reasoning-delta` parts (the shared engine already reads it). Same parameters and
 * defaults as `saas/openai`, as in Byzer-LLM.
 */
import type { EngineContext } from '../../core/deployment.js';
import type { EngineInstance } from '../../core/models.js';
import { createOpenAICompatibleEngine } from '../shared/openai-compatible/openai-compatible-provider.js';

export function createReasoningOpenAIEngine(context: EngineContext): Promise<EngineInstance> {
  return createOpenAICompatibleEngine(context, {
    provider: 'saas/reasoning_openai',
    omitSamplingParams: true,
  });
}
