/**
 * Settings kept with a deployment (`byzerllm deploy --template … --default_params …`) reach every
 * client: its template's generation config and its generation defaults, unless the client chooses.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ByzerLLM, Templates } from '../../src/client/index.js';
import { type ClientFixture, lastChatBody, startClientFixture } from './client-fixture.js';

let fixture: ClientFixture;

before(async () => {
  fixture = await startClientFixture();
  await fixture.head.deploy({
    name: 'qwen_styled',
    pretrainedModelType: 'saas/openai',
    inferParams: fixture.inferParams,
    template: 'qwen',
    generationDefaults: { temperature: '0.3' },
  });
});

after(async () => {
  await fixture?.close();
});

test("a client without its own template uses the deployment's, and its generation defaults", async () => {
  const llm = new ByzerLLM({ cluster: fixture.head });
  await llm.chatOai({ conversations: 'hi', model: 'qwen_styled' });
  const body = lastChatBody(fixture.upstream);
  assert.equal(body.repetition_penalty, 1.1, "Templates.qwen()'s generation config");
  assert.deepEqual(body.stop_token_ids, [151643, 151645]);
  assert.equal(body.temperature, 0.3, 'the deployment default');
});

test("a client's own template and parameters win over the deployment's", async () => {
  const llm = new ByzerLLM({ cluster: fixture.head });
  llm.setupTemplate('qwen_styled', Templates.empty());
  await llm.chatOai({ conversations: 'hi', model: 'qwen_styled', llmConfig: { temperature: 0.8 } });
  const body = lastChatBody(fixture.upstream);
  assert.equal(body.repetition_penalty, undefined);
  assert.equal(body.temperature, 0.8);
});

test('a generation default that cannot be used fails the deploy, naming it; nothing is deployed', async () => {
  await assert.rejects(
    fixture.head.deploy({
      name: 'hot_defaults',
      pretrainedModelType: 'saas/openai',
      inferParams: fixture.inferParams,
      generationDefaults: { temperature: 'hot' },
    }),
    { name: 'InvalidArgumentError', message: /default_params temperature must be a number, got "hot"/ },
  );
  assert.equal(
    (await fixture.head.list()).some((deployment) => deployment.name === 'hot_defaults'),
    false,
  );
});
