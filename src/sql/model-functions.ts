/**
 * The SQL functions of Byzer-LLM, registered as DuckDB scalar functions: `llm_param`, `llm_prompt`,
 * `llm_result`, `llm_error`, `llm_stack`, one function per deployed model (named like the model),
 * and `llm(model, prompt [, schema])` and `llm_embed(model, text)`.
 *
 * Model functions never wait for a model (DuckDB calls them synchronously): they look their request
 * up in the statement's `QueryCalls` and return a pending value until the session has made the call
 * (see query-calls.ts). A failed call gives a response that `llm_result` reads as NULL and
 * `llm_error` explains.
 */
import {
  ANY,
  type DuckDBConnection,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBScalarFunction,
  type DuckDBScalarFunctionInfo,
  DuckDBStructValue,
  type DuckDBType,
  type DuckDBValue,
  FLOAT,
  LIST,
  listValue,
  VARCHAR,
} from '@duckdb/node-api';
import { type ChatRequest, InvalidArgumentError } from '../core/index.js';
import {
  chatRequestOf,
  formatPrompt,
  readByzerRequest,
  readResponse,
  responseJson,
  stackRequest,
} from './byzer-request.js';
import { extractJson, readSchema, schemaProblems } from './json-schema-struct.js';
import { PENDING_MARKER, type QueryCalls } from './query-calls.js';

/** Gives the functions the calls of the statement that is running. */
export interface FunctionContext {
  calls(): QueryCalls;
}

type Compute = (values: unknown[]) => DuckDBValue;

/** Registers one scalar function over any argument types; a thrown error fails the query with its message. */
function register(
  connection: DuckDBConnection,
  name: string,
  returnType: DuckDBType,
  compute: Compute,
): void {
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name,
      returnType,
      varArgsType: ANY,
      specialHandling: true,
      volatile: true,
      mainFunction: (info: DuckDBScalarFunctionInfo, input, output) => {
        try {
          const columns = Array.from({ length: input.columnCount }, (_, index) => readColumn(input, index));
          for (let row = 0; row < input.rowCount; row++) {
            output.setItem(row, compute(columns.map((column) => column[row] ?? null)));
          }
          output.flush();
        } catch (error) {
          info.setError(`${name}: ${(error as Error).message}`);
        }
      },
    }),
  );
}

function readColumn(
  input: { getColumnVector(index: number): { itemCount: number; getItem(index: number): DuckDBValue } },
  index: number,
): unknown[] {
  let vector: { itemCount: number; getItem(index: number): DuckDBValue };
  try {
    vector = input.getColumnVector(index);
  } catch {
    return []; // a literal NULL argument has no vector type: every row reads as null
  }
  return Array.from({ length: vector.itemCount }, (_, row) => plain(vector.getItem(row)));
}

/** A DuckDB value as plain JSON-like JavaScript (maps and structs → objects, lists → arrays). */
export function plain(value: DuckDBValue): unknown {
  if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  ) {
    return value;
  }
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof DuckDBListValue) return value.items.map(plain);
  if (value instanceof DuckDBMapValue) {
    return Object.fromEntries(value.entries.map((entry) => [String(plain(entry.key)), plain(entry.value)]));
  }
  if (value instanceof DuckDBStructValue) {
    return Object.fromEntries(Object.entries(value.entries).map(([key, item]) => [key, plain(item)]));
  }
  if ('items' in value && Array.isArray(value.items)) return value.items.map(plain);
  return String(value);
}

function text(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new InvalidArgumentError(`${what} must be text, got ${JSON.stringify(value)}`);
}

/** The Byzer helper functions (no model calls). */
export function registerHelperFunctions(connection: DuckDBConnection): void {
  register(connection, 'llm_param', VARCHAR, ([value]) => {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string') return JSON.stringify(readByzerRequest(value));
    if (typeof value === 'object' && !Array.isArray(value)) return JSON.stringify(readByzerRequest(value));
    throw new InvalidArgumentError('expected map("instruction", …, key, value, …)');
  });
  register(connection, 'llm_prompt', VARCHAR, ([template, values]) => {
    if (template === null || template === undefined) return null;
    const list = values === null || values === undefined ? [] : Array.isArray(values) ? values : [values];
    return formatPrompt(text(template, 'the template'), list);
  });
  register(connection, 'llm_result', VARCHAR, ([value]) => {
    const response = readResponse(value);
    if (response === 'pending') return PENDING_MARKER;
    return typeof response?.output === 'string' ? response.output : null;
  });
  register(connection, 'llm_error', VARCHAR, ([value]) => {
    const response = readResponse(value);
    if (response === undefined || response === 'pending' || !response.error) return null;
    return `${response.error.code ?? 'error'}: ${response.error.message ?? ''}`;
  });
  register(connection, 'llm_stack', VARCHAR, ([previous, next]) => {
    if (next === null || next === undefined) return null;
    const nextRequest = readByzerRequest(next);
    const response = readResponse(previous);
    if (response === 'pending') return JSON.stringify({ ...nextRequest, instruction: PENDING_MARKER });
    if (previous === null || previous === undefined) return JSON.stringify(nextRequest);
    if (response === undefined) throw new InvalidArgumentError('the first argument must be a model response');
    const stacked = stackRequest(response, nextRequest);
    return stacked ? JSON.stringify(stacked) : null;
  });
}

