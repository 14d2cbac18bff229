/**
 * Routes by name for every caller of the cluster (`createRoutedCluster`): the TS client's chat,
 * stream and embeddings through a fallback route whose first deployment is dead reach the live
 * one; names that are not routes go straight to their deployment. Real in-process head, real
 * `saas/openai` engines, the loopback OpenAI stand-in; the dead deployment points at a closed port.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ByzerLLM } from '../../src/client/index.js';
import {
  createInProcessTransport,
  createRoutedCluster,
  DeploymentStore,
  Governance,
  Head,
} from '../../src/cluster/index.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

let directory: string;
let head: Head;
let upstream: OpenAIUpstream;
let governance: Governance;
let llm: ByzerLLM;

before(async () => {
  upstream = await startOpenAIUpstream();
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-routed-'));
  head = new Head({
    store: new DeploymentStore(directory),
    transport: createInProcessTransport(),
    resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
  });
  const params = { 'saas.api_key': upstream.apiKey, 'saas.model': 'echo-model', 'saas.max_retries': '0' };
  await head.deploy({
    name: 'dead',
    pretrainedModelType: 'saas/openai',
    inferParams: { ...params, 'saas.base_url': 'http://127.0.0.1:9/v1' },
  });
  await head.deploy({
    name: 'alive',
    pretrainedModelType: 'saas/openai',
    inferParams: { ...params, 'saas.base_url': upstream.url },
  });
  governance = new Governance();
  await governance.set('chat_main', {
    strategy: 'fallback',
    targets: [{ deployment: 'dead' }, { deployment: 'alive' }],
  });
  llm = new ByzerLLM({ cluster: createRoutedCluster(head, governance) });
});

after(async () => {
  await head?.close();
  await upstream?.close();
  await fs.rm(directory, { recursive: true, force: true });
});

test('the client chats and streams through a fallback route by its name; the dead target is tried first', async () => {
  const [answer] = await llm.chat('chat_main', 'hello route');
  assert.equal(answer!.output, 'echo: hello route');
  const view = governance.stat().targets.find((target) => target.deployment === 'dead');
  assert.ok(view && view.failures >= 1, 'the dead deployment was tried and failed');
  const routed = createRoutedCluster(head, governance);
  const parts = await routed.stream('chat_main', { messages: [{ role: 'user', content: 'streamed' }] });
  let text = '';
  for await (const part of parts) if (part.type === 'text-delta') text += part.delta;
  assert.equal(text, 'echo: streamed');
});

test('a name that is not a route reaches its deployment directly, errors included', async () => {
  const [answer] = await llm.chat('alive', 'direct');
  assert.equal(answer!.output, 'echo: direct');
  await assert.rejects(llm.chat('dead', 'direct'), (error: Error) => error.name !== 'NotFoundError');
  await assert.rejects(llm.chat('missing', 'x'), { name: 'NotFoundError' });
});
