/**
 * What the local OpenAI stand-in answers: deterministic bodies in OpenAI's exact shapes, and the
 * knobs a request can carry in its last user message (so a CLI test, which only controls the
 * prompt, can trigger them). Knobs are whitespace-separated tokens anywhere in that text:
 *
 * - `fail:NNN`       answer HTTP NNN with an OpenAI error body (429 comes with `Retry-After: 0`)
 * - `delay:MS`       wait MS milliseconds before answering
 * - `chunk-delay:MS` wait MS milliseconds between stream chunks
 * - `tool:NAME`      answer with one call of tool NAME, arguments `{"text": <message text>}`
 * - `reason:`        include `reasoning_content` ("thinking about: <message text>")
 * - `cut:`           drop the connection after the first streamed text chunk
 *
 * The answer text is `echo: <last user message text>`. Tokens are counted as whitespace-separated
 * words, so usage is predictable too.
 */

export interface Knobs {
  failStatus?: number;
  delayMs?: number;
  chunkDelayMs?: number;
  toolName?: string;
  reasoning: boolean;
  cut: boolean;
}

export function parseKnobs(text: string): Knobs {
  const number = (pattern: RegExp) => {
    const match = pattern.exec(text);
    return match ? Number(match[1]) : undefined;
  };
  const knobs: Knobs = {
    reasoning: /(?:^|\s)reason:/.test(text),
    cut: /(?:^|\s)cut:/.test(text),
  };
  const failStatus = number(/(?:^|\s)fail:(\d{3})(?=\s|$)/);
  const delayMs = number(/(?:^|\s)delay:(\d+)(?=\s|$)/);
  const chunkDelayMs = number(/(?:^|\s)chunk-delay:(\d+)(?=\s|$)/);
  const toolName = /(?:^|\s)tool:([\w.-]+)/.exec(text)?.[1];
  if (failStatus !== undefined) knobs.failStatus = failStatus;
  if (delayMs !== undefined) knobs.delayMs = delayMs;
  if (chunkDelayMs !== undefined) knobs.chunkDelayMs = chunkDelayMs;
  if (toolName !== undefined) knobs.toolName = toolName;
  return knobs;
}

/** The text of a message's content: a string, or the `text` parts of a part list joined by spaces. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(
      (part): part is { type: 'text'; text: string } =>
        part?.type === 'text' && typeof part.text === 'string',
    )
    .map((part) => part.text)
    .join(' ');
}

export function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** OpenAI error body for a status; 401 echoes the presented key in full (OpenAI masks it) so tests prove clients redact it. */
export function errorBody(status: number, presentedKey = ''): { error: Record<string, unknown> } {
  switch (status) {
    case 401:
      return {
        error: {
          message: `Incorrect API key provided: ${presentedKey}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      };
    case 429:
      return {
        error: {
          message: 'Rate limit reached for requests. Please try again in 0s.',
          type: 'requests',
          param: null,
          code: 'rate_limit_exceeded',
        },
      };
    case 500:
      return {
        error: {
          message: 'The server had an error while processing your request. Sorry about that!',
          type: 'server_error',
          param: null,
          code: null,
        },
      };
    default:
      return {
        error: {
          message: `Simulated HTTP ${status}`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      };
  }
}

/** What one chat answer consists of, before it is framed as JSON or SSE. */
export interface ChatAnswer {
  id: string;
  model: string;
  created: number;
  text: string | null;
  reasoning?: string;
  toolCall?: { id: string; name: string; arguments: string };
  finishReason: 'stop' | 'tool_calls';
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export function chatCompletion(answer: ChatAnswer): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: answer.text, refusal: null };
  if (answer.reasoning !== undefined) message.reasoning_content = answer.reasoning;
  if (answer.toolCall) {
    message.tool_calls = [
      {
        id: answer.toolCall.id,
        type: 'function',
        function: { name: answer.toolCall.name, arguments: answer.toolCall.arguments },
      },
    ];
  }
  return {
    id: answer.id,
    object: 'chat.completion',
    created: answer.created,
    model: answer.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: answer.finishReason }],
    usage: answer.usage,
    system_fingerprint: 'fp_byzerllm_test',
  };
}

/** The `data:` payloads of a streamed answer, in order, without the final `[DONE]`. */
export function chatCompletionChunks(answer: ChatAnswer, includeUsage: boolean): Record<string, unknown>[] {
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    id: answer.id,
    object: 'chat.completion.chunk',
    created: answer.created,
    model: answer.model,
    system_fingerprint: 'fp_byzerllm_test',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const chunks: Record<string, unknown>[] = [chunk({ role: 'assistant', content: '', refusal: null })];
  for (const piece of words(answer.reasoning ?? '')) chunks.push(chunk({ reasoning_content: piece }));
  for (const piece of words(answer.text ?? '')) chunks.push(chunk({ content: piece }));
  if (answer.toolCall) {
    const { id, name, arguments: argumentsText } = answer.toolCall;
    chunks.push(
      chunk({ tool_calls: [{ index: 0, id, type: 'function', function: { name, arguments: '' } }] }),
    );
    for (let start = 0; start < argumentsText.length; start += 8) {
      chunks.push(
        chunk({ tool_calls: [{ index: 0, function: { arguments: argumentsText.slice(start, start + 8) } }] }),
      );
    }
  }
  chunks.push(chunk({}, answer.finishReason));
  if (includeUsage) {
    chunks.push({
      id: answer.id,
      object: 'chat.completion.chunk',
      created: answer.created,
      model: answer.model,
      system_fingerprint: 'fp_byzerllm_test',
      choices: [],
      usage: answer.usage,
    });
  }
  return chunks;
}

/** `"echo: a b"` → `["echo:", " a", " b"]`: deltas that concatenate back to the text. */
function words(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** A deterministic unit vector of `dimensions` numbers for a text (FNV-1a per dimension). */
export function embeddingOf(text: string, dimensions: number): number[] {
  const vector: number[] = [];
  for (let dimension = 0; dimension < dimensions; dimension++) {
    let hash = 0x811c9dc5 ^ dimension;
    for (let position = 0; position < text.length; position++) {
      hash ^= text.charCodeAt(position);
      hash = Math.imul(hash, 0x01000193);
    }
    vector.push(((hash >>> 0) / 0xffffffff) * 2 - 1);
  }
  const norm = Math.hypot(...vector) || 1;
  // Round through float32 so the float and base64 encodings give the very same numbers.
  return vector.map((value) => Math.fround(value / norm));
}

/** Little-endian float32 bytes as base64: what OpenAI answers for `encoding_format: "base64"`. */
export function base64Floats(values: number[]): string {
  const bytes = Buffer.alloc(values.length * 4);
  for (const [position, value] of values.entries()) bytes.writeFloatLE(value, position * 4);
  return bytes.toString('base64');
}
