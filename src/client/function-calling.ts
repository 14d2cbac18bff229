/**
 * Function calling: tools described by name, description and a zod parameter schema.
 *
 * Native mode (engine meta `support_tools`): the tools go out as `ChatRequest.tools` (JSON Schema
 * from `z.toJSONSchema`, so `.describe()` texts and enums reach the model) and the engine's tool
 * calls come back. Prompt mode (Byzer-LLM's protocol): the tools and the `FunctionCallList` schema are
 * appended to the last user message and the model answers that JSON.
 *
 * Execution validates each call's arguments with the tool's zod schema first: a call whose arguments
 * do not validate is NOT executed and `meta.reason` says why. Unknown tool names are reported too.
 */
import { z } from 'zod';
import type { ToolCall, ToolDefinition } from '../core/index.js';
import { extractJson } from './extract.js';

export interface Tool<Parameters extends z.ZodObject = z.ZodObject> {
  name: string;
  description?: string;
  parameters: Parameters;
  /** Runs the tool. Receives the validated arguments (and `funcParams` merged in, as in Byzer-LLM). */
  execute?: (args: z.infer<Parameters>) => unknown;
}

/** Declares a tool; the identity function that keeps the parameter types. */
export function tool<Parameters extends z.ZodObject>(definition: Tool<Parameters>): Tool<Parameters> {
  return definition;
}

export function toToolDefinition(tool: Tool): ToolDefinition {
  const schema = z.toJSONSchema(tool.parameters) as Record<string, unknown>;
  delete schema.$schema;
  return {
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    parameters: schema,
  };
}

/** Byzer-LLM's answer format for prompt-based calls. */
export const functionCallListSchema = z.object({
  id: z.string().optional(),
  type: z.literal('function').optional(),
  tool_calls: z.array(
    z.object({
      function: z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()).default({}) }),
    }),
  ),
});

export type FunctionCallingFormatFunc = (input: {
  question: string;
  tools: ToolDefinition[];
  toolChoice?: string;
}) => string;

/** The default prompt: the question, the tools, the answer schema. */
export const defaultFunctionCallingFormat: FunctionCallingFormatFunc = ({ question, tools, toolChoice }) =>
  [
    'You can call the following functions (JSON, with a JSON Schema of their arguments):',
    '```json',
    JSON.stringify(tools, null, 2),
    '```',
    toolChoice ? `You must call the function ${toolChoice}.` : '',
    'If the question can be answered by calling one or more of these functions, answer with only',
    'a JSON object of this form inside a ```json block:',
    '{"id": "<any id>", "type": "function", "tool_calls": [{"function": {"name": "<function name>", "arguments": {<arguments>}}}]}',
    'If no function fits, say so in plain text.',
    '',
    `Question: ${question}`,
  ]
    .filter((line, index, lines) => line !== '' || lines[index - 1] !== '')
    .join('\n');

/** Tool calls from a prompt-protocol answer; `reason` when none could be read. */
export function parsePromptToolCalls(text: string): { calls: ToolCall[]; reason?: string } {
  const found = extractJson(text);
  if (!found) return { calls: [], reason: 'No json block found in the answer' };
  const value = Array.isArray(found.value) ? found.value.at(-1) : found.value;
  const parsed = functionCallListSchema.safeParse(value);
  if (!parsed.success) {
    return { calls: [], reason: `the answer is not a function call list: ${z.prettifyError(parsed.error)}` };
  }
  return {
    calls: parsed.data.tool_calls.map((call, index) => ({
      id: `${parsed.data.id ?? 'call'}_${index}`,
      name: call.function.name,
      arguments: JSON.stringify(call.function.arguments),
    })),
  };
}

/** Validates and runs each call; a call with invalid arguments is skipped and reported. */
export async function executeToolCalls(
  calls: readonly ToolCall[],
  tools: readonly Tool[],
  funcParams: Record<string, unknown> = {},
): Promise<{ values: unknown[]; selected: string[]; reasons: string[] }> {
  const values: unknown[] = [];
  const selected: string[] = [];
  const reasons: string[] = [];
  for (const call of calls) {
    const tool = tools.find((candidate) => candidate.name === call.name);
    if (!tool) {
      reasons.push(`the model called ${call.name}, which is not one of the tools (${toolNames(tools)})`);
      continue;
    }
    let args: unknown;
    try {
      args = JSON.parse(call.arguments || '{}');
    } catch {
      reasons.push(`the arguments of ${call.name} are not valid JSON: ${call.arguments}`);
      continue;
    }
    const validated = tool.parameters.safeParse(args);
    if (!validated.success) {
      reasons.push(`the arguments of ${call.name} are invalid: ${z.prettifyError(validated.error)}`);
      continue;
    }
    if (!tool.execute) {
      reasons.push(`tool ${call.name} has no execute function`);
      continue;
    }
    try {
      values.push(await tool.execute({ ...(validated.data as object), ...funcParams }));
      selected.push(call.name);
    } catch (error) {
      reasons.push(`tool ${call.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { values, selected, reasons };
}

function toolNames(tools: readonly Tool[]): string {
  return tools.map((tool) => tool.name).join(', ');
}
