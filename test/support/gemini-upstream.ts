/**
 * A local server speaking the Gemini API as documented: `POST /v1beta/models/{model}:generateContent`,
 * `:streamGenerateContent?alt=sse` (SSE events separated by CRLF, each a whole
 * `GenerateContentResponse`), `:batchEmbedContents`; the key in `x-goog-api-key` (or `?key=`), a
 * wrong key answered as Google does (HTTP 400, `INVALID_ARGUMENT`, reason `API_KEY_INVALID`);
 * bodies checked for the fields a wrong client would get wrong (`contents[].role` is `user` or
 * `model`, parts are typed, `generationConfig` uses camelCase names); errors as
 * `{error:{code, message, status}}`.
 *
 * Answers and knobs follow `openai-upstream-answers.ts`: `echo: <last user text>`, `fail:NNN`,
 * `delay:MS`, `chunk-delay:MS`, `tool:NAME` (a `functionCall` part), `reason:` (a thought part), `cut:`.
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { countTokens, embeddingOf, parseKnobs } from './openai-upstream-answers.js';
import { type StandInServer, sendJson, startStandInServer, writeThenCut } from './stand-in-server.js';

export interface GeminiUpstream extends StandInServer {
  /** Base URL to configure (`saas.base_url`), without the API version. */
  url: string;
  apiKey: string;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const GENERATION_CONFIG_KEYS = new Set([
  'maxOutputTokens',
  'temperature',
  'topP',
  'topK',
  'stopSequences',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'candidateCount',
  'thinkingConfig',
]);

export async function startGeminiUpstream(apiKey = 'gemini-test-key'): Promise<GeminiUpstream> {
  let sequence = 0;
  const server = await startStandInServer(async (request, response, context) => {
    const match =
      /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(
        request.path,
      );
    if (request.method !== 'POST' || !match) return sendError(response, 404, `Not found: ${request.path}`);
    const presented = (request.headers['x-goog-api-key'] as string | undefined) ?? request.query.get('key');
    if (presented !== apiKey) {
      return sendJson(response, 400, {
        error: {
          code: 400,
          message: 'API key not valid. Please pass a valid API key.',
          status: 'INVALID_ARGUMENT',
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
        },
      });
    }
    const model = decodeURIComponent(match[1]!);
    const method = match[2]!;
    const body = request.body as Record<string, unknown> | undefined;
    if (method === 'batchEmbedContents') {
      const requests = (body?.requests ?? []) as {
        model?: string;
        content?: { parts?: { text?: string }[] };
      }[];
      if (!Array.isArray(requests) || requests.length === 0)
        return sendError(response, 400, 'requests: required');
      for (const entry of requests) {
        if (entry.model !== `models/${model}`)
          return sendError(
            response,
            400,
            `requests[].model must be models/${model}, got ${String(entry.model)}`,
          );
      }
      return sendJson(response, 200, {
        embeddings: requests.map((entry) => ({
          values: embeddingOf(entry.content?.parts?.[0]?.text ?? '', 8),
        })),
      });
    }
    if (method === 'streamGenerateContent' && request.query.get('alt') !== 'sse') {
      return sendError(response, 400, 'this stand-in only speaks alt=sse streaming');
    }
    const problem = checkBody(body);
    if (problem) return sendError(response, 400, problem);
    const contents = body!.contents as { role: string; parts: { text?: string }[] }[];
    const lastUser = [...contents]
      .reverse()
      .find(
        (content) => content.role === 'user' && content.parts.some((part) => typeof part.text === 'string'),
      );
    const text = (lastUser?.parts ?? [])
      .filter((part) => typeof part.text === 'string')
      .map((part) => part.text)
      .join(' ');
    const knobs = parseKnobs(text);
    if (knobs.delayMs) await sleep(knobs.delayMs, undefined, { signal: context.signal });
    if (knobs.failStatus) {
      return sendError(
        response,
        knobs.failStatus,
        `Simulated HTTP ${knobs.failStatus}`,
        knobs.failStatus === 429 ? { 'retry-after': '0' } : {},
      );
    }
    sequence++;
    const responseId = `gemini-response-${sequence}`;
    const answer = `echo: ${text}`;
    const promptTokenCount = contents.reduce(
      (sum, content) => sum + countTokens(content.parts.map((part) => part.text ?? '').join(' ')),
      0,
    );
    const usage = {
      promptTokenCount,
      candidatesTokenCount: countTokens(answer),
      totalTokenCount: promptTokenCount + countTokens(answer),
    };
    const thought = knobs.reasoning ? { text: `thinking about: ${text}`, thought: true } : undefined;
    const call = knobs.toolName ? { functionCall: { name: knobs.toolName, args: { text } } } : undefined;
    if (method === 'generateContent') {
      const parts = [...(thought ? [thought] : []), { text: answer }, ...(call ? [call] : [])];
      return sendJson(response, 200, {
        candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
        usageMetadata: usage,
        modelVersion: model,
        responseId,
      });
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const pieces = answer.match(/\S+\s*/g) ?? [];
    const chunks: Record<string, unknown>[] = [];
    if (thought) chunks.push({ candidates: [{ content: { role: 'model', parts: [thought] }, index: 0 }] });
    pieces.forEach((piece, index) => {
      const last = index === pieces.length - 1;
      const parts: unknown[] = [{ text: piece }];
      if (last && call) parts.push(call);
      chunks.push({
        candidates: [
          { content: { role: 'model', parts }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) },
        ],
        usageMetadata: last ? usage : { promptTokenCount },
      });
    });
    let textChunks = 0;
    for (const chunk of chunks) {
      if (knobs.chunkDelayMs) await sleep(knobs.chunkDelayMs, undefined, { signal: context.signal });
      if (context.signal.aborted) return;
      const frame = `data: ${JSON.stringify({ ...chunk, modelVersion: model, responseId })}\r\n\r\n`;
      if (knobs.cut && ++textChunks === 1) return writeThenCut(response, frame, context);
      response.write(frame);
    }
    response.end();
  });
  return { ...server, url: server.origin, apiKey };
}

function checkBody(body: Record<string, unknown> | undefined): string | undefined {
  if (!body) return 'body: expected a JSON object';
  for (const key of Object.keys(body)) {
    if (
      ![
        'contents',
        'systemInstruction',
        'generationConfig',
        'tools',
        'toolConfig',
        'safetySettings',
      ].includes(key)
    )
      return `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`;
  }
  if (!Array.isArray(body.contents) || body.contents.length === 0) return 'contents is not specified';
  for (const content of body.contents as Record<string, unknown>[]) {
    if (content.role !== 'user' && content.role !== 'model')
      return `Please use a valid role: user, model. Got ${String(content.role)}`;
    if (!Array.isArray(content.parts) || content.parts.length === 0)
      return 'contents.parts must not be empty';
    for (const part of content.parts as Record<string, unknown>[]) {
      const kinds = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse'].filter(
        (kind) => kind in part,
      );
      if (kinds.length !== 1)
        return `a part must have exactly one data field, got ${Object.keys(part).join(',')}`;
    }
  }
  for (const key of Object.keys((body.generationConfig ?? {}) as object)) {
    if (!GENERATION_CONFIG_KEYS.has(key))
      return `Invalid JSON payload received. Unknown name "${key}" at 'generation_config': Cannot find field.`;
  }
  return undefined;
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
    { error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN' } },
    headers,
  );
}
