/**
 * Every JSON answer and every stream chunk of the gateway's OpenAI endpoints, validated with Ajv
 * against the schemas of OpenAI's published OpenAPI document (the subset in
 * `test/fixtures/openai-openapi-subset.yaml`, whose header lists the spec's known artefacts): chat
 * completions (pass-through and translated, stream and not, tools, reasoning, n > 1), completions,
 * embeddings, models, responses (objects, every typed event, retrieve, delete) and error bodies,
 * including errors sent inside a stream.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import YAML from 'yaml';
import { type Gateway, startGateway } from './gateway-fixture.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/openai-openapi-subset.yaml', import.meta.url));

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'openai', ...YAML.parse(fs.readFileSync(FIXTURE, 'utf8')) });

function schema(name: string): ValidateFunction {
  const validate = ajv.getSchema(`openai#/components/schemas/${name}`);
  assert.ok(validate, `the fixture has no schema ${name}`);
  return validate;
}

function assertValid(name: string, value: unknown, what: string): void {
  const validate = schema(name);
  const valid = validate(value);
  assert.ok(
    valid,
    `${what} does not match ${name}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`,
  );
}

interface Answer {
  status: number;
  json?: unknown;
  /** `data:` payloads of an SSE answer, `[DONE]` left out, with the `event:` name when there was one. */
  events?: { event: string | undefined; data: unknown }[];
}

