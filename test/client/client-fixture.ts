/**
 * A real deployment for client tests: the local OpenAI stand-in answering with the scripted model,
 * an in-process `Head` (in-process worker transport, state in a temp folder) and a `ByzerLLM`
 * with a `saas/openai` deployment named `chat` as its default model.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInProcessTransport, DeploymentStore, Head } from '../../src/cluster/index.js';
import { ByzerLLM } from '../../src/client/index.js';
import {
  type OpenAIUpstream,
  type OpenAIUpstreamOptions,
  startOpenAIUpstream,
} from '../support/openai-upstream.js';
import { scriptedReply, scriptedToolCall } from './scripted-model.js';

export interface ClientFixture {
  llm: ByzerLLM;
  head: Head;
  upstream: OpenAIUpstream;
  /** `inferParams` of a `saas/openai` deployment on the stand-in. */
  inferParams: Record<string, string>;
  close(): Promise<void>;
}

export async function startClientFixture(
  upstreamOptions: OpenAIUpstreamOptions = {},
): Promise<ClientFixture> {
  const upstream = await startOpenAIUpstream({
    reply: scriptedReply,
    replyToolCall: scriptedToolCall,
    ...upstreamOptions,
  });
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-client-'));
  const head = new Head({
    store: new DeploymentStore(directory),
    transport: createInProcessTransport(),
    resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
  });
  const inferParams = {
    'saas.api_key': upstream.apiKey,
    'saas.base_url': upstream.url,
    'saas.model': 'scripted-model',
    'saas.max_retries': '0',
  };
  const llm = new ByzerLLM({ cluster: head });
  await llm
    .setupWorkerConcurrency(4)
    .deploy({ udfName: 'chat', pretrainedModelType: 'saas/openai', inferParams });
  llm.setupDefaultModelName('chat');
  return {
    llm,
    head,
    upstream,
    inferParams,
    close: async () => {
      await llm.close();
      await head.close();
      await upstream.close();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}

/** The JSON body of the upstream's last chat request. */
export function lastChatBody(upstream: OpenAIUpstream): Record<string, unknown> {
  const request = upstream.requests.filter((recorded) => recorded.path === '/v1/chat/completions').at(-1);
  if (!request) throw new Error('the upstream received no chat request');
  return request.body as Record<string, unknown>;
}
