/**
 * A local stand-in for Alibaba DashScope's native API, as documented for HTTP callers:
 *
 * - `POST /api/v1/services/aigc/text-generation/generation` — `content` must be a string.
 * - `POST /api/v1/services/aigc/multimodal-generation/generation` — `content` must be a list of
 *   `{text}` / `{image}` items; answers `content: [{text}]`.
 * - `POST /api/v1/services/embeddings/text-embedding/text-embedding` — `{model, input: {texts}}`,
 *   at most 25 texts.
 *
 * Auth is `Authorization: Bearer <key>`; a wrong key gets 401 `{code: "InvalidApiKey", message,
 * request_id}`. A stream is answered only when the request carries `X-DashScope-SSE: enable`:
 * events `id:N`, `event:result`, `:HTTP_STATUS/200`, `data:{output, usage, request_id}` with
 * `finish_reason` `"null"` until the last; with `parameters.incremental_output` each event holds a
 * delta, otherwise the text so far. `result_format: "message"` answers `output.choices`, otherwise
 * `output.text`. Knobs as in `protocol-server.ts`.
 */
import { embeddingOf } from './openai-upstream-answers.js';
import {
  countWords,
  type Exchange,
  planEcho,
  type ProtocolServer,
  sendJson,
  startProtocolServer,
  waitPlanDelay,
  writeFrames,
} from './protocol-server.js';

export interface DashScopeUpstream extends ProtocolServer {
  apiKey: string;
}

const ERROR_CODES: Record<number, { code: string; message: string }> = {
  400: { code: 'InvalidParameter', message: 'Input should be a valid value' },
  401: { code: 'InvalidApiKey', message: 'Invalid API-key provided.' },
  404: { code: 'ModelNotFound', message: 'Model not exist.' },
  429: { code: 'Throttling.RateQuota', message: 'Requests rate limit exceeded, please try again later.' },
  500: { code: 'InternalError', message: 'An internal error has occured, please try again later.' },
};

export async function startDashScopeUpstream(apiKey = 'sk-dashscope-test'): Promise<DashScopeUpstream> {
  let sequence = 0;
  const server = await startProtocolServer(async (exchange) => {
    const { request, response } = exchange;
    const requestId = `dashscope-request-${++sequence}`;
    const fail = (status: number, message?: string) => {
      const error = ERROR_CODES[status] ?? { code: 'InternalError', message: `HTTP ${status}` };
      sendJson(response, status, {
        code: error.code,
        message: message ?? error.message,
        request_id: requestId,
      });
    };
    if (request.headers.authorization !== `Bearer ${apiKey}`) return fail(401);
    const body = request.body as Record<string, unknown> | undefined;
    if (request.method !== 'POST' || typeof body !== 'object' || body === null) return fail(400);
    if (typeof body.model !== 'string') return fail(400, 'Model not specified');
    const input = body.input as Record<string, unknown> | undefined;
    const parameters = (body.parameters ?? {}) as Record<string, unknown>;
    switch (request.path) {
      case '/api/v1/services/aigc/text-generation/generation':
        return generation(exchange, body.model, input, parameters, false, requestId, fail);
      case '/api/v1/services/aigc/multimodal-generation/generation':
        return generation(exchange, body.model, input, parameters, true, requestId, fail);
      case '/api/v1/services/embeddings/text-embedding/text-embedding': {
        const texts = input?.texts;
        if (!Array.isArray(texts) || texts.some((text) => typeof text !== 'string'))
          return fail(400, 'input.texts must be a list of strings');
        if (texts.length > 25) return fail(400, 'batch size is invalid, it should not be larger than 25.');
        return sendJson(response, 200, {
          output: {
            embeddings: texts.map((text, index) => ({ text_index: index, embedding: embeddingOf(text, 8) })),
          },
          usage: { total_tokens: texts.reduce((sum, text) => sum + countWords(text), 0) },
          request_id: requestId,
        });
      }
      default:
        return sendJson(response, 404, {
          code: 'NotFound',
          message: `Not found: ${request.path}`,
          request_id: requestId,
        });
    }
  });
  return Object.assign(server, { apiKey });
}

async function generation(
  exchange: Exchange,
  _model: string,
  input: Record<string, unknown> | undefined,
  parameters: Record<string, unknown>,
  multimodal: boolean,
  requestId: string,
  fail: (status: number, message?: string) => void,
): Promise<void> {
  const messages = input?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return fail(400, 'input.messages is required');
  let lastUserText = '';
  let promptTokens = 0;
  for (const message of messages as { role?: unknown; content?: unknown }[]) {
    let text: string;
    if (multimodal) {
      if (!Array.isArray(message.content)) return fail(400, 'multimodal content must be a list');
      text = (message.content as { text?: unknown }[])
        .map((item) => (typeof item.text === 'string' ? item.text : ''))
        .join(' ')
        .trim();
    } else {
      if (typeof message.content !== 'string') return fail(400, 'content must be a string');
      text = message.content;
    }
    promptTokens += countWords(text);
    if (message.role === 'user') lastUserText = text;
  }
  const plan = planEcho(lastUserText);
  await waitPlanDelay(plan, exchange.signal);
  if (plan.failStatus) return fail(plan.failStatus);
  const usage = (outputTokens: number) => ({
    input_tokens: promptTokens,
    output_tokens: outputTokens,
    total_tokens: promptTokens + outputTokens,
  });
  const output = (text: string, finishReason: string) =>
    parameters.result_format === 'message'
      ? {
          choices: [
            {
              finish_reason: finishReason,
              message: { role: 'assistant', content: multimodal ? [{ text }] : text },
            },
          ],
        }
      : { text, finish_reason: finishReason };
  if (exchange.request.headers['x-dashscope-sse'] !== 'enable') {
    return sendJson(exchange.response, 200, {
      output: output(plan.text, 'stop'),
      usage: usage(plan.outputTokens),
      request_id: requestId,
    });
  }
  exchange.response.writeHead(200, { 'content-type': 'text/event-stream;charset=UTF-8' });
  const incremental = parameters.incremental_output === true;
  let soFar = '';
  const frames = plan.deltas.map((delta, index) => {
    soFar += delta;
    const last = index === plan.deltas.length - 1;
    const data = {
      output: output(incremental ? delta : soFar, last ? 'stop' : 'null'),
      usage: usage(countWords(soFar)),
      request_id: requestId,
    };
    return {
      text: `id:${index + 1}\nevent:result\n:HTTP_STATUS/200\ndata:${JSON.stringify(data)}\n\n`,
      carriesText: true,
    };
  });
  await writeFrames(exchange, frames, plan);
}
