/**
 * Function implementation (`impl`, byzer-spec §5.3): the model writes the JavaScript body of a
 * described function, and it runs in the QuickJS sandbox (`sandbox.ts`: no fs, network, process or
 * require; a time and memory limit; a worker thread the host kills at the deadline). Every failure
 * of the run is returned as `meta.reason`, never thrown. Arguments are validated with the parameter schema before the
 * run, the result with the return schema after it. Working code is cached per (model, instruction,
 * signature); a cache hit makes no model call. Byzer-LLM ran generated Python in-process; we do not.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';
import type { ClientSession } from './client-session.js';
import { generate } from './chat-oai.js';
import type { ChatOaiOptions } from './chat-options.js';
import { extractCode } from './extract.js';
import type { LlmConfig } from './llm-config.js';
import type { ImplFormatFunc } from './model-settings.js';
import { type ChatResponse, chatResponse, emptyMeta } from './responses.js';
import { runInSandbox } from './sandbox.js';
import { jsonSchemaOf } from './structured-output.js';

export interface ImplOptions<Parameters extends z.ZodObject, Returns extends z.ZodType> {
  /** A JavaScript identifier: the function the model must define. */
  name: string;
  /** What the function does (Byzer-LLM's docstring). */
  description: string;
  parameters: Parameters;
  returns: Returns;
  /** Extra guidance for the model; part of the cache key. */
  instruction?: string;
  model?: string;
  /** Generate again even when cached code exists. */
  skipCache?: boolean;
  /** Sandbox time limit per run. Defaults to 1000 ms. */
  timeoutMs?: number;
  llmConfig?: LlmConfig;
}

export interface ImplResult<Value> {
  /** The validated result; undefined with `meta.reason` on failure. */
  value?: Value;
  meta: { reason?: string; raw_func?: string; cached: boolean };
  /** The model's answer when this call generated the code. */
  response?: ChatResponse;
}

export type ImplFunction<Parameters extends z.ZodObject, Returns extends z.ZodType> = (
  args: z.input<Parameters>,
) => Promise<ImplResult<z.infer<Returns>>>;

export type { ImplFormatFunc };

export const defaultImplFormat: ImplFormatFunc = (input) =>
  [
    `Implement the JavaScript function \`${input.name}\`: ${input.description}`,
    input.instruction ? `Instruction: ${input.instruction}` : '',
    `It is called as \`${input.name}(args)\` with one object argument matching this JSON Schema:`,
    '```json',
    JSON.stringify(input.parametersSchema, null, 2),
    '```',
    'It must return (or resolve to) a value matching this JSON Schema:',
    '```json',
    JSON.stringify(input.returnsSchema, null, 2),
    '```',
    'It runs in a sandbox with only the ECMAScript built-ins: no require/import, no process, no file',
    'system, no network, no timers. Answer with one complete ```javascript block defining',
    `\`function ${input.name}(args) { … }\`, and do not show how to call it.`,
  ]
    .filter((line) => line !== '')
    .join('\n');

interface CacheEntry {
  model: string;
  name: string;
  instruction: string;
  code: string;
}

export class ImplCache {
  private readonly entries = new Map<string, CacheEntry>();

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }
  set(key: string, entry: CacheEntry): void {
    this.entries.set(key, entry);
  }
  get size(): number {
    return this.entries.size;
  }
  clear(filter: { model?: string; name?: string; instruction?: string } = {}): void {
    for (const [key, entry] of this.entries) {
      const matches =
        (filter.model === undefined || entry.model === filter.model) &&
        (filter.name === undefined || entry.name === filter.name) &&
        (filter.instruction === undefined || entry.instruction === filter.instruction);
      if (matches) this.entries.delete(key);
    }
  }
}

/** The code of the answer: the last javascript/js block, else the last untagged block. */
export function generatedCode(output: string, name: string): string | undefined {
  const blocks = extractCode(output);
  const javascript = blocks.filter((block) =>
    ['javascript', 'js', 'typescript', 'ts'].includes(block.language),
  );
  const chosen = javascript.at(-1) ?? blocks.filter((block) => block.language === '').at(-1);
  if (!chosen || !new RegExp(`\\b${name}\\b`).test(chosen.code)) return undefined;
  return chosen.code;
}

