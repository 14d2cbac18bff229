/**
 * Reading and rewriting an OpenAI chunk's JSON text without parsing it (`core/openai-chunk-text.ts`):
 * what the pass-through relies on to leave most chunks unparsed, checked against what `JSON.parse`
 * reads from the same text.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonKeyPattern, setTopLevelString } from '../../src/core/index.js';

const relabel = (text: string) => setTopLevelString(text, 'model', JSON.stringify('my "deployment"'));

describe('OpenAI chunk text', () => {
  test('sets the top-level model, keeping every other field, in compact and spaced JSON', () => {
    for (const text of [
      '{"id":"c1","model":"gpt-4o","choices":[{"delta":{"content":"hi"}}]}',
      '{"id": "c1", "model" : "gpt-4o", "choices": [{"delta": {"content": "hi"}}]}',
      '{"id":"c1","model":"a \\"quoted\\\\\\" name","choices":[]}',
      '{"id":"c1","choices":[]}',
    ]) {
      const relabelled = relabel(text);
      assert.ok(relabelled !== undefined);
      assert.deepEqual(JSON.parse(relabelled), { ...JSON.parse(text), model: 'my "deployment"' });
    }
  });

  test('a model key nested deeper, or inside a string, is not the chunk model', () => {
    const nested = '{"meta":{"model":"inner"},"content":"\\"model\\":\\"x\\"","choices":[]}';
    const relabelled = relabel(nested);
    assert.ok(relabelled !== undefined);
    const parsed = JSON.parse(relabelled) as Record<string, unknown>;
    assert.equal(parsed.model, 'my "deployment"');
    assert.deepEqual(parsed.meta, { model: 'inner' });
    assert.equal(parsed.content, '"model":"x"');
    assert.deepEqual(JSON.parse(relabel('{}')!), { model: 'my "deployment"' });
  });

  test('what the walk cannot follow is left to the caller to parse', () => {
    assert.equal(relabel('[1]'), undefined);
    assert.equal(relabel('{"model":null}'), undefined);
    assert.equal(relabel('{"model":"unterminated}'), undefined);
  });

  test('key patterns find keys, not text that reads like one, and tell set values from null', () => {
    const anyError = jsonKeyPattern(['error', 'reasoning'], false);
    const usage = jsonKeyPattern(['usage'], true);
    const finish = jsonKeyPattern(['finish_reason'], true);
    const text = '{"usage":null,"choices":[{"delta":{"content":"\\"error\\": yes"},"finish_reason":null}]}';
    assert.deepEqual(JSON.parse(text).choices[0].delta.content, '"error": yes');
    assert.equal(anyError.test(text), false);
    assert.equal(usage.test(text), false);
    assert.equal(finish.test(text), false);
    assert.equal(finish.test('{"choices":[{"finish_reason": "stop"}]}'), true);
    assert.equal(finish.test('{"choices":[{"finish_reason": ""}]}'), false);
    assert.equal(usage.test('{"usage" : {"prompt_tokens":1}}'), true);
    assert.equal(anyError.test('{"error": null}'), true);
    assert.equal(anyError.test('{"reasoning":"x"}'), true);
    // A string value equal to the name, followed by a comma, is not a key.
    assert.equal(anyError.test('{"content":"error","x":1}'), false);
  });
});
