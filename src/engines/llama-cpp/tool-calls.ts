/**
 * Tools on a local GGUF model through node-llama-cpp's function calling, and the request fields the
 * engine refuses rather than drops.
 *
 * `tools` become node-llama-cpp `functions`: the chat wrapper renders them in the model's own
 * function-calling format where it has one (Llama 3.1+, Qwen, Mistral, Functionary, …) and in
 * node-llama-cpp's generic prompt protocol otherwise, and the calls the model makes come back as
 * `toolCalls`. node-llama-cpp never forces a call, so `tool_choice: "required"` or a named function
 * is refused with a 400 naming `tool_choice` instead of being ignored; `"none"` leaves the tools out.
 */
import { randomUUID } from 'node:crypto';
import type { ChatModelFunctions } from 'node-llama-cpp';
import type { ChatRequest, ToolCall } from '../../core/chat-model.js';
import { InvalidArgumentError } from '../../core/errors.js';

/** Request extras the engine cannot honour and so refuses (a client would read a missing field). */
const REFUSED_EXTRA = ['logprobs', 'top_logprobs'];

/** Throws a 400 naming the first field this engine cannot honour. Call before answering. */
export function refuseUnsupported(request: ChatRequest): void {
  for (const key of REFUSED_EXTRA) {
    const value = request.extra?.[key];
    if (value === undefined || value === null || value === false) continue;
    throw new InvalidArgumentError(
      `${key} is not supported by the llama_cpp engine (node-llama-cpp's chat API gives no token probabilities); leave it out`,
      { details: { param: key } },
    );
  }
  const choice = request.toolChoice;
  if (request.tools?.length && (choice === 'required' || typeof choice === 'object')) {
    throw new InvalidArgumentError(
      `tool_choice ${JSON.stringify(choice)} is not supported by the llama_cpp engine, which cannot force a call; use "auto" or "none"`,
      { details: { param: 'tool_choice' } },
    );
  }
  if (request.tools?.length && request.toolChoice !== 'none' && request.responseFormat?.type === 'json') {
    throw new InvalidArgumentError(
      'the llama_cpp engine cannot combine tools with a JSON response_format; send one of them',
      { details: { param: 'response_format' } },
    );
  }
}

/** Extra keys handled here (refused), so the engine does not also warn about them. */
export function isRefusedExtra(key: string): boolean {
  return REFUSED_EXTRA.includes(key);
}

/** The request's tools as node-llama-cpp functions; undefined when there are none or `tool_choice` is "none". */
export function toFunctions(request: ChatRequest): ChatModelFunctions | undefined {
  if (!request.tools?.length || request.toolChoice === 'none') return undefined;
  return Object.fromEntries(
    request.tools.map((tool) => [
      tool.name,
      {
        ...(tool.description ? { description: tool.description } : {}),
        params: tool.parameters as NonNullable<ChatModelFunctions[string]['params']>,
      },
    ]),
  );
}

/** node-llama-cpp's function calls as protocol tool calls (arguments as JSON text, as OpenAI sends). */
export function toToolCalls(
  functionCalls: readonly { functionName: string; params: unknown }[] | undefined,
): ToolCall[] {
  return (functionCalls ?? []).map((call) => ({
    id: `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    name: call.functionName,
    arguments: JSON.stringify(call.params ?? {}),
  }));
}
