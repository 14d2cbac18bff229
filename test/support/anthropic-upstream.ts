/**
 * A local server speaking the Anthropic Messages API (`POST /v1/messages`) as documented:
 * `x-api-key` (or the SDK's `Authorization: Bearer`) and `anthropic-version` headers, the request
 * body checked the way the API checks it (`model`, `max_tokens`, `messages` with only `user` /
 * `assistant` roles and typed content blocks; `system` at the top level), answers as a `message`
 * object or as SSE with `event:` names (`message_start`, `content_block_start`, `ping`,
 * `content_block_delta`, `content_block_stop`, `message_delta`, `message_stop`), and errors as
 * `{type:"error", error:{type, message}}` with the documented statuses (429 `rate_limit_error`,
 * 529 `overloaded_error`).
 *
 * Answers and knobs follow `openai-upstream-answers.ts`: `echo: <last user text>`, `fail:NNN`,
 * `delay:MS`, `chunk-delay:MS`, `tool:NAME` (a `tool_use` block), `reason:` (a `thinking` block),
 * `cut:`, and `overload-mid-stream:` (an `overloaded_error` event after the first text delta).
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { countTokens, parseKnobs } from './openai-upstream-answers.js';
import {
  type StandInContext,
  type StandInRequest,
  type StandInServer,
  sendJson,
  startStandInServer,
  writeThenCut,
} from './stand-in-server.js';

export interface AnthropicUpstream extends StandInServer {
  /** Base URL to configure (`saas.base_url`), without `/v1`, as the SDK takes it. */
  url: string;
  apiKey: string;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export async function startAnthropicUpstream(apiKey = 'sk-ant-test'): Promise<AnthropicUpstream> {
  let sequence = 0;
  const server = await startStandInServer(async (request, response, context) => {
    if (request.method !== 'POST' || request.path !== '/v1/messages') {
      return sendError(response, 404, `Not found: ${request.method} ${request.path}`);
    }
    const presented =
      (request.headers['x-api-key'] as string | undefined) ??
      request.headers.authorization?.replace(/^Bearer /, '');
    if (presented !== apiKey) return sendError(response, 401, 'invalid x-api-key');
    if (typeof request.headers['anthropic-version'] !== 'string') {
      return sendError(response, 400, 'anthropic-version: header is required');
    }
    const problem = checkBody(request.body);
    if (problem) return sendError(response, 400, problem);
    const body = request.body as MessagesBody;
    const lastUser = [...body.messages].reverse().find((message) => message.role === 'user');
    const text = lastUser ? blockText(lastUser.content) : '';
    const knobs = parseKnobs(text);
    if (knobs.delayMs) await sleep(knobs.delayMs, undefined, { signal: context.signal });
    if (knobs.failStatus) {
      const headers: Record<string, string> = knobs.failStatus === 429 ? { 'retry-after': '0' } : {};
      return sendError(response, knobs.failStatus, `Simulated HTTP ${knobs.failStatus}`, headers);
    }
    sequence++;
    const answer = {
      id: `msg_${String(sequence).padStart(6, '0')}`,
      model: body.model,
      text: `echo: ${text}`,
      thinking: knobs.reasoning ? `thinking about: ${text}` : undefined,
      toolUse: knobs.toolName
        ? { id: `toolu_${sequence}`, name: knobs.toolName, input: { text } }
        : undefined,
      inputTokens: body.messages.reduce((sum, message) => sum + countTokens(blockText(message.content)), 0),
    };
    if (body.stream === true) return stream(response, answer, knobs, context);
    const content: unknown[] = [];
    if (answer.thinking) content.push({ type: 'thinking', thinking: answer.thinking, signature: 'sig' });
    content.push({ type: 'text', text: answer.text });
    if (answer.toolUse) content.push({ type: 'tool_use', ...answer.toolUse });
    sendJson(
      response,
      200,
      {
        id: answer.id,
        type: 'message',
        role: 'assistant',
        model: answer.model,
        content,
        stop_reason: answer.toolUse ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: answer.inputTokens, output_tokens: countTokens(answer.text) },
      },
      { 'request-id': `req_${answer.id}` },
    );
  });
  return { ...server, url: server.origin, apiKey };
}

interface MessagesBody {
  model: string;
  max_tokens: number;
  stream?: boolean;
  messages: { role: 'user' | 'assistant'; content: string | Record<string, unknown>[] }[];
}

interface Answer {
  id: string;
  model: string;
  text: string;
  thinking: string | undefined;
  toolUse: { id: string; name: string; input: Record<string, unknown> } | undefined;
  inputTokens: number;
}

const BLOCK_TYPES = new Set(['text', 'image', 'tool_use', 'tool_result', 'thinking', 'document']);