/** `name(request)` for a chat deployment: Byzer's response list (one JSON text per request). */
export function registerChatModel(
  connection: DuckDBConnection,
  model: string,
  context: FunctionContext,
): void {
  register(connection, model, LIST(VARCHAR), ([argument]) => {
    if (argument === null || argument === undefined) return null;
    const items = Array.isArray(argument) ? argument : [argument];
    const answers: string[] = [];
    for (const item of items) {
      if (item === null) continue;
      if (JSON.stringify(item).includes(PENDING_MARKER)) return listValue([PENDING_MARKER]);
      const request = readByzerRequest(item);
      const outcome = context.calls().lookup({ kind: 'chat', model, request: chatRequestOf(request) });
      if (!outcome) return listValue([PENDING_MARKER]);
      answers.push(responseJson(request, outcome));
    }
    return listValue(answers);
  });
}

/** `name(text)` for an embedding deployment: the vector as FLOAT[] (NULL when the call failed). */
export function registerEmbeddingModel(
  connection: DuckDBConnection,
  model: string,
  context: FunctionContext,
): void {
  register(connection, model, LIST(FLOAT), ([argument]) => embedValue(context, model, argument));
}

function embedValue(context: FunctionContext, model: string, argument: unknown): DuckDBValue {
  if (argument === null || argument === undefined) return null;
  const first = Array.isArray(argument) ? argument[0] : argument;
  if (first === null || first === undefined) return null;
  const value = typeof first === 'string' ? first : JSON.stringify(first);
  if (value.includes(PENDING_MARKER)) return null;
  const outcome = context
    .calls()
    .lookup({ kind: 'embedding', model, text: readByzerRequest(value).instruction });
  return outcome?.ok && outcome.embedding ? listValue(outcome.embedding) : null;
}

/** `llm(model, prompt [, schema])` and `llm_embed(model, text)`. */
export function registerGenericModelFunctions(connection: DuckDBConnection, context: FunctionContext): void {
  register(connection, 'llm_embed', LIST(FLOAT), ([model, value]) =>
    model === null || model === undefined ? null : embedValue(context, text(model, 'the model name'), value),
  );
  register(connection, 'llm', VARCHAR, ([model, prompt, schema]) => {
    if (model === null || model === undefined || prompt === null || prompt === undefined) return null;
    const name = text(model, 'the model name');
    const promptText = text(prompt, 'the prompt');
    if (promptText.includes(PENDING_MARKER)) return schema === undefined ? PENDING_MARKER : null;
    const request: ChatRequest = { messages: [{ role: 'user', content: promptText }] };
    if (schema === undefined || schema === null) {
      const outcome = context.calls().lookup({ kind: 'chat', model: name, request });
      if (!outcome) return PENDING_MARKER;
      return outcome.ok ? (outcome.chat?.text ?? null) : null;
    }
    return structuredAnswer(context, name, request, text(schema, 'the schema'));
  });
}

/** The JSON text of a schema-conforming answer: asked once, repaired once, else a failed row. */
function structuredAnswer(
  context: FunctionContext,
  model: string,
  base: ChatRequest,
  schemaText: string,
): string | null {
  const { shape, schema } = readSchema(schemaText);
  const request: ChatRequest = { ...base, responseFormat: { type: 'json', schema } };
  const first = context.calls().lookup({ kind: 'chat', model, request });
  if (!first?.ok) return null;
  const answer = extractJson(first.chat?.text ?? '');
  const problems = answer === undefined ? ['the answer is not JSON'] : schemaProblems(answer, shape);
  if (problems.length === 0) return JSON.stringify(answer);
  const repair: ChatRequest = {
    ...request,
    messages: [
      ...request.messages,
      { role: 'assistant', content: first.chat?.text ?? '' },
      {
        role: 'user',
        content: `That answer does not match the JSON schema (${problems.join('; ')}). Answer again with only JSON matching ${schemaText}`,
      },
    ],
  };
  const repairCall = { kind: 'chat' as const, model, request: repair };
  const second = context.calls().lookup(repairCall);
  if (!second?.ok) return null;
  const repaired = extractJson(second.chat?.text ?? '');
  const remaining = repaired === undefined ? ['the answer is not JSON'] : schemaProblems(repaired, shape);
  if (remaining.length === 0) return JSON.stringify(repaired);
  context
    .calls()
    .markFailed(repairCall, `the answer does not match the schema after one repair: ${remaining.join('; ')}`);
  return null;
}
