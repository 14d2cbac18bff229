/**
 * `byzerllm serve` as a user runs it: the real CLI process asks the real head to open the gateway,
 * the openai SDK talks to it, and stopping the command closes the gateway.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { CLI_ENTRY, createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const GATEWAY_KEY = 'sk-gateway-secret-for-cli-test';

/** Resolves once the connection is refused: the gateway is gone. */
async function refused(url: string): Promise<boolean> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await fetch(url, { headers: { connection: 'close' } });
    } catch {
      return true;
    }
    // The head stops the gateway when it sees the attach request end; give its event loop a turn.
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

describe('byzerllm serve (real CLI and head processes)', () => {
  let upstream: OpenAIUpstream;
  let home: TestHome;
  let serve: ChildProcess | undefined;

  before(async () => {
    upstream = await startOpenAIUpstream();
    home = await createTestHome();
    const deployed = await home.run([
      'deploy',
      '--pretrained_model_type',
      'saas/openai',
      '--infer_params',
      `saas.api_key=${upstream.apiKey}`,
      'saas.model=m',
      `saas.base_url=${upstream.url}`,
      '--model',
      'gpt_chat',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    serve?.kill('SIGKILL');
    await home.cleanup();
    await upstream.close();
  });

  test('serves the deployments to the openai SDK until stopped', async () => {
    serve = spawn(process.execPath, [CLI_ENTRY, 'serve', '--port', '0'], {
      env: { ...home.env, BYZERLLM_API_KEY: GATEWAY_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = createInterface({ input: serve.stdout! });
    const iterator = lines[Symbol.asyncIterator]();
    const first = (await iterator.next()).value as string;
    assert.match(
      first,
      /^byzerllm serve: OpenAI-compatible API at http:\/\/127\.0\.0\.1:\d+\/v1 \(API key required\)/,
    );
    assert.ok(!first.includes(GATEWAY_KEY));
    const baseURL = /(http:\/\/\S+\/v1)/.exec(first)![1]!;

    const client = new OpenAI({ baseURL, apiKey: GATEWAY_KEY, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'through the head' }],
    });
    assert.equal(completion.choices[0]?.message.content, 'echo: through the head');
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    assert.deepEqual(models, ['gpt_chat']);
    await assert.rejects(
      new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 }).models.list(),
      OpenAI.AuthenticationError,
    );

    const exited = new Promise<number | null>((resolve) => serve!.once('exit', resolve));
    serve.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal((await iterator.next()).value, 'byzerllm serve: stopped');
    assert.equal(await refused(`${baseURL}/models`), true);
  });
});
