/**
 * The OpenAI-compatible engine's pass-through stream reader: what it checks in the upstream's chunks
 * without a zod parse per chunk (`OpenAIPassThroughV1`'s contract).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByzerLLMError, type OpenAIChatObject } from '../../src/core/index.js';
import { passThroughChunks } from '../../src/engines/shared/openai-compatible/pass-through.js';

const context = { provider: 'saas/openai', secrets: ['sk-secret'] };

async function* batches(...lists: string[][]) {
  for (const list of lists) yield list.map((data) => ({ data, event: undefined, id: undefined }));
}

async function collect(iterable: AsyncIterable<OpenAIChatObject[]>): Promise<OpenAIChatObject[][]> {
  const seen: OpenAIChatObject[][] = [];
  for await (const batch of iterable) seen.push(batch);
  return seen;
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  JSON.stringify({ id: 'c1', choices: [{ index: 0, delta, finish_reason: finish }] });

describe('OpenAI pass-through stream', () => {
  test('keeps the batches, renames reasoning, sends nothing after [DONE]', async () => {
    const seen = await collect(
      passThroughChunks(
        batches(
          [chunk({ role: 'assistant' }), chunk({ reasoning: 'hmm' })],
          [chunk({ content: 'hi' }, 'stop'), '[DONE]', chunk({ content: 'late' })],
        ),
        context,
      ),
    );
    assert.deepEqual(
      seen.map((batch) => batch.length),
      [2, 1],
    );
    const delta = (seen[0]![1]!.choices as { delta: Record<string, unknown> }[])[0]!.delta;
    assert.deepEqual(delta, { reasoning_content: 'hmm' });
  });

  test('a finish reason without [DONE] is a complete answer; no end at all is a retryable error', async () => {
    assert.equal((await collect(passThroughChunks(batches([chunk({}, 'stop')]), context))).length, 1);
    await assert.rejects(collect(passThroughChunks(batches([chunk({ content: 'a' })]), context)), (error) => {
      assert.ok(error instanceof ByzerLLMError);
      assert.equal(error.code, 'upstream_error');
      assert.equal(error.isRetryable, true);
      return true;
    });
  });

  test('an error object in the stream is thrown as an upstream error, with secrets redacted', async () => {
    const failing = JSON.stringify({ error: { message: 'overloaded, key sk-secret', type: 'server_error' } });
    await assert.rejects(
      collect(passThroughChunks(batches([chunk({ content: 'a' }), failing]), context)),
      (error) => {
        assert.ok(error instanceof ByzerLLMError);
        assert.match(error.message, /mid-stream: overloaded/);
        assert.doesNotMatch(error.message, /sk-secret/);
        return true;
      },
    );
  });

  test('data that is not a JSON object is an upstream error naming the provider', async () => {
    for (const data of ['not json', '[1,2]']) {
      await assert.rejects(
        collect(passThroughChunks(batches([data]), context)),
        /saas\/openai sent a stream/,
      );
    }
  });
});
