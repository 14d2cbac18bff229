/**
 * The OpenAI pass-through (issue 11): which deployments take it, and that what reaches the upstream
 * and what comes back keep the general path's meaning.
 *
 * The upstream stand-in puts `system_fingerprint: fp_byzerllm_test` in its answers. The general path
 * builds its own answer from a `ChatResult` and has no such field, so its presence shows which path
 * served a request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'undici';
import { type Gateway, lastChatBody, startGateway } from './gateway-fixture.js';

interface Answer {
  status: number;
  text: string;
}

describe('gateway OpenAI pass-through', () => {
  let gateway: Gateway;
  let pool: Pool;

  const chat = async (body: Record<string, unknown>): Promise<Answer> => {
    const response = await pool.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.statusCode, text: await response.body.text() };
  };
  const events = (text: string) =>
    text
      .split('\n\n')
      .filter(Boolean)
      .map((event) => event.replace(/^data: /, ''));

  before(async () => {
    gateway = await startGateway({
      deployments: [
        {
          name: 'with_defaults',
          pretrainedModelType: 'saas/openai',
          generationDefaults: { temperature: '0.2' },
        },
        { name: 'reasoner', pretrainedModelType: 'saas/reasoning_openai' },
        { name: 'speaker', pretrainedModelType: 'saas/openai', inferParams: { 'saas.model': 'tts-1' } },
      ],
    });
    pool = new Pool(gateway.origin, { connections: 4 });
  });
  after(async () => {
    await pool.close();
    await gateway.close();
  });

  test('the head offers it only for in-process OpenAI chat deployments without generation defaults', () => {
    assert.ok(gateway.head.openAIPassThrough('gpt_chat'));
    assert.ok(gateway.head.openAIPassThrough('reasoner'));
    assert.equal(gateway.head.openAIPassThrough('with_defaults'), undefined);
    // A tts-1 deployment reads chat messages as JSON task messages: task dispatch needs the general path.
    assert.equal(gateway.head.openAIPassThrough('speaker'), undefined);
    assert.equal(gateway.head.openAIPassThrough('nothing_here'), undefined);
  });

  test('a plain answer is the upstream JSON with the deployment as model', async () => {
    const answer = await chat({ model: 'gpt_chat', messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(answer.status, 200);
    const completion = JSON.parse(answer.text) as Record<string, unknown>;
    assert.equal(completion.system_fingerprint, 'fp_byzerllm_test');
    assert.equal(completion.model, 'gpt_chat');
    assert.match(String(completion.id), /^chatcmpl-test-/);
    const choices = completion.choices as { message: { content: string } }[];
    assert.equal(choices[0]?.message.content, 'echo: hello');
    assert.equal(lastChatBody(gateway.upstream).model, 'm');
  });

  test('a stream is the upstream chunks with the deployment as model, then [DONE]', async () => {
    const answer = await chat({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(answer.status, 200);
    const data = events(answer.text);
    assert.equal(data.at(-1), '[DONE]');
    const chunks = data.slice(0, -1).map((event) => JSON.parse(event) as Record<string, unknown>);
    assert.ok(
      chunks.every((chunk) => chunk.model === 'gpt_chat' && chunk.system_fingerprint === 'fp_byzerllm_test'),
    );
    const text = chunks
      .map((chunk) => (chunk.choices as { delta?: { content?: string } }[])[0]?.delta?.content ?? '')
      .join('');
    assert.equal(text, 'echo: one two three');
    assert.equal((chunks.at(-1)?.usage as { completion_tokens?: number } | undefined)?.completion_tokens, 4);
  });

  test('the body is normalised as the general path would send it', async () => {
    const answer = await chat({
      model: 'gpt_chat',
      messages: [
        {
          role: 'developer',
          content: [
            { type: 'text', text: 'be ' },
            { type: 'text', text: 'brief' },
          ],
        },
        { role: 'user', content: [{ type: 'image_url', image_url: 'https://example.com/cat.png' }] },
        {
          role: 'assistant',
          content: '',
          reasoning_content: 'earlier thoughts',
          tool_calls: [{ id: 'call_1', function: { name: 'look', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
        { role: 'user', content: 'so?' },
      ],
      stop: 'END',
      top_k: 5,
      n: 1,
      temperature: null,
      user: 'someone',
      tools: [{ type: 'function', function: { name: 'look' } }],
      extra_body: { repetition_penalty: 1.1 },
    });
    assert.equal(answer.status, 200);
    const sent = lastChatBody(gateway.upstream);
    const messages = sent.messages as Record<string, unknown>[];
    assert.deepEqual(messages[0], { role: 'system', content: 'be brief' });
    assert.deepEqual(messages[1]?.content, [
      { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
    ]);
    assert.equal(messages[2]?.content, null);
    assert.equal(messages[2]?.reasoning_content, undefined);
    assert.equal((messages[2]?.tool_calls as { type: string }[] | undefined)?.[0]?.type, 'function');
    assert.deepEqual(sent.stop, ['END']);
    for (const dropped of ['top_k', 'n', 'temperature', 'extra_body', 'stream', 'stream_options']) {
      assert.equal(dropped in sent, false, dropped);
    }
    assert.equal(sent.user, 'someone');
    assert.equal(sent.repetition_penalty, 1.1);
    assert.deepEqual((sent.tools as { function: { parameters: unknown } }[])[0]?.function.parameters, {
      type: 'object',
      properties: {},
    });
  });

  test('an empty tools or stop list is not sent, as on the general path', async () => {
    const answer = await chat({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [],
      stop: [],
    });
    assert.equal(answer.status, 200);
    const sent = lastChatBody(gateway.upstream);
    assert.equal('tools' in sent, false);
    assert.equal('stop' in sent, false);
  });

  test('what the general path rejects is rejected: a prefix before the last message, a bad image URL', async () => {
    const prefix = await chat({
      model: 'gpt_chat',
      messages: [
        { role: 'assistant', content: 'So', prefix: true },
        { role: 'user', content: 'go on' },
      ],
    });
    assert.equal(prefix.status, 400);
    assert.match(prefix.text, /messages\[0\]\.prefix/);
    const image = await chat({
      model: 'gpt_chat',
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] },
      ],
    });
    assert.equal(image.status, 400);
    assert.match(image.text, /image_url\.url/);
  });

  test('reasoning models lose their sampling fields on the pass-through too', async () => {
    const answer = await chat({
      model: 'reasoner',
      messages: [{ role: 'user', content: 'think' }],
      temperature: 0.5,
      top_p: 0.9,
      max_completion_tokens: 50,
    });
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.text) as Record<string, unknown>).system_fingerprint, 'fp_byzerllm_test');
    const sent = lastChatBody(gateway.upstream);
    assert.equal('temperature' in sent, false);
    assert.equal('top_p' in sent, false);
    assert.equal(sent.max_completion_tokens, 50);
  });

  test('a deployment with generation defaults takes the general path and gets them', async () => {
    const answer = await chat({ model: 'with_defaults', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.text) as Record<string, unknown>).system_fingerprint, undefined);
    assert.equal(lastChatBody(gateway.upstream).temperature, 0.2);
  });

  test('n > 1 takes the general path: one upstream call per choice', async () => {
    const before = gateway.upstream.requests.length;
    const answer = await chat({ model: 'gpt_chat', messages: [{ role: 'user', content: 'twice' }], n: 2 });
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.text) as { choices: unknown[] }).choices.length, 2);
    assert.equal(gateway.upstream.requests.length - before, 2);
  });

  test('a stream the upstream cuts ends with an SSE error event, and the slot is given back', async () => {
    const answer = await chat({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'cut: a b c' }],
      stream: true,
    });
    assert.equal(answer.status, 200);
    const last = JSON.parse(events(answer.text).at(-1)!) as { error?: { type: string } };
    assert.equal(last.error?.type, 'upstream_error');
    assert.equal((await gateway.head.stat('gpt_chat')).busy_workers, 0);
  });
});
