/**
 * `POST /v1/chat/completions` on the OpenAI pass-through (`OpenAIPassThroughV1`): for deployments
 * whose engine speaks OpenAI itself and runs in this process (`ClusterApi.openAIPassThrough`).
 *
 * The body is validated once (the same zod schema and checks as the general path) and goes to the
 * engine as OpenAI JSON, normalised to what the general path would send (a `ChatRequest` round trip
 * is what it replaces); the upstream's answer comes back with the deployment's name as `model`. A
 * stream's chunks are the upstream's own texts: no `StreamPart` per chunk, no parsing or
 * re-serialising, only `model` replaced in the text. Errors, usage metrics, the cancel signal and the time to first token are the same
 * as on the general path (`stream.ts`).
 */
import type { ClusterCallOptions } from '../cluster/index.js';
import {
  jsonKeyPattern,
  type OpenAIChatObject,
  type OpenAIChunkText,
  type OpenAIPassThroughV1,
  setTopLevelString,
  toByzerLLMError,
} from '../core/index.js';
import type { ChatBody } from './chat-request.js';
import { SSE_DONE } from './chat-response.js';
import type { Exchange } from './exchange.js';
import { sendJson } from './http.js';
import { badField, mapError } from './map-error.js';
import { drained, SSE_HEADERS } from './stream.js';

/**
 * The validated body as the upstream gets it; throws 400s for what `toChatRequest` rejects. Fields
 * the general path does not send are removed (`n`, `top_k`, nulls, `reasoning_content` of earlier
 * answers), `extra_body` is merged in, `stop` is a list and `developer` is `system`.
 */
export function toPassThroughBody(body: ChatBody): Record<string, unknown> {
  const upstream: Record<string, unknown> = body;
  for (const key in upstream) {
    if (upstream[key] === null) delete upstream[key];
  }
  delete upstream.n;
  delete upstream.top_k;
  if (typeof body.stop === 'string') upstream.stop = [body.stop];
  else if (body.stop?.length === 0) delete upstream.stop;
  // OpenAI rejects an empty tools list; the general path sends none.
  if (body.tools?.length === 0) delete upstream.tools;
  for (let index = 0; index < body.messages.length; index++) {
    normaliseMessage(body.messages[index]!, index, index === body.messages.length - 1);
  }
  if (body.tools) {
    for (const tool of body.tools) {
      tool.function.parameters ??= { type: 'object', properties: {} };
      if (tool.function.strict === null) delete tool.function.strict;
    }
  }
  if (body.response_format?.type === 'text') delete upstream.response_format;
  const extra = body.extra_body;
  if (extra) {
    delete upstream.extra_body;
    for (const key in extra) {
      if (extra[key] !== undefined && key !== 'stream') upstream[key] = extra[key];
    }
  }
  return upstream;
}

type Message = ChatBody['messages'][number];

function normaliseMessage(message: Message, index: number, isLast: boolean): void {
  const record: Record<string, unknown> = message;
  switch (message.role) {
    case 'developer':
    case 'system':
      record.role = 'system';
      record.content = joinText(message.content);
      return;
    case 'user':
      if (typeof message.content !== 'string') {
        for (let partIndex = 0; partIndex < message.content.length; partIndex++) {
          const part = message.content[partIndex]!;
          if (part.type !== 'image_url') continue;
          if (typeof part.image_url === 'string') part.image_url = { url: part.image_url };
          checkImageUrl(part.image_url.url, index, partIndex);
        }
      }
      return;
    case 'assistant': {
      delete record.reasoning_content;
      const hasToolCalls = (message.tool_calls?.length ?? 0) > 0;
      const text = joinText(message.content);
      record.content = hasToolCalls && text === '' ? null : text;
      if (!hasToolCalls) delete record.tool_calls;
      else for (const call of message.tool_calls ?? []) call.type = 'function';
      if (message.prefix) {
        if (!isLast) throw badField(`messages[${index}].prefix`, 'prefix is only valid on the last message');
      } else delete record.prefix;
      return;
    }
    case 'tool':
      record.content = joinText(message.content);
      return;
  }
}

function joinText(content: string | { text: string }[] | null | undefined): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

function checkImageUrl(url: string, messageIndex: number, partIndex: number): void {
  if (/^(https?:|data:image\/)/.test(url)) return;
  throw badField(
    `messages[${messageIndex}].content[${partIndex}].image_url.url`,
    `image_url.url must be an http(s) URL or a data:image/... URL, not ${JSON.stringify(url.slice(0, 40))}`,
  );
}

