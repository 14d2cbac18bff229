/**
 * A deterministic "model" for the local OpenAI stand-in (`startOpenAIUpstream({ reply, replyToolCall })`):
 * it answers the client's prompts the way a capable model would, by fixed rules, so tests and
 * examples exercise the real client → head → engine → HTTP path and can assert exact results.
 *
 * - JSON answers follow the requested JSON Schema (native `response_format`, or the schema in the
 *   prompt) with sample values: strings `sample <name>`, enums their first value, numbers 1.
 *   A question containing `answer-badly` first gets an answer that fails validation.
 * - Tool calls (native `tools`, or the prompt protocol) are chosen by keywords of the question.
 * - `impl` prompts get JavaScript from a table by function name, including hostile code.
 * - Response markers: the answer comes in two turns.
 */
import { contentText } from '../support/openai-upstream-answers.js';

export function sampleFromSchema(schema: Record<string, unknown>, name = 'value'): unknown {
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      return Object.fromEntries(
        Object.entries(properties).map(([key, value]) => [key, sampleFromSchema(value, key)]),
      );
    }
    case 'array':
      return [sampleFromSchema((schema.items ?? {}) as Record<string, unknown>, name)];
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    default:
      return `sample ${name}`;
  }
}

/** The last ```json block of a text, parsed. */
function lastJsonBlock(text: string): Record<string, unknown> | undefined {
  const blocks = [...text.matchAll(/```json\n([\s\S]*?)```/g)];
  const last = blocks.at(-1);
  return last ? (JSON.parse(last[1]!) as Record<string, unknown>) : undefined;
}

/** Which tool a question calls, with which arguments. */
export function chooseTool(
  question: string,
): { name: string; arguments: Record<string, unknown> } | undefined {
  if (/invalid-args/.test(question))
    return { name: 'compute_date_range', arguments: { count: 'three', unit: 'decade' } };
  if (/current time|当前时间/i.test(question)) return { name: 'compute_now', arguments: {} };
  if (/three months|三个月/i.test(question))
    return { name: 'compute_date_range', arguments: { count: 3, unit: 'month' } };
  if (/three days|三天/i.test(question))
    return { name: 'compute_date_range', arguments: { count: 3, unit: 'day' } };
  return undefined;
}

/** JavaScript the model "writes" for `impl`, by function name. */
export const IMPL_CODE: Record<string, string> = {
  calculate_current_time: 'function calculate_current_time(args) {\n  return { time: "2024-06-14" };\n}',
  add_one_day:
    'function add_one_day(args) {\n  const day = new Date(args.current_day + "T00:00:00Z");\n  day.setUTCDate(day.getUTCDate() + 1);\n  return { time: day.toISOString().slice(0, 10) };\n}',
  calculate_time_range:
    'async function calculate_time_range(args) {\n  return { start: "2023-03-01", end: "2023-07-31" };\n}',
  read_secrets:
    'function read_secrets(args) {\n  const fs = require("fs");\n  return { time: fs.readFileSync("/etc/passwd", "utf8") };\n}',
  stop_host: 'function stop_host(args) {\n  process.exit(1);\n  return { time: "never" };\n}',
  spin_forever: 'function spin_forever(args) {\n  while (true) {}\n}',
  spin_async: 'async function spin_async(args) {\n  for (;;) { await null; }\n}',
  wrong_shape: 'function wrong_shape(args) {\n  return { time: 42 };\n}',
  // A built-in loop that never polls QuickJS's interrupt handler.
  hang_in_builtin:
    'function hang_in_builtin(args) {\n  return { time: String(Array.prototype.indexOf.call({ length: 1e12 }, 1)) };\n}',
  memory_bomb:
    'function memory_bomb(args) {\n  const hoard = [];\n  for (;;) hoard.push(new Array(1e6).fill(1));\n}',
};

export function scriptedReply(text: string, request: Record<string, unknown>): string {
  const messages = (request.messages ?? []) as { role?: string; content?: unknown }[];
  const format = request.response_format as
    | { json_schema?: { schema?: Record<string, unknown> } }
    | undefined;
  const firstUser = contentText(messages.find((message) => message.role === 'user')?.content);
  const badFirstTry = /answer-badly/.test(firstUser) && !/could not be used/.test(text);
  if (format?.json_schema?.schema) {
    if (badFirstTry) return '{"title": 1}';
    return JSON.stringify(sampleFromSchema(format.json_schema.schema));
  }
  const implName = /Implement the JavaScript function `([\w$]+)`/.exec(text)?.[1];
  if (implName) {
    const code = IMPL_CODE[implName];
    return code ? `Here it is:\n\n\`\`\`javascript\n${code}\n\`\`\`` : 'I cannot write that.';
  }
  if (/You can call the following functions/.test(text)) {
    const question = /Question: ([\s\S]*)$/.exec(text)?.[1] ?? '';
    const call = chooseTool(question);
    if (!call) return 'Sorry, none of these functions can answer that.';
    return `\`\`\`json\n${JSON.stringify({ id: 'call-1', type: 'function', tool_calls: [{ function: call }] })}\n\`\`\``;
  }
  if (/JSON Schema/.test(text) || /could not be used/.test(text)) {
    const schema = lastJsonBlock(text) ?? lastJsonBlock(allUserText(messages));
    if (badFirstTry) return '```json\n{"title": 1}\n```';
    return `\`\`\`json\n${JSON.stringify(sampleFromSchema(schema ?? {}), null, 2)}\n\`\`\``;
  }
  if (/<RESPONSE>/.test(text)) return '<RESPONSE>Once upon a time, a fox';
  if (/Continue exactly where you stopped/.test(text)) return ' found a shining gem.</RESPONSE> (the end)';
  if (/<REGEX>/.test(text)) return 'Sure:\n<REGEX>^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$</REGEX>';
  return `echo: ${text}`;
}

function allUserText(messages: { role?: string; content?: unknown }[]): string {
  return messages
    .filter((message) => message.role === 'user')
    .map((message) => contentText(message.content))
    .join('\n');
}

/** Native tool calls: when the request carries `tools` and the question matches one. */
export function scriptedToolCall(
  request: Record<string, unknown>,
): { name: string; arguments: string } | undefined {
  if (!Array.isArray(request.tools) || request.tools.length === 0) return undefined;
  const messages = (request.messages ?? []) as { role?: string; content?: unknown }[];
  const question = contentText([...messages].reverse().find((message) => message.role === 'user')?.content);
  const call = chooseTool(question);
  return call ? { name: call.name, arguments: JSON.stringify(call.arguments) } : undefined;
}
