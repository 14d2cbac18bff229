/**
 * The Responses and Messages APIs and streamed `n > 1` through `byzerllm serve` as a user runs it
 * (real CLI, real head), over a local llama_cpp deployment of the generated tiny GGUF in a worker
 * process: an engine that speaks no OpenAI at all, so every answer went through the normal chat
 * path. Stored responses land under `$BYZERLLM_HOME/responses`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { CLI_ENTRY, createTestHome, type TestHome } from '../support/cli.js';
import { deployTinyLlama } from '../support/tiny-llama-deployment.js';

describe('byzerllm serve: Responses, Messages and n > 1 streams over llama_cpp', () => {
  let home: TestHome;
  let serve: ChildProcess | undefined;
  let origin: string;

  before(async () => {
    home = await createTestHome();
    await deployTinyLlama(home, { name: 'tiny', workerConcurrency: 2, inferParams: 'max_tokens=16' });
    serve = spawn(process.execPath, [CLI_ENTRY, 'serve', '--port', '0'], {
      env: home.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const first = (await createInterface({ input: serve.stdout! })[Symbol.asyncIterator]().next())
      .value as string;
    origin = /(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(first)![1]!;
  });

  after(async () => {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((resolve) => serve!.once('exit', resolve));
      serve.kill('SIGTERM');
      await exited;
    }
    await home?.cleanup();
  });

  test('responses: create, stream, continue a stored one', async () => {
    const client = new OpenAI({ baseURL: `${origin}/v1`, apiKey: 'unused', maxRetries: 0 });
    const first = await client.responses.create({ model: 'tiny', input: 'hello' });
    assert.equal(first.status === 'completed' || first.status === 'incomplete', true);
    assert.match(first.output_text, /\S/);
    const stored = await fs.stat(path.join(home.home, 'responses', `${first.id}.json`));
    assert.equal(stored.mode & 0o777, 0o600);

    const streamed = await client.responses.stream({ model: 'tiny', input: 'hello' }).finalResponse();
    // Greedy decoding of the same prompt: the stream's text is the non-stream answer.
    assert.equal(streamed.output_text, first.output_text);

    const next = await client.responses.create({
      model: 'tiny',
      input: 'more',
      previous_response_id: first.id,
    });
    assert.equal(next.previous_response_id, first.id);
    assert.match(next.output_text, /\S/);
  });

  test('messages: create and stream with the Anthropic SDK', async () => {
    const client = new Anthropic({ baseURL: origin, apiKey: 'unused', maxRetries: 0 });
    const message = await client.messages.create({
      model: 'tiny',
      max_tokens: 12,
      messages: [{ role: 'user', content: 'hello' }],
    });
    const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    assert.match(text, /\S/);
    assert.ok(message.usage.output_tokens > 0);
    const final = await client.messages
      .stream({ model: 'tiny', max_tokens: 12, messages: [{ role: 'user', content: 'hello' }] })
      .finalMessage();
    assert.equal(final.content.map((block) => (block.type === 'text' ? block.text : '')).join(''), text);
  });

  test('chat completions: n = 2 streamed from a local engine', async () => {
    const client = new OpenAI({ baseURL: `${origin}/v1`, apiKey: 'unused', maxRetries: 0 });
    const final = await client.chat.completions
      .stream({ model: 'tiny', messages: [{ role: 'user', content: 'hello' }], n: 2, max_tokens: 8 })
      .finalChatCompletion();
    assert.equal(final.choices.length, 2);
    assert.deepEqual(
      final.choices.map((choice) => choice.index),
      [0, 1],
    );
    for (const choice of final.choices) {
      assert.ok(choice.finish_reason === 'stop' || choice.finish_reason === 'length');
      assert.match(choice.message.content ?? '', /\S/);
    }
  });
});
