/**
 * Function calling and structured output against a deployment: what reaches the model (native
 * tools / response_format, or the prompt protocol), argument validation before any tool runs, the
 * one repair round, responseAfterChat on the given model, and per-model custom prompt formats.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { ByzerLLM, tool } from '../../src/client/index.js';
import { InvalidArgumentError, UnsupportedError } from '../../src/core/index.js';
import { type ClientFixture, lastChatBody, startClientFixture } from './client-fixture.js';

const Story = z.object({ title: z.string().describe('the title'), body: z.string() });

describe('function calling and structured output', () => {
  let fixture: ClientFixture;
  const executed: unknown[] = [];
  const computeDateRange = tool({
    name: 'compute_date_range',
    description: 'compute a date range',
    parameters: z.object({
      count: z.number().int().describe('how many units'),
      unit: z.enum(['day', 'week', 'month', 'year']).describe('the unit'),
    }),
    execute: (args) => {
      executed.push(args);
      return `${args.count} ${args.unit}`;
    },
  });
  const computeNow = tool({
    name: 'compute_now',
    description: 'the current time',
    parameters: z.object({}),
    execute: () => 'now',
  });

  before(async () => {
    fixture = await startClientFixture();
  });
  after(() => fixture.close());

  test('native tools carry the zod descriptions and enums as JSON Schema', async () => {
    const [response] = await fixture.llm.chatOai({
      conversations: 'trend of the last three months',
      tools: [computeDateRange, computeNow],
      executeTool: true,
    });
    assert.deepEqual(response!.values, ['3 month']);
    assert.deepEqual(response!.meta.selected_functions, ['compute_date_range']);
    const tools = lastChatBody(fixture.upstream).tools as {
      function: { parameters: Record<string, unknown> };
    }[];
    const properties = tools[0]!.function.parameters.properties as Record<string, Record<string, unknown>>;
    assert.deepEqual(properties.unit!.enum, ['day', 'week', 'month', 'year']);
    assert.equal(properties.count!.description, 'how many units');
  });

  test('the prompt protocol puts the tools in the last user message', async () => {
    const [response] = await fixture.llm.chatOai({
      conversations: 'trend of the last three days',
      tools: [computeDateRange],
      executeTool: true,
      toolMode: 'prompt',
    });
    assert.deepEqual(response!.values, ['3 day']);
    const body = lastChatBody(fixture.upstream);
    assert.equal(body.tools, undefined);
    const text = (body.messages as { content: string }[]).at(-1)!.content;
    assert.match(text, /"enum": \[\n\s+"day"/);
    assert.match(text, /Question: trend of the last three days/);
  });

  for (const toolMode of ['native', 'prompt'] as const) {
    test(`${toolMode}: a call whose arguments fail validation is not executed and the reason is reported`, async () => {
      executed.length = 0;
      const [response] = await fixture.llm.chatOai({
        conversations: 'please invalid-args',
        tools: [computeDateRange, computeNow],
        executeTool: true,
        toolMode,
      });
      assert.deepEqual(response!.values, []);
      assert.deepEqual(executed, []);
      assert.match(response!.meta.reason!, /arguments of compute_date_range are invalid/);
      assert.match(response!.meta.reason!, /unit/);
    });
  }

  test('a model that calls no tool leaves values empty and says why', async () => {
    const [response] = await fixture.llm.chatOai({
      conversations: 'how are you?',
      tools: [computeNow],
      executeTool: true,
    });
    assert.deepEqual(response!.values, []);
    assert.equal(response!.output, 'echo: how are you?');
    assert.equal(response!.meta.reason, 'the model called no tool');
  });

  test('a tool that throws is reported in meta.reason', async () => {
    const failing = tool({
      name: 'compute_now',
      parameters: z.object({}),
      execute: () => {
        throw new Error('clock is broken');
      },
    });
    const [response] = await fixture.llm.chatOai({
      conversations: 'current time?',
      tools: [failing],
      executeTool: true,
    });
    assert.deepEqual(response!.values, []);
    assert.match(response!.meta.reason!, /tool compute_now failed: clock is broken/);
  });

  test('native structured output sends the JSON Schema as response_format', async () => {
    const [response] = await fixture.llm.chatOai({ conversations: 'tell a story', responseClass: Story });
    assert.deepEqual(response!.value, { title: 'sample title', body: 'sample body' });
    const format = lastChatBody(fixture.upstream).response_format as {
      json_schema: { schema: Record<string, unknown> };
    };
    assert.deepEqual(Object.keys(format.json_schema.schema.properties as object), ['title', 'body']);
  });

  for (const structuredMode of ['native', 'prompt'] as const) {
    test(`${structuredMode}: an invalid answer gets one repair round`, async () => {
      fixture.upstream.reset();
      const [response] = await fixture.llm.chatOai({
        conversations: 'tell a story answer-badly',
        responseClass: Story,
        structuredMode,
      });
      assert.deepEqual(response!.value, { title: 'sample title', body: 'sample body' });
      assert.equal(fixture.upstream.requests.length, 2);
      const repair = (lastChatBody(fixture.upstream).messages as { role: string; content: string }[]).at(-1)!;
      assert.match(repair.content, /could not be used: the JSON does not match the schema/);
    });
  }

  test('an answer that stays invalid gives no value and a reason', async () => {
    const strict = z.object({ count: z.number().min(5) });
    const [response] = await fixture.llm.chatOai({
      conversations: 'a number',
      responseClass: strict,
      structuredMode: 'prompt',
    });
    assert.equal(response!.value, undefined);
    assert.match(response!.meta.reason!, /after one repair round/);
  });

  test('responseAfterChat answers first, then extracts on the same (non-default) model', async () => {
    fixture.upstream.reset();
    const noDefault = new ByzerLLM({ cluster: fixture.head });
    const [response] = await noDefault.chatOai({
      model: 'chat',
      conversations: [{ role: 'user', content: 'tell a story' }],
      responseClass: Story,
      responseAfterChat: true,
      structuredMode: 'prompt',
    });
    assert.deepEqual(response!.value, { title: 'sample title', body: 'sample body' });
    assert.equal(fixture.upstream.requests.length, 2);
    const messages = lastChatBody(fixture.upstream).messages as { role: string; content: string }[];
    assert.deepEqual(
      messages.map((message) => message.role),
      ['user', 'assistant', 'user'],
    );
    assert.equal(messages[1]!.content, 'echo: tell a story');
  });

  test('custom prompt formats per model', async () => {
    const custom = new ByzerLLM({ cluster: fixture.head }).setupDefaultModelName('chat');
    custom.setupResponseClassFormatFunc(
      'chat',
      ({ question, schema }) =>
        `${question}\nReply per this JSON Schema:\n\`\`\`json\n${JSON.stringify(schema)}\n\`\`\``,
    );
    const [response] = await custom.chatOai({
      conversations: 'a story',
      responseClass: Story,
      structuredMode: 'prompt',
    });
    assert.deepEqual(response!.value, { title: 'sample title', body: 'sample body' });
    const text = (lastChatBody(fixture.upstream).messages as { content: string }[]).at(-1)!.content;
    assert.match(text, /^a story\nReply per this JSON Schema:/);
  });

  test('rerank on a model without it fails with UnsupportedError; speech reaches the engine', async () => {
    await assert.rejects(fixture.llm.embRerank(['query', 'passage']), UnsupportedError);
    await assert.rejects(fixture.llm.embRerank([]), InvalidArgumentError);
    const audio = await fixture.llm.speech({ input: 'hello', voice: 'alloy' });
    assert.equal(Buffer.from(audio.audio).toString(), 'FAKE-MP3:alloy:hello');
  });

  test('responseClass with tools is refused', async () => {
    await assert.rejects(
      fixture.llm.chatOai({ conversations: 'x', responseClass: Story, tools: [computeNow] }),
      InvalidArgumentError,
    );
  });
});
