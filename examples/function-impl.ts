/**
 * Seed 004 "如何自动实现一个方法" and seed 003 "Function Implementation": the model writes the
 * function in JavaScript; it runs in a sandbox; the code is cached.
 */
import { z } from 'zod';
import type { ByzerLLM } from '../src/index.js';

const Time = z.object({ time: z.string().describe('时间，时间格式为 yyyy-MM-dd') });
const TimeRange = z.object({
  start: z.string().describe('开始时间.时间格式为 yyyy-MM-dd'),
  end: z.string().describe('截止时间.时间格式为 yyyy-MM-dd'),
});

export async function main(llm: ByzerLLM) {
  const calculateCurrentTime = llm.impl({
    name: 'calculate_current_time',
    description: '计算当前时间',
    parameters: z.object({}),
    returns: Time,
  });
  let started = performance.now();
  const first = await calculateCurrentTime({});
  const firstSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const second = await calculateCurrentTime({});
  const secondSeconds = (performance.now() - started) / 1000;

  const addOneDay = llm.impl({
    name: 'add_one_day',
    description: '给传入的日期加一天，得到明天的时间',
    parameters: z.object({ current_day: z.string().describe('当前日期, yyyy-MM-dd') }),
    returns: Time,
  });
  const tomorrow = await addOneDay({ current_day: '2024-01-28' });

  const calculateTimeRange = llm.impl({
    name: 'calculate_time_range',
    description: '计算时间区间，时间格式为 yyyy-MM-dd.',
    instruction: '去年三月到七月',
    parameters: z.object({}),
    returns: TimeRange,
  });
  const range = await calculateTimeRange({});

  // The same through chatOai: the question is the instruction, responseClass the return schema.
  const [viaChat] = await llm.chatOai({
    conversations: [{ role: 'user', content: '去年三月到七月' }],
    implFunc: { name: 'calculate_time_range', description: '计算时间区间，时间格式为 yyyy-MM-dd.' },
    responseClass: TimeRange,
  });

  llm.clearImplCache();
  return { first, second, firstSeconds, secondSeconds, tomorrow, range, viaChat: viaChat!.value };
}

/** Seed 003: a custom prompt for function implementation on one model. */
export async function withCustomFormat(llm: ByzerLLM, model: string) {
  llm.setupImplFuncFormatFunc(model, (input) =>
    [
      `Implement the JavaScript function \`${input.name}\` (${input.description}).`,
      `The user's question: ${input.instruction}`,
      `Return JSON matching: ${JSON.stringify(input.returnsSchema)}`,
      'Answer with one ```javascript block.',
    ].join('\n'),
  );
  const run = llm.impl({
    name: 'calculate_time_range',
    description: '计算时间区间',
    instruction: '去年三月到七月',
    parameters: z.object({}),
    returns: TimeRange,
    model,
  });
  return run({});
}