/** A non-stream chat completion through the pass-through. Returns the status to record. */
export async function passThroughCompletion(
  exchange: Exchange,
  passThrough: OpenAIPassThroughV1,
  body: Record<string, unknown>,
): Promise<number> {
  const completion = await passThrough.doGenerateOpenAI(body, passThroughOptions(exchange));
  completion.model = exchange.model;
  recordUsage(exchange, completion.usage);
  sendJson(exchange.response, 200, completion);
  return 200;
}

/**
 * A streamed chat completion through the pass-through: headers go out with the first chunk (an
 * error before it is a JSON error with its status), an error after it is a `data: {"error": …}`
 * event, then the answer ends, as `pumpStream` does for the general path.
 */
export async function passThroughStream(
  exchange: Exchange,
  passThrough: OpenAIPassThroughV1,
  body: Record<string, unknown>,
  /** Usage was asked of the upstream for the gate (virtual keys), not by the client: not shown. */
  hideUsage = false,
): Promise<number> {
  return pumpPassThroughChunks(
    exchange,
    await passThrough.doStreamOpenAI(body, passThroughOptions(exchange)),
    hideUsage,
  );
}

/** Answers an opened pass-through stream's chunks (a route opens its own, try by try). */
export async function pumpPassThroughChunks(
  exchange: Exchange,
  chunks: AsyncIterable<OpenAIChunkText[]>,
  hideUsage: boolean,
): Promise<number> {
  const { response } = exchange;
  const modelJson = JSON.stringify(exchange.model);
  let started = false;
  try {
    for await (const batch of chunks) {
      if (response.destroyed) return 499;
      if (!started) {
        response.writeHead(200, SSE_HEADERS);
        exchange.context.metrics.firstTokenAfter(
          exchange.model,
          (performance.now() - exchange.startedAt) / 1000,
        );
        started = true;
      }
      // One write per batch: what one read of the upstream brought goes out together.
      let frames = '';
      for (const chunk of batch) {
        const relabelled = relabel(exchange, chunk, modelJson, hideUsage);
        if (relabelled !== undefined) frames += `data: ${relabelled}\n\n`;
      }
      if (!response.write(frames)) await drained(response);
    }
  } catch (error) {
    if (!started) throw error;
    const mapped = mapError(toByzerLLMError(error));
    response.end(`data: ${JSON.stringify(mapped.body)}\n\n`);
    return mapped.status;
  }
  if (!started) response.writeHead(200, SSE_HEADERS);
  response.end(SSE_DONE);
  return 200;
}

const HAS_USAGE = jsonKeyPattern(['usage'], true);

/**
 * A chunk's text with the deployment as `model`, its usage recorded: a text edit, except for the
 * chunk that carries usage (once per stream, parsed for its counts) and any the edit cannot follow.
 * With `hideUsage` the usage-only chunk (no choices) is recorded and left out (undefined).
 */
function relabel(
  exchange: Exchange,
  chunk: OpenAIChunkText,
  modelJson: string,
  hideUsage: boolean,
): string | undefined {
  if (!HAS_USAGE.test(chunk)) {
    const relabelled = setTopLevelString(chunk, 'model', modelJson);
    if (relabelled !== undefined) return relabelled;
  }
  let parsed: OpenAIChatObject;
  try {
    parsed = JSON.parse(chunk) as OpenAIChatObject;
  } catch {
    // Not JSON inside its braces: forwarded as the upstream sent it (the engine's contract).
    return chunk;
  }
  parsed.model = exchange.model;
  recordUsage(exchange, parsed.usage);
  if (hideUsage) {
    if (Array.isArray(parsed.choices) && parsed.choices.length === 0) return undefined;
    delete parsed.usage;
  }
  return JSON.stringify(parsed);
}

/** The upstream's token counts for the metrics, when it sent them as OpenAI does. */
export function recordUsage(exchange: Exchange, usage: OpenAIChatObject[string]): void {
  if (typeof usage !== 'object' || usage === null) return;
  const counts = usage as { prompt_tokens?: unknown; completion_tokens?: unknown };
  if (typeof counts.prompt_tokens === 'number') exchange.inputTokens = counts.prompt_tokens;
  if (typeof counts.completion_tokens === 'number') exchange.outputTokens = counts.completion_tokens;
}

/**
 * A pass-through call's options: its cancel signal and the key's ticket, if any, which the head
 * checks when the call (a route's try, too) takes its worker slot: the deployment's own limits, a
 * seconds budget.
 */
export function passThroughOptions(exchange: Exchange, signal = exchange.signal): ClusterCallOptions {
  const options: ClusterCallOptions = { signal };
  if (exchange.ticket) options.ticket = exchange.ticket.id;
  return options;
}
