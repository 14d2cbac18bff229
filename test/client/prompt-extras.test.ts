/**
 * The prompt-function helpers of Byzer-LLM that ported code uses (byzer-spec §4.3, §4.7):
 * `withReturnPrefix`, `withMeta(MetaHolder)`, `checkResult` and `promptLazy`, against a deployment.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { MetaHolder, prompt, PromptOutputError, promptLazy } from '../../src/client/index.js';
import { type ClientFixture, lastChatBody, startClientFixture } from './client-fixture.js';

let fixture: ClientFixture;

before(async () => {
  fixture = await startClientFixture();
});

after(async () => {
  await fixture?.close();
});

test('withReturnPrefix sends an assistant prefix to continue and the answer starts with it', async () => {
  const answer = await prompt<{ q: string }>('Answer: {{ q }}')
    .withLlm(fixture.llm)
    .withReturnPrefix('Sure! ')
    .run({ q: 'hi' });
  const messages = lastChatBody(fixture.upstream).messages as {
    role: string;
    content: string;
    prefix?: boolean;
  }[];
  assert.deepEqual(messages.at(-1), { role: 'assistant', content: 'Sure! ', prefix: true });
  assert.equal(answer, 'Sure! echo: Answer: hi');
});

test('withMeta(MetaHolder) holds the meta of the last call, streamed or not', async () => {
  const holder = new MetaHolder();
  assert.deepEqual(holder.getMeta(), {});
  const hello = prompt<{ q: string }>('你好, {{ q }}').withLlm(fixture.llm).withMeta(holder);
  await hello.run({ q: '你是谁' });
  assert.ok(holder.meta!.generated_tokens_count > 0);
  assert.equal(holder.getMetaModel().finish_reason, 'stop');
  const deltas: string[] = [];
  for await (const delta of hello.stream({ q: 'stream please' })) deltas.push(delta);
  assert.equal(deltas.join(''), 'echo: 你好, stream please');
  assert.equal(holder.getMeta().finish_reason, 'stop', 'the last streamed item carries the finish');
});

test('checkResult: a typed result that does not validate warns and gives undefined; without it, it throws', async () => {
  const Never = z.object({ title: z.string().refine((title) => title === 'never produced') });
  const strict = prompt('a story').withLlm(fixture.llm).withReturnType(Never);
  await assert.rejects(strict.run(), PromptOutputError);
  const lenient = prompt('a story', { checkResult: true }).withLlm(fixture.llm).withReturnType(Never);
  const warned = once(process, 'warning');
  assert.equal(await lenient.run(), undefined);
  const [warning] = (await warned) as [Error & { code?: string }];
  assert.equal(warning.code, 'BYZERLLM_CHECK_RESULT');
});

test('promptLazy: each call is configured on its own, then rendered or run', async () => {
  const hello = promptLazy<{ q: string }>('你好, {{ q }}');
  const call = hello({ q: '你是谁' });
  assert.equal(call.prompt(), '你好, 你是谁');
  const answer = await call
    .withLlm(fixture.llm)
    .options({ llm_config: { max_length: 17 } })
    .run();
  assert.equal(answer, 'echo: 你好, 你是谁');
  assert.equal(lastChatBody(fixture.upstream).max_tokens, 17);
  await assert.rejects(hello({ q: 'x' }).run(), { name: 'InvalidArgumentError' });
});
