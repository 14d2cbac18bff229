/**
 * The OpenAI-compatible engine's pass-through stream reader: what it checks in the upstream's chunks
 * without a zod parse per chunk (`OpenAIPassThroughV1`'s contract).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByzerLLMError, type OpenAIChunkText } from '../../src/core/index.js';
import { passThroughChunks } from '../../src/engines/shared/openai-compatible/pass-through.js';

const context = { provider: 'saas/openai', secrets: ['sk-secret'] };

async function* batches(...lists: string[][]) {
  for (const list of lists) yield list.map((data) => ({ data, event: undefined, id: undefined }));
}

async function collect(iterable: AsyncIterable<OpenAIChunkText[]>): Promise<OpenAIChunkText[][]> {
  const seen: OpenAIChunkText[][] = [];
  for await (const batch of iterable) seen.push(batch);
  return seen;
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  JSON.stringify({ id: 'c1', choices: [{ index: 0, delta, finish_reason: finish }] });

describe('OpenAI pass-through stream', () => {
  test('keeps the batches and texts, renames reasoning, sends nothing after [DONE]', async () => {
    // Spacing as Python's json.dumps writes it: a chunk that needs no change goes on as it came.
    const spaced = '{"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}';
    const seen = await collect(
      passThroughChunks(
        batches(
          [spaced, chunk({ reasoning: 'hmm' })],
          [chunk({ content: 'hi' }, 'stop'), '[DONE]', chunk({ content: 'late' })],
        ),
        context,
      ),
    );
    assert.deepEqual(
      seen.map((batch) => batch.length),
      [2, 1],
    );
    assert.equal(seen[0]![0], spaced);
    const renamed = JSON.parse(seen[0]![1]!) as { choices: { delta: Record<string, unknown> }[] };
    assert.deepEqual(renamed.choices[0]!.delta, { reasoning_content: 'hmm' });
    assert.equal(seen[1]![0], chunk({ content: 'hi' }, 'stop'));
  });

  test('a finish reason without [DONE] is a complete answer; no end at all is a retryable error', async () => {
    assert.equal((await collect(passThroughChunks(batches([chunk({}, 'stop')]), context))).length, 1);
    // A content that reads like a finish reason is text, not the key.
    const lookalike = chunk({ content: '"finish_reason": "stop"' });
    await assert.rejects(collect(passThroughChunks(batches([lookalike]), context)), (error) => {
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
