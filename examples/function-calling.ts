/**
 * Seed 004 / seed 003 "Function Calling": tools with zod parameter schemas (descriptions and enums
 * reach the model), executed with `executeTool: true`.
 */
import { z } from 'zod';
import { type ByzerLLM, tool } from '../src/index.js';

const format = (date: Date) => date.toISOString().slice(0, 19).replace('T', ' ');

export const computeDateRange = tool({
  name: 'compute_date_range',
  description: '计算日期范围',
  parameters: z.object({
    count: z.number().int().describe('时间跨度，数值类型'),
    unit: z.enum(['day', 'week', 'month', 'year']).describe('时间单位，字符串类型'),
  }),
  execute: ({ count, unit }) => {
    const now = new Date();
    const start = new Date(now);
    if (unit === 'day') start.setDate(start.getDate() - count);
    if (unit === 'week') start.setDate(start.getDate() - 7 * count);
    if (unit === 'month') start.setMonth(start.getMonth() - count);
    if (unit === 'year') start.setFullYear(start.getFullYear() - count);
    return [format(start), format(now)];
  },
});

export const computeNow = tool({
  name: 'compute_now',
  description: '计算当前时间',
  parameters: z.object({}),
  execute: () => format(new Date()),
});

export async function main(llm: ByzerLLM, toolMode: 'auto' | 'prompt' = 'auto') {
  const ask = async (content: string) => {
    const [response] = await llm.chatOai({
      conversations: [{ role: 'user', content }],
      tools: [computeDateRange, computeNow],
      executeTool: true,
      toolMode,
    });
    return response!;
  };
  const now = await ask('计算当前时间');
  const threeMonths = await ask('最近三个月趋势');
  const threeDays = await ask('最近三天');
  const chitChat = await ask('你吃饭了么？');
  // The model declined: no values, read the text answer instead.
  const declined = chitChat.values?.length ? chitChat.values[0] : chitChat.output;
  return { now: now.values, threeMonths: threeMonths.values, threeDays: threeDays.values, declined };
}

/**
 * Seed 003: when a model does not follow the default prompt, set your own per model. The format
 * receives the question, the tools (JSON Schema) and the forced tool, and returns the user message.
 */
export async function withCustomFormat(llm: ByzerLLM, model: string) {
  llm.setupFunctionCallingFormatFunc(model, ({ question, tools }) =>
    [
      'You can call the following functions:',
      ...tools.map((definition) => `- ${definition.name}: ${definition.description ?? ''}`),
      'Answer with {"tool_calls": [{"function": {"name": …, "arguments": {…}}}]} in a ```json block.',
      `Question: ${question}`,
    ].join('\n'),
  );
  const [response] = await llm.chatOai({
    model,
    conversations: '最近三个月趋势',
    tools: [computeDateRange, computeNow],
    executeTool: true,
    toolMode: 'prompt',
  });
  return response!;
}
