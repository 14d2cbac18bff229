/** Shared set-up of the `saas/openai` engine tests: a stand-in upstream and an engine pointed at it. */
import assert from 'node:assert/strict';
import type { ChatRequest } from '../../src/core/chat-model.js';
import { deploymentSpecSchema } from '../../src/core/deployment.js';
import type { EngineInstance } from '../../src/core/models.js';
import { createOpenAICompatibleEngine } from '../../src/engines/shared/openai-compatible/openai-compatible-provider.js';
import {
  type OpenAIUpstream,
  type OpenAIUpstreamOptions,
  startOpenAIUpstream,
} from '../support/openai-upstream.js';

export const API_KEY = 'sk-conformance-secret-0123456789';

export async function createEngine(
  inferParams: Record<string, string>,
  warnings: string[] = [],
): Promise<EngineInstance> {
  const spec = deploymentSpecSchema.parse({
    name: 'test-openai',
    pretrainedModelType: 'saas/openai',
    inferParams,
  });
  return createOpenAICompatibleEngine({
    spec,
    workerIndex: 0,
    gpuIndices: [],
    warn: (message) => warnings.push(message),
  });
}

/** Runs `body` with a fresh stand-in and an engine pointed at it (retries off unless `params` says otherwise). */
export async function withEngine(
  body: (engine: EngineInstance, upstream: OpenAIUpstream) => Promise<void>,
  params: Record<string, string> = {},
  upstreamOptions: OpenAIUpstreamOptions = {},
): Promise<void> {
  const upstream = await startOpenAIUpstream({ apiKey: API_KEY, ...upstreamOptions });
  const engine = await createEngine({
    'saas.api_key': API_KEY,
    'saas.base_url': upstream.url,
    'saas.max_retries': '0',
    ...params,
  });
  try {
    await body(engine, upstream);
  } finally {
    await engine.dispose();
    await upstream.close();
  }
}

export const ask = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content: text }],
  ...extra,
});

export function sentBody(upstream: OpenAIUpstream, position = -1): Record<string, unknown> {
  const request = upstream.requests.at(position);
  assert.ok(request, 'the upstream received a request');
  return request.body as Record<string, unknown>;
}
