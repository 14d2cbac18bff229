/**
 * A local stand-in for MiniMax `POST /v1/text/chatcompletion_pro?GroupId=G`, as documented:
 * `Authorization: Bearer <key>`, body `{model, messages: [{sender_type, sender_name, text}],
 * bot_setting: [{bot_name, content}], reply_constraints: {sender_type: "BOT", sender_name}, stream?}`.
 *
 * Answers `{id, created, model, reply, choices: [{finish_reason, messages}], usage: {total_tokens},
 * input_sensitive, output_sensitive, base_resp: {status_code: 0, status_msg: ""}}`; streams are
 * SSE `data:` chunks with deltas, then a last chunk repeating the whole reply with `finish_reason`,
 * `usage` and `base_resp`. Failures are HTTP 200 JSON with a non-zero `base_resp.status_code`:
 * 1004 for a wrong key or missing GroupId, 2013 for a malformed body, and for the `fail:` knob
 * 401 → 1004, 429 → 1002, 500 → 1013, 400 → 2013.
 */
import {
  countWords,
  planEcho,
  type ProtocolServer,
  sendJson,
  startProtocolServer,
  waitPlanDelay,
  writeFrames,
} from './protocol-server.js';

const KNOB_CODES: Record<number, { status_code: number; status_msg: string }> = {
  400: { status_code: 2013, status_msg: 'invalid params' },
  401: { status_code: 1004, status_msg: 'login fail: Please carefully check the authorization header' },
  429: { status_code: 1002, status_msg: 'rate limit exceeded(RPM)' },
  500: { status_code: 1013, status_msg: 'internal service error' },
};

export interface MiniMaxUpstream extends ProtocolServer {
  /** Answers the next requests with these `base_resp.status_code`s, one each, before normal answers. */
  failNext(...codes: number[]): void;
}

export async function startMiniMaxUpstream(apiKey: string, groupId: string): Promise<MiniMaxUpstream> {
  let sequence = 0;
  const queued: number[] = [];
  const server = await startProtocolServer(async (exchange) => {
    const { request, response } = exchange;
    const fail = (base_resp: { status_code: number; status_msg: string }) =>
      sendJson(response, 200, { base_resp });
    if (request.method !== 'POST' || request.path !== '/v1/text/chatcompletion_pro') {
      return sendJson(response, 404, { base_resp: { status_code: 1000, status_msg: 'not found' } });
    }
    if (request.headers.authorization !== `Bearer ${apiKey}` || request.query.get('GroupId') !== groupId) {
      return fail(KNOB_CODES[401] as { status_code: number; status_msg: string });
    }
    const queuedCode = queued.shift();
    if (queuedCode !== undefined)
      return fail({ status_code: queuedCode, status_msg: `queued failure ${queuedCode}` });
    const body = (request.body ?? {}) as Record<string, unknown>;
    const messages = body.messages as
      | { sender_type?: unknown; sender_name?: unknown; text?: unknown }[]
      | undefined;
    const botSetting = body.bot_setting as { bot_name?: unknown; content?: unknown }[] | undefined;
    const constraints = body.reply_constraints as
      | { sender_type?: unknown; sender_name?: unknown }
      | undefined;
    const wellFormed =
      typeof body.model === 'string' &&
      Array.isArray(messages) &&
      messages.every(
        (message) =>
          (message.sender_type === 'USER' || message.sender_type === 'BOT') &&
          typeof message.sender_name === 'string' &&
          typeof message.text === 'string',
      ) &&
      Array.isArray(botSetting) &&
      botSetting.length > 0 &&
      constraints?.sender_type === 'BOT' &&
      botSetting.some((bot) => bot.bot_name === constraints.sender_name && typeof bot.content === 'string');
    if (!wellFormed || !messages) return fail(KNOB_CODES[400] as { status_code: number; status_msg: string });
    const userText = String(
      [...messages].reverse().find((message) => message.sender_type === 'USER')?.text ?? '',
    );
    const plan = planEcho(userText);
    await waitPlanDelay(plan, exchange.signal);
    if (plan.failStatus)
      return fail(
        KNOB_CODES[plan.failStatus] ?? (KNOB_CODES[500] as { status_code: number; status_msg: string }),
      );
    const botName = String(constraints?.sender_name);
    const total =
      messages.reduce((sum, message) => sum + countWords(String(message.text)), 0) + plan.outputTokens;
    const base = {
      id: `minimax-${++sequence}`,
      created: 1_700_000_000,
      model: body.model,
      input_sensitive: false,
      output_sensitive: false,
    };
    const final = {
      ...base,
      reply: plan.text,
      choices: [
        { finish_reason: 'stop', messages: [{ sender_type: 'BOT', sender_name: botName, text: plan.text }] },
      ],
      usage: { total_tokens: total },
      base_resp: { status_code: 0, status_msg: '' },
    };
    if (body.stream !== true) return sendJson(response, 200, final);
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const frames = plan.deltas.map((delta) => ({
      text: `data: ${JSON.stringify({ ...base, reply: '', choices: [{ messages: [{ sender_type: 'BOT', sender_name: botName, text: delta }] }] })}\n\n`,
      carriesText: true,
    }));
    frames.push({ text: `data: ${JSON.stringify(final)}\n\n`, carriesText: false });
    await writeFrames(exchange, frames, plan);
  });
  return Object.assign(server, {
    failNext(...codes: number[]) {
      queued.push(...codes);
    },
  });
}