/** The checks the real API makes that a wrong client would trip. */
function checkBody(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return 'body: expected a JSON object';
  const candidate = body as Record<string, unknown>;
  if (typeof candidate.model !== 'string') return 'model: Field required';
  if (!Number.isInteger(candidate.max_tokens)) return 'max_tokens: Field required';
  if (
    candidate.system !== undefined &&
    typeof candidate.system !== 'string' &&
    !Array.isArray(candidate.system)
  )
    return 'system: Input should be a valid string or list';
  for (const key of ['temperature', 'top_p', 'top_k', 'stop_sequences', 'tools', 'tool_choice']) {
    if (key in candidate && candidate[key] === null) return `${key}: Input should not be null`;
  }
  const known = new Set([
    'model',
    'max_tokens',
    'messages',
    'system',
    'stream',
    'temperature',
    'top_p',
    'top_k',
    'stop_sequences',
    'tools',
    'tool_choice',
    'metadata',
    'thinking',
  ]);
  for (const key of Object.keys(candidate))
    if (!known.has(key)) return `${key}: Extra inputs are not permitted`;
  if (!Array.isArray(candidate.messages) || candidate.messages.length === 0)
    return 'messages: at least one message is required';
  for (const [index, message] of candidate.messages.entries()) {
    const role = (message as { role?: unknown }).role;
    if (role !== 'user' && role !== 'assistant')
      return `messages.${index}.role: Input should be 'user' or 'assistant'`;
    const content = (message as { content?: unknown }).content;
    if (typeof content === 'string') continue;
    if (!Array.isArray(content)) return `messages.${index}.content: Input should be a valid list`;
    for (const block of content as Record<string, unknown>[]) {
      if (!BLOCK_TYPES.has(String(block.type)))
        return `messages.${index}.content: unknown block type ${String(block.type)}`;
      if (block.type === 'image') {
        const source = block.source as Record<string, unknown> | undefined;
        const valid =
          (source?.type === 'base64' &&
            typeof source.media_type === 'string' &&
            typeof source.data === 'string') ||
          (source?.type === 'url' && typeof source.url === 'string');
        if (!valid) return `messages.${index}.content: invalid image source`;
      }
    }
  }
  const last = candidate.messages.at(-1) as { role: string; content: unknown };
  if (last.role === 'assistant' && typeof last.content === 'string' && /\s$/.test(last.content))
    return 'messages: final assistant content cannot end with trailing whitespace';
  return undefined;
}

function blockText(content: string | Record<string, unknown>[]): string {
  if (typeof content === 'string') return content;
  return content
    .filter((block) => block.type === 'text' && typeof block.text === 'string')
    .map((block) => block.text as string)
    .join(' ');
}

async function stream(
  response: ServerResponse,
  answer: Answer,
  knobs: ReturnType<typeof parseKnobs>,
  context: StandInContext,
): Promise<void> {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': `req_${answer.id}`,
  });
  const frames: [string, unknown][] = [];
  frames.push([
    'message_start',
    {
      type: 'message_start',
      message: {
        id: answer.id,
        type: 'message',
        role: 'assistant',
        model: answer.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: answer.inputTokens, output_tokens: 1 },
      },
    },
  ]);
  let index = 0;
  if (answer.thinking) {
    frames.push([
      'content_block_start',
      { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '' } },
    ]);
    frames.push([
      'content_block_delta',
      { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: answer.thinking } },
    ]);
    frames.push(['content_block_stop', { type: 'content_block_stop', index }]);
    index++;
  }
  frames.push([
    'content_block_start',
    { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
  ]);
  frames.push(['ping', { type: 'ping' }]);
  for (const piece of answer.text.match(/\S+\s*/g) ?? []) {
    frames.push([
      'content_block_delta',
      { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } },
    ]);
  }
  frames.push(['content_block_stop', { type: 'content_block_stop', index }]);
  if (answer.toolUse) {
    index++;
    const json = JSON.stringify(answer.toolUse.input);
    const half = Math.floor(json.length / 2);
    frames.push([
      'content_block_start',
      {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: answer.toolUse.id, name: answer.toolUse.name, input: {} },
      },
    ]);
    frames.push([
      'content_block_delta',
      {
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: json.slice(0, half) },
      },
    ]);
    frames.push([
      'content_block_delta',
      {
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: json.slice(half) },
      },
    ]);
    frames.push(['content_block_stop', { type: 'content_block_stop', index }]);
  }
  frames.push([
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: answer.toolUse ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: countTokens(answer.text) },
    },
  ]);
  frames.push(['message_stop', { type: 'message_stop' }]);
  let textDeltas = 0;
  for (const [event, data] of frames) {
    if (knobs.chunkDelayMs) await sleep(knobs.chunkDelayMs, undefined, { signal: context.signal });
    if (context.signal.aborted) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    const isText = (data as { delta?: { type?: string } }).delta?.type === 'text_delta';
    if (knobs.cut && isText && ++textDeltas === 1) return writeThenCut(response, frame, context);
    response.write(frame);
    if (isText && /(?:^|\s)overload-mid-stream:/.test(answer.text)) {
      // The documented mid-stream failure: an `error` event after a 200 has started.
      const error = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
      return void response.end(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
    }
  }
  response.end();
}

function sendError(
  response: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(
    response,
    status,
    { type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message } },
    headers,
  );
}

export type { StandInRequest };
