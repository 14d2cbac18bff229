/**
 * A local server speaking the Amazon Bedrock runtime API as documented:
 * `POST /model/{modelId}/invoke` and `/model/{modelId}/invoke-with-response-stream` over HTTP/1.1,
 * every request's AWS Signature Version 4 recomputed here from the raw request and the known
 * secret (service `bedrock`, the configured region) and refused with `InvalidSignatureException`
 * (403) on any mismatch; streams framed in the AWS event-stream binary encoding (prelude, CRC32s,
 * typed headers; `chunk` events whose payload is `{"bytes": base64(model JSON)}`); errors with the
 * `x-amzn-errortype` header and a `{"message"}` body.
 *
 * Model families: `anthropic.*` answers the Anthropic Messages shapes (stream chunks are the SSE
 * events' JSON), `meta.llama*` the Llama `{generation, …}` shapes. Knobs as in
 * `openai-upstream-answers.ts` (`fail:NNN`, `delay:MS`, `chunk-delay:MS`, `cut:`, `tool:NAME`), and `throttle-mid-stream:`
 * (a `throttlingException` event after the first text chunk).
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeEvent, verifySignature } from './aws-protocol.js';
import { countTokens, parseKnobs } from './openai-upstream-answers.js';
import { type StandInServer, startStandInServer, writeThenCut } from './stand-in-server.js';

export interface BedrockUpstream extends StandInServer {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const ERROR_NAMES: Record<number, string> = {
  400: 'ValidationException',
  401: 'UnrecognizedClientException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

export async function startBedrockUpstream(
  credentials = {
    accessKeyId: 'AKIATESTACCESSKEY01',
    secretAccessKey: 'bedrock-secret-key-0123456789',
    region: 'us-east-1',
  },
): Promise<BedrockUpstream> {
  let sequence = 0;
  const server = await startStandInServer(async (request, response, context) => {
    const match = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream)$/.exec(request.path);
    if (request.method !== 'POST' || !match)
      return sendError(response, 404, 'UnknownOperationException', 'not found');
    const signatureProblem = verifySignature(request, credentials);
    if (signatureProblem) return sendError(response, 403, signatureProblem.type, signatureProblem.message);
    const modelId = decodeURIComponent(match[1]!);
    const body = request.body as Record<string, unknown> | undefined;
    if (!body)
      return sendError(response, 400, 'ValidationException', 'Malformed input request: body is not JSON');
    const anthropic = /(^|\.)anthropic\./.test(modelId);
    const problem = anthropic ? checkAnthropicBody(body) : checkLlamaBody(body);
    if (problem)
      return sendError(response, 400, 'ValidationException', `Malformed input request: ${problem}`);
    const text = anthropic ? lastUserText(body) : lastLlamaUserText(String(body.prompt));
    const knobs = parseKnobs(text);
    if (knobs.delayMs) await sleep(knobs.delayMs, undefined, { signal: context.signal });
    if (knobs.failStatus) {
      const name = ERROR_NAMES[knobs.failStatus] ?? 'InternalServerException';
      return sendError(response, knobs.failStatus, name, `Simulated HTTP ${knobs.failStatus}`);
    }
    sequence++;
    const requestId = `bedrock-request-${sequence}`;
    const answer = `echo: ${text}`;
    const inputTokens = anthropic
      ? countTokens(JSON.stringify(body.messages))
      : countTokens(String(body.prompt));
    const outputTokens = countTokens(answer);
    const events = anthropic
      ? anthropicEvents(
          `msg_bdrk_${sequence}`,
          modelId,
          answer,
          inputTokens,
          outputTokens,
          knobs.toolName,
          text,
        )
      : llamaEvents(answer, inputTokens, outputTokens);
    if (match[2] === 'invoke') {
      const payload = anthropic
        ? anthropicMessage(
            `msg_bdrk_${sequence}`,
            modelId,
            answer,
            inputTokens,
            outputTokens,
            knobs.toolName,
            text,
          )
        : {
            generation: answer,
            prompt_token_count: inputTokens,
            generation_token_count: outputTokens,
            stop_reason: 'stop',
          };
      const json = JSON.stringify(payload);
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(json),
        'x-amzn-requestid': requestId,
        'x-amzn-bedrock-input-token-count': String(inputTokens),
        'x-amzn-bedrock-output-token-count': String(outputTokens),
      });
      return void response.end(json);
    }
    response.writeHead(200, {
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-requestid': requestId,
      'x-amzn-bedrock-content-type': 'application/json',
    });
    let textEvents = 0;
    for (const event of events) {
      if (knobs.chunkDelayMs) await sleep(knobs.chunkDelayMs, undefined, { signal: context.signal });
      if (context.signal.aborted) return;
      const frame = encodeEvent(
        { ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' },
        JSON.stringify({ bytes: Buffer.from(JSON.stringify(event)).toString('base64') }),
      );
      const isText =
        (event as { delta?: { type?: string } }).delta?.type === 'text_delta' ||
        (typeof (event as { generation?: unknown }).generation === 'string' &&
          !(event as { stop_reason?: unknown }).stop_reason);
      if (knobs.cut && isText && ++textEvents === 1) return writeThenCut(response, frame, context);
      response.write(frame);
      if (isText && /(?:^|\s)throttle-mid-stream:/.test(text)) {
        // A modelled exception inside the stream: `:message-type: exception`.
        const exception = encodeEvent(
          {
            ':exception-type': 'throttlingException',
            ':content-type': 'application/json',
            ':message-type': 'exception',
          },
          JSON.stringify({ message: 'Too many tokens, please wait before trying again.' }),
        );
        return void response.end(exception);
      }
    }
    response.end();
  });
  return { ...server, url: server.origin, ...credentials };
}

function checkAnthropicBody(body: Record<string, unknown>): string | undefined {
  if (body.anthropic_version !== 'bedrock-2023-05-31')
    return `anthropic_version must be bedrock-2023-05-31, got ${String(body.anthropic_version)}`;
  if ('model' in body) return 'extraneous key [model] is not permitted';
  if ('stream' in body) return 'extraneous key [stream] is not permitted';
  if (!Number.isInteger(body.max_tokens)) return 'required key [max_tokens] not found';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'required key [messages] not found';
  for (const message of body.messages as { role?: string }[]) {
    if (message.role !== 'user' && message.role !== 'assistant')
      return `messages: role must be user or assistant, got ${message.role}`;
  }
  return undefined;
}

function checkLlamaBody(body: Record<string, unknown>): string | undefined {
  if (typeof body.prompt !== 'string') return 'required key [prompt] not found';
  // Bedrock's limit for every Meta Llama model.
  if (typeof body.max_gen_len === 'number' && body.max_gen_len > 2048)
    return `max_gen_len: ${body.max_gen_len} is not less or equal to 2048`;
  for (const key of Object.keys(body)) {
    if (!['prompt', 'max_gen_len', 'temperature', 'top_p', 'images'].includes(key))
      return `extraneous key [${key}] is not permitted`;
  }
  return undefined;
}

function lastUserText(body: Record<string, unknown>): string {
  const messages = body.messages as { role: string; content: string | { type: string; text?: string }[] }[];
  const last = [...messages].reverse().find((message) => message.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return last.content
    .filter((block) => block.type === 'text')
    .map((block) => block.text ?? '')
    .join(' ');
}

function lastLlamaUserText(prompt: string): string {
  const llama3 = [
    ...prompt.matchAll(/<\|start_header_id\|>user<\|end_header_id\|>\n\n([\s\S]*?)<\|eot_id\|>/g),
  ].at(-1)?.[1];
  if (llama3 !== undefined) return llama3;
  return (
    [...prompt.matchAll(/\[INST\] (?:<<SYS>>[\s\S]*?<<\/SYS>>\n\n)?([\s\S]*?) \[\/INST\]/g)].at(-1)?.[1] ?? ''
  );
}

function anthropicMessage(
  id: string,
  model: string,
  answer: string,
  inputTokens: number,
  outputTokens: number,
  tool: string | undefined,
  text: string,
) {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: [
      { type: 'text', text: answer },
      ...(tool ? [{ type: 'tool_use', id: `toolu_${id}`, name: tool, input: { text } }] : []),
    ],
    stop_reason: tool ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: inputTokens, output_tokens: outputTokens },
  };
}

function anthropicEvents(
  id: string,
  model: string,
  answer: string,
  inputTokens: number,
  outputTokens: number,
  tool: string | undefined,
  text: string,
): unknown[] {
  const events: unknown[] = [
    {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        usage: { input_tokens: inputTokens, output_tokens: 1 },
      },
    },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ...(answer.match(/\S+\s*/g) ?? []).map((piece) => ({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: piece },
    })),
    { type: 'content_block_stop', index: 0 },
  ];
  if (tool) {
    events.push(
      {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: `toolu_${id}`, name: tool, input: {} },
      },
      {
        type: 'content_block_delta',
        index: 1,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify({ text }) },
      },
      { type: 'content_block_stop', index: 1 },
    );
  }
  events.push(
    {
      type: 'message_delta',
      delta: { stop_reason: tool ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: outputTokens },
    },
    {
      type: 'message_stop',
      'amazon-bedrock-invocationMetrics': { inputTokenCount: inputTokens, outputTokenCount: outputTokens },
    },
  );
  return events;
}

function llamaEvents(answer: string, inputTokens: number, outputTokens: number): unknown[] {
  const pieces = answer.match(/\S+\s*/g) ?? [];
  return pieces.map((piece, index) => {
    const last = index === pieces.length - 1;
    return {
      generation: piece,
      prompt_token_count: index === 0 ? inputTokens : null,
      generation_token_count: index + 1,
      stop_reason: last ? 'stop' : null,
      ...(last
        ? {
            'amazon-bedrock-invocationMetrics': {
              inputTokenCount: inputTokens,
              outputTokenCount: outputTokens,
            },
          }
        : {}),
    };
  });
}

function sendError(response: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ message });
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    ...(status === 429 ? { 'retry-after': '0' } : {}),
  });
  response.end(body);
}
