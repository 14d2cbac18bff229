/**
 * Tool exchanges in a llama_cpp history: an assistant's tool calls and the tool results answering
 * them become node-llama-cpp function calls, which a real chat wrapper renders in its model's own
 * function-calling format (no model needed).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Llama3_1ChatWrapper } from 'node-llama-cpp';
import type { ChatMessage, Warning } from '../../src/core/index.js';
import { toChatHistory } from '../../src/engines/llama-cpp/convert-messages.js';
import { toFunctions } from '../../src/engines/llama-cpp/tool-calls.js';

const messages: ChatMessage[] = [
  { role: 'user', content: 'weather in Paris?' },
  {
    role: 'assistant',
    content: '',
    toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
  },
  { role: 'tool', toolCallId: 'call_1', content: 'sunny, 21 C' },
  { role: 'tool', toolCallId: 'call_unknown', content: 'stray' },
];

test('tool calls carry their results; a result that answers no call is user text with a warning', () => {
  const warnings: Warning[] = [];
  const history = toChatHistory(messages, warnings);
  assert.deepEqual(history[1], {
    type: 'model',
    response: [
      { type: 'functionCall', name: 'get_weather', params: { city: 'Paris' }, result: 'sunny, 21 C' },
    ],
  });
  assert.deepEqual(history[2], { type: 'user', text: 'Tool result (call_unknown): stray' });
  assert.equal(history.length, 3);
  assert.deepEqual(
    warnings.map((warning) => warning.setting),
    ['messages.tool'],
  );
});

test("a function-calling chat wrapper renders the tools, the call and its result in the model's format", () => {
  const functions = toFunctions({
    messages,
    tools: [
      {
        name: 'get_weather',
        description: 'the weather in a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ],
  });
  const wrapper = new Llama3_1ChatWrapper();
  const { contextText } = wrapper.generateContextState({
    chatHistory: [...toChatHistory(messages.slice(0, 3), []), { type: 'model', response: [] }],
    availableFunctions: functions!,
  });
  const text = contextText.toString();
  assert.match(text, /get_weather/);
  assert.match(text, /the weather in a city/);
  assert.match(text, /"city":\s*"Paris"/);
  assert.match(text, /sunny, 21 C/);
});

test('tool_choice "none" leaves the tools out', () => {
  assert.equal(
    toFunctions({
      messages,
      toolChoice: 'none',
      tools: [{ name: 'get_weather', parameters: { type: 'object' } }],
    }),
    undefined,
  );
});
