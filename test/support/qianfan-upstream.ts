/**
 * A local stand-in for Baidu Qianfan (ERNIE), as documented for HTTP callers:
 *
 * - `POST /oauth/2.0/token?grant_type=client_credentials&client_id=AK&client_secret=SK` → 200
 *   `{access_token, expires_in, …}`; wrong credentials → 401 `{error: "invalid_client",
 *   error_description}`.
 * - `POST /rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{endpoint}?access_token=T` with
 *   `{messages, system?, stream?, …}` → `{id, object, created, result, is_truncated,
 *   need_clear_history, finish_reason, usage}`; with `stream: true`, SSE `data: {…, result, is_end}`.
 * - `POST /rpc/2.0/ai_custom/v1/wenxinworkshop/embeddings/{endpoint}?access_token=T` with
 *   `{input: [≤16 texts]}`.
 *
 * Failures are HTTP 200 JSON `{error_code, error_msg}`: 110 for an unknown token, 111 for one
 * `expireTokens()` revoked, 336006 for a message list that does not alternate user/assistant with
 * an odd length, and for the `fail:` knob: 401 → 6, 429 → 18, 500 → 336100, 400 → 336003.
 */
import { embeddingOf } from './openai-upstream-answers.js';
import {
  countWords,
  planEcho,
  type ProtocolServer,
  sendJson,
  startProtocolServer,
  waitPlanDelay,
  writeFrames,
} from './protocol-server.js';

export interface QianfanUpstream extends ProtocolServer {
  /** Token exchanges answered so far. */
  exchanges(): number;
  /** Makes every token issued so far answer 111 (expired). */
  expireTokens(): void;
}

const KNOB_ERRORS: Record<number, { error_code: number; error_msg: string }> = {
  400: { error_code: 336003, error_msg: 'the parameter is invalid' },
  401: { error_code: 6, error_msg: 'No permission to access data' },
  429: { error_code: 18, error_msg: 'Open api qps request limit reached' },
  500: { error_code: 336100, error_msg: 'internal error' },
};

const CHAT_ENDPOINTS = new Set([
  'eb-instant',
  'completions',
  'completions_pro',
  'ernie_speed',
  'ernie-lite-8k',
]);

export async function startQianfanUpstream(apiKey: string, secretKey: string): Promise<QianfanUpstream> {
  const valid = new Set<string>();
  const expired = new Set<string>();
  let exchanges = 0;
  let sequence = 0;
  const server = await startProtocolServer(async (exchange) => {
    const { request, response } = exchange;
    const id = `as-qianfan-${++sequence}`;
    if (request.method !== 'POST')
      return sendJson(response, 200, { error_code: 3, error_msg: 'Unsupported openapi method' });
    if (request.path === '/oauth/2.0/token') {
      const query = request.query;
      if (query.get('grant_type') !== 'client_credentials') {
        return sendJson(response, 400, {
          error: 'unsupported_grant_type',
          error_description: 'unsupported grant type',
        });
      }
      if (query.get('client_id') !== apiKey || query.get('client_secret') !== secretKey) {
        return sendJson(response, 401, { error: 'invalid_client', error_description: 'unknown client id' });
      }
      exchanges++;
      const token = `24.qianfan-token-${exchanges}.2592000.1700000000`;
      valid.add(token);
      return sendJson(response, 200, {
        refresh_token: `25.refresh-${exchanges}`,
        expires_in: 2592000,
        session_key: 'session',
        access_token: token,
        scope: 'public brain_all_scope',
        session_secret: 'session-secret',
      });
    }
    const token = request.query.get('access_token') ?? '';
    if (expired.has(token))
      return sendJson(response, 200, { error_code: 111, error_msg: 'Access token expired' });
    if (!valid.has(token)) {
      return sendJson(response, 200, {
        error_code: 110,
        error_msg: 'Access token invalid or no longer valid',
      });
    }
    const body = (request.body ?? {}) as Record<string, unknown>;
    const chat = /^\/rpc\/2\.0\/ai_custom\/v1\/wenxinworkshop\/chat\/([\w.-]+)$/.exec(request.path);
    const embeddings = /^\/rpc\/2\.0\/ai_custom\/v1\/wenxinworkshop\/embeddings\/([\w.-]+)$/.exec(
      request.path,
    );
    if (embeddings) {
      const input = body.input;
      if (!Array.isArray(input) || input.length === 0 || input.length > 16) {
        return sendJson(response, 200, {
          error_code: 336003,
          error_msg: 'input must be a list of 1 to 16 texts',
        });
      }
      const tokens = input.reduce((sum: number, text) => sum + countWords(String(text)), 0);
      return sendJson(response, 200, {
        id,
        object: 'embedding_list',
        created: 1_700_000_000,
        data: input.map((text, index) => ({
          object: 'embedding',
          embedding: embeddingOf(String(text), 8),
          index,
        })),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    }
    if (!chat || !CHAT_ENDPOINTS.has(chat[1] ?? '')) {
      return sendJson(response, 200, { error_code: 3, error_msg: 'Unsupported openapi method' });
    }
    const messages = body.messages as { role?: unknown; content?: unknown }[] | undefined;
    const alternates =
      Array.isArray(messages) &&
      messages.length % 2 === 1 &&
      messages.every(
        (message, index) =>
          message.role === (index % 2 === 0 ? 'user' : 'assistant') && typeof message.content === 'string',
      );
    if (!alternates) {
      return sendJson(response, 200, {
        error_code: 336006,
        error_msg: 'the length of messages must be an odd number',
      });
    }
    const lastUser = String(messages.at(-1)?.content ?? '');
    const plan = planEcho(lastUser);
    await waitPlanDelay(plan, exchange.signal);
    if (plan.failStatus) return sendJson(response, 200, KNOB_ERRORS[plan.failStatus] ?? KNOB_ERRORS[500]);
    const promptTokens = messages.reduce((sum, message) => sum + countWords(String(message.content)), 0);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: plan.outputTokens,
      total_tokens: promptTokens + plan.outputTokens,
    };
    const base = {
      id,
      object: 'chat.completion',
      created: 1_700_000_000,
      is_truncated: false,
      need_clear_history: false,
    };
    if (body.stream !== true) {
      return sendJson(response, 200, { ...base, result: plan.text, finish_reason: 'normal', usage });
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const frames = plan.deltas.map((delta, index) => {
      const last = index === plan.deltas.length - 1;
      const data = {
        ...base,
        sentence_id: index,
        is_end: last,
        result: delta,
        finish_reason: 'normal',
        usage,
      };
      return { text: `data: ${JSON.stringify(data)}\n\n`, carriesText: true };
    });
    await writeFrames(exchange, frames, plan);
  });
  return Object.assign(server, {
    exchanges: () => exchanges,
    expireTokens() {
      for (const token of valid) expired.add(token);
      valid.clear();
    },
  });
}
