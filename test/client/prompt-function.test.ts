/** Prompt functions against a deployment: rendering, chaining without shared state, options, streams. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { prompt, PromptOutputError } from '../../src/client/index.js';
import { InvalidArgumentError } from '../../src/core/index.js';
import { type ClientFixture, lastChatBody, startClientFixture } from './client-fixture.js';

describe('prompt functions', () => {
  let fixture: ClientFixture;
  before(async () => {
    fixture = await startClientFixture();
  });
  after(() => fixture.close());

  test('templates are dedented and rendered with nunjucks, no HTML escaping', () => {
    const greet = prompt<{ name: string; items: string[] }>(`
      Hello {{ name }} <b>!
      {% for item in items %}- {{ item }}
      {% endfor %}
    `);
    assert.equal(greet.prompt({ name: 'A&B', items: ['x', 'y'] }), 'Hello A&B <b>!\n- x\n- y\n');
  });

  test('configuration returns a new function; the original is unchanged', async () => {
    const base = prompt<{ q: string }>('Q: {{ q }}');
    const withLlm = base.withLlm(fixture.llm);
    await assert.rejects(base.run({ q: 'x' }), InvalidArgumentError);
    assert.equal(await withLlm.run({ q: 'x' }), 'echo: Q: x');
    const shouting = withLlm.withExtractor((text) => text.toUpperCase());
    assert.equal(await shouting.run({ q: 'x' }), 'ECHO: Q: X');
    assert.equal(await withLlm.run({ q: 'x' }), 'echo: Q: x');
  });

  test('a body that returns something other than an object is refused', () => {
    const bad = prompt<{ q: string }>('{{ q }}', {
      body: () => 'oops' as unknown as Record<string, unknown>,
    });
    assert.throws(() => bad.prompt({ q: 'x' }), InvalidArgumentError);
  });

  test('options, stop suffixes and a leading conversation reach the model', async () => {
    await prompt('Say hi')
      .withLlm(fixture.llm)
      .options({ llm_config: { max_length: 7 }, model: 'chat' })
      .withStopSuffixList(['\n'])
      .withConversation([{ role: 'system', content: 'Be brief.' }])
      .run();
    const body = lastChatBody(fixture.upstream);
    assert.equal(body.max_tokens, 7);
    assert.deepEqual(body.stop, ['\n']);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say hi' },
    ]);
  });

  test('an answer that does not fit the return type throws PromptOutputError', async () => {
    const typed = prompt('plain words')
      .withLlm(fixture.llm)
      .withExtractor((text) => text)
      .withReturnType(z.object({ a: z.number() }));
    await assert.rejects(typed.run(), PromptOutputError);
  });

  test('stream yields deltas; with markers it continues until the end marker', async () => {
    fixture.upstream.reset();
    let text = '';
    for await (const delta of prompt('tell a story').withLlm(fixture.llm).withResponseMarkers().stream())
      text += delta;
    assert.equal(text, '<RESPONSE>Once upon a time, a fox found a shining gem.</RESPONSE> (the end)');
    assert.equal(fixture.upstream.requests.length, 2);
  });

  test('markers stop after maxTurns when the end never comes', async () => {
    fixture.upstream.reset();
    const result = await prompt('never ends')
      .withLlm(fixture.llm)
      .withResponseMarkers(['<A>', '</A>'], 'Begin with {{ RESPONSE_START }}.')
      .withMaxTurns(3)
      .withContinuePrompt('more')
      .run();
    assert.equal(fixture.upstream.requests.length, 3);
    // Without an end marker everything after the start marker is kept.
    assert.equal(result, '.echo: moreecho: more');
  });
});