describe('gateway answers match the OpenAI OpenAPI schemas', () => {
  let gateway: Gateway;

  before(async () => {
    gateway = await startGateway({ server: { apiKey: 'gateway-key' } });
  });
  after(() => gateway.close());

  async function send(method: string, path: string, body?: unknown, key = 'gateway-key'): Promise<Answer> {
    const response = await fetch(`${gateway.origin}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
      return { status: response.status, json: JSON.parse(text) };
    }
    const events = text
      .split('\n\n')
      .filter((block) => block.trim() !== '')
      .map((block) => {
        const lines = block.split('\n');
        const event = lines.find((line) => line.startsWith('event: '))?.slice(7);
        const data = lines.find((line) => line.startsWith('data: '))?.slice(6) ?? '';
        return { event, data };
      })
      .filter((entry) => entry.data !== '[DONE]')
      .map((entry) => ({ event: entry.event, data: JSON.parse(entry.data) as unknown }));
    return { status: response.status, events };
  }

  /** Validates each chunk: error chunks as `ErrorResponse`, the rest as `name`. */
  function assertChunks(name: string, answer: Answer, what: string): number {
    assert.equal(answer.status, 200, what);
    assert.ok(answer.events && answer.events.length > 0, `${what} streamed nothing`);
    for (const [index, { data }] of answer.events.entries()) {
      const isError = typeof data === 'object' && data !== null && 'error' in data && !('object' in data);
      assertValid(isError ? 'ErrorResponse' : name, data, `${what} chunk ${index}`);
    }
    return answer.events.length;
  }

  const chat = (content: string, extra: Record<string, unknown> = {}) => ({
    model: 'gpt_chat',
    messages: [{ role: 'user', content }],
    ...extra,
  });
  const tools = [
    {
      type: 'function',
      function: { name: 'lookup', parameters: { type: 'object', properties: { text: { type: 'string' } } } },
    },
  ];

  test('the fixture rejects what the spec rejects (the check can fail)', () => {
    const message = { role: 'assistant', content: 'hi' };
    const completion = {
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop' }],
    };
    assert.equal(schema('CreateChatCompletionResponse')(completion), false, 'refusal is required');
    Object.assign(message, { refusal: null });
    assert.equal(schema('CreateChatCompletionResponse')(completion), true);
    const delta = {
      type: 'response.output_text.delta',
      item_id: 'm',
      output_index: 0,
      content_index: 0,
      delta: 'x',
    };
    assert.equal(
      schema('ResponseStreamEvent')({ ...delta, logprobs: [] }),
      false,
      'sequence_number is required',
    );
    assert.equal(schema('ResponseStreamEvent')({ ...delta, logprobs: [], sequence_number: 3 }), true);
  });

  test('models', async () => {
    assertValid('ListModelsResponse', (await send('GET', '/v1/models')).json, 'GET /v1/models');
    assertValid('Model', (await send('GET', '/v1/models/gpt_chat')).json, 'GET /v1/models/gpt_chat');
  });

  test('chat completions, pass-through and translated (n = 2), with tools and reasoning', async () => {
    for (const [what, body] of [
      ['plain', chat('hello')],
      ['n=2', chat('hello', { n: 2 })],
      ['tools', chat('tool:lookup x', { tools })],
      ['tools n=2', chat('tool:lookup x', { tools, n: 2 })],
      ['reasoning n=2', chat('reason: hi', { n: 2 })],
    ] as const) {
      const answer = await send('POST', '/v1/chat/completions', body);
      assert.equal(answer.status, 200, what);
      assertValid('CreateChatCompletionResponse', answer.json, `chat ${what}`);
    }
  });

  test('chat completion chunks, pass-through and translated, usage and tool calls included', async () => {
    const usage = { stream: true, stream_options: { include_usage: true } };
    let chunks = 0;
    chunks += assertChunks(
      'CreateChatCompletionStreamResponse',
      await send('POST', '/v1/chat/completions', chat('hi', usage)),
      'stream',
    );
    for (const [what, body] of [
      ['stream n=2', chat('reason: hi', { ...usage, n: 2 })],
      ['stream tools', chat('tool:lookup x', { ...usage, tools })],
      ['stream tools n=2', chat('tool:lookup x', { ...usage, tools, n: 2 })],
      ['stream cut', chat('cut: hello there', { stream: true })],
    ] as const) {
      chunks += assertChunks(
        'CreateChatCompletionStreamResponse',
        await send('POST', '/v1/chat/completions', body),
        what,
      );
    }
    assert.ok(chunks > 15, `validated ${chunks} chunks`);
  });

  test('completions and their chunks', async () => {
    const body = { model: 'gpt_chat', prompt: 'complete me', max_tokens: 20 };
    const answer = await send('POST', '/v1/completions', body);
    assert.equal(answer.status, 200);
    assertValid('CreateCompletionResponse', answer.json, 'completion');
    const streamed = await send('POST', '/v1/completions', {
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    assertChunks('CreateCompletionResponse', streamed, 'completion stream');
  });

  test('embeddings, float and base64', async () => {
    for (const encoding of ['float', 'base64']) {
      const answer = await send('POST', '/v1/embeddings', {
        model: 'gpt_chat',
        input: ['a', 'b'],
        encoding_format: encoding,
      });
      assert.equal(answer.status, 200, encoding);
      assertValid('CreateEmbeddingResponse', answer.json, `embeddings ${encoding}`);
    }
  });

  test('responses: objects, every typed event, retrieve and delete', async () => {
    const created: string[] = [];
    for (const [what, body] of [
      ['plain', { model: 'gpt_chat', input: 'hello', instructions: 'be brief' }],
      [
        'tools',
        {
          model: 'gpt_chat',
          input: 'tool:lookup x',
          tools: [{ type: 'function', name: 'lookup', parameters: {} }],
        },
      ],
      ['reasoning', { model: 'gpt_chat', input: 'reason: hi', text: { format: { type: 'json_object' } } }],
    ] as const) {
      const answer = await send('POST', '/v1/responses', body);
      assert.equal(answer.status, 200, what);
      assertValid('Response', answer.json, `response ${what}`);
      created.push((answer.json as { id: string }).id);

      const streamed = await send('POST', '/v1/responses', { ...body, stream: true });
      assertChunks('ResponseStreamEvent', streamed, `response stream ${what}`);
      for (const { event, data } of streamed.events ?? [])
        assert.equal(event, (data as { type: string }).type);
    }
    const cut = await send('POST', '/v1/responses', {
      model: 'gpt_chat',
      input: 'cut: hello there',
      stream: true,
    });
    assertChunks('ResponseStreamEvent', cut, 'response stream cut');
    assert.equal((cut.events?.at(-1)?.data as { type?: string } | undefined)?.type, 'response.failed');

    const id = created[0]!;
    assertValid('Response', (await send('GET', `/v1/responses/${id}`)).json, 'GET /v1/responses/{id}');
    assertValid(
      'DeleteResponse',
      (await send('DELETE', `/v1/responses/${id}`)).json,
      'DELETE /v1/responses/{id}',
    );
  });

  test('error bodies of every kind', async () => {
    const failures: [string, Promise<Answer>, number][] = [
      ['unknown model', send('POST', '/v1/chat/completions', { ...chat('x'), model: 'nope' }), 404],
      ['bad field', send('POST', '/v1/chat/completions', { ...chat('x'), temperature: 9 }), 400],
      ['wrong key', send('GET', '/v1/models', undefined, 'wrong'), 401],
      ['unknown route', send('GET', '/v1/nothing'), 404],
      ['wrong method', send('GET', '/v1/responses'), 405],
      ['missing response', send('GET', `/v1/responses/resp_${'0'.repeat(32)}`), 404],
      ['upstream failure', send('POST', '/v1/responses', { model: 'gpt_chat', input: 'fail:400' }), 400],
    ];
    for (const [what, answer, status] of failures) {
      const { status: actual, json } = await answer;
      assert.equal(actual, status, what);
      assertValid('ErrorResponse', json, what);
    }
  });
});