export function createImpl<Parameters extends z.ZodObject, Returns extends z.ZodType>(
  llm: ClientSession,
  cache: ImplCache,
  options: ImplOptions<Parameters, Returns>,
): ImplFunction<Parameters, Returns> {
  if (!/^[A-Za-z_$][\w$]*$/.test(options.name)) {
    throw new InvalidArgumentError(
      `impl name ${JSON.stringify(options.name)} is not a JavaScript identifier`,
    );
  }
  const parametersSchema = jsonSchemaOf(options.parameters);
  const returnsSchema = jsonSchemaOf(options.returns);
  const instruction = options.instruction ?? '';
  const signature = JSON.stringify([options.name, options.description, parametersSchema, returnsSchema]);
  const sandboxOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };

  return async (args) => {
    const model = llm.resolveModel(options.model);
    const key = JSON.stringify([model, instruction, signature]);
    const validArgs = options.parameters.safeParse(args);
    if (!validArgs.success) {
      return { meta: { reason: `invalid arguments: ${z.prettifyError(validArgs.error)}`, cached: false } };
    }
    const run = async (code: string) => {
      const outcome = await runInSandbox(code, options.name, validArgs.data, sandboxOptions);
      if (!outcome.ok) return { reason: `the generated code failed: ${outcome.reason}` };
      const checked = options.returns.safeParse(outcome.value);
      if (!checked.success) {
        return { reason: `the result does not match the return schema: ${z.prettifyError(checked.error)}` };
      }
      return { value: checked.data as z.infer<Returns> };
    };

    const cached = options.skipCache ? undefined : cache.get(key);
    if (cached) {
      const outcome = await run(cached.code);
      return { ...keepValue(outcome), meta: { ...pick(outcome), raw_func: cached.code, cached: true } };
    }
    const format = llm.modelSettings(model).implFormat ?? defaultImplFormat;
    const question = format({
      name: options.name,
      description: options.description,
      instruction,
      parametersSchema,
      returnsSchema,
    });
    const response = await generate(
      llm,
      model,
      question,
      options.llmConfig ? { llmConfig: options.llmConfig } : {},
    );
    const code = generatedCode(response.output, options.name);
    if (!code) {
      return {
        response,
        meta: { reason: `No JavaScript block defining ${options.name} found in the answer`, cached: false },
      };
    }
    const outcome = await run(code);
    if ('value' in outcome) cache.set(key, { model, name: options.name, instruction, code });
    return { ...keepValue(outcome), response, meta: { ...pick(outcome), raw_func: code, cached: false } };
  };
}

function keepValue<Value>(outcome: { value?: Value }): { value?: Value } {
  return 'value' in outcome ? { value: outcome.value as Value } : {};
}

function pick(outcome: { reason?: string }): { reason?: string } {
  return outcome.reason === undefined ? {} : { reason: outcome.reason };
}

/** `chatOai` with `implFunc`: the model writes the function, the sandbox runs it on `implFuncParams`. */
export async function chatWithImplFunc(
  llm: ClientSession,
  cache: ImplCache,
  model: string,
  options: ChatOaiOptions,
): Promise<ChatResponse> {
  const implFunc = options.implFunc!;
  if (!options.responseClass) {
    throw new InvalidArgumentError(
      `implFunc ${implFunc.name} needs responseClass (the schema of its result)`,
    );
  }
  const conversation = options.conversations;
  const last = typeof conversation === 'string' ? conversation : conversation.at(-1)?.content;
  const run = createImpl(llm, cache, {
    name: implFunc.name,
    description: implFunc.description,
    parameters: implFunc.parameters ?? z.object({}).loose(),
    returns: options.responseClass,
    instruction: typeof last === 'string' ? last : '',
    model,
    ...(options.llmConfig ? { llmConfig: options.llmConfig } : {}),
  });
  const result = await run(options.implFuncParams ?? {});
  const response: ChatResponse =
    result.response ??
    chatResponse({ output: '', meta: emptyMeta(), input: { messages: [] }, toolCalls: [] });
  if (result.value !== undefined) response.value = result.value;
  if (result.meta.reason) response.meta.reason = result.meta.reason;
  return response;
}
