/**
 * `new ByzerLLM()` with the default address `auto`: the client starts the local head of
 * $BYZERLLM_HOME when none runs and shares it with every other connection to that home (the CLI's too); `prompt(…, { llm: 'name' })` reaches a
 * deployment by name the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ByzerLLM, closePromptClients, prompt } from '../../src/client/index.js';
import { connectCluster } from '../../src/cluster/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

describe('ByzerLLM on the local head (address auto)', () => {
  let home: TestHome;
  let upstream: OpenAIUpstream;
  let llm: ByzerLLM;
  before(async () => {
    home = await createTestHome();
    upstream = await startOpenAIUpstream();
    // This test file runs in its own process: the environment is its own too.
    process.env.BYZERLLM_HOME = home.home;
    llm = new ByzerLLM();
  });
  after(async () => {
    await llm.close();
    await closePromptClients();
    await home.cleanup();
    await upstream.close();
  });

  test('deploys through an auto-started head that the CLI sees, then chats', async () => {
    const outcome = await llm.deploy({
      udfName: 'local_chat',
      pretrainedModelType: 'saas/openai',
      inferParams: { 'saas.api_key': upstream.apiKey, 'saas.base_url': upstream.url },
    });
    assert.equal(outcome.status, 'deployed');
    // Another connection to the same home finds the same head (what the CLI does too).
    const other = await connectCluster({ stateDirectory: home.home, autoStart: false });
    try {
      assert.deepEqual(
        (await other.list()).map((deployment) => deployment.name),
        ['local_chat'],
      );
    } finally {
      await other.close();
    }
    const [response] = await llm.chatOai({ model: 'local_chat', conversations: 'hello head' });
    assert.equal(response!.output, 'echo: hello head');
  });

  test('a prompt function reaches the deployment by name', async () => {
    const hello = prompt<{ q: string }>('hi {{ q }}', { llm: 'local_chat' });
    assert.equal(await hello.run({ q: 'there' }), 'echo: hi there');
  });
});
