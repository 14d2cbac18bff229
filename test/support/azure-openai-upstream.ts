/**
 * A local server speaking Azure OpenAI's data-plane shape:
 * `POST /openai/deployments/{deployment}/chat/completions?api-version=…` (JSON, or SSE with
 * `stream: true`) and `/openai/deployments/{deployment}/embeddings?api-version=…`, authenticated by
 * an `api-key` header (Azure answers 401 without it, and 404 for another path or a missing
 * `api-version`). Bodies are OpenAI's shapes from `openai-upstream-answers.ts`
 * (`echo: <last user text>`); the chat answer's `model` is the deployment name.
 */
import {
  chatCompletion,
  chatCompletionChunks,
  contentText,
  countTokens,
  embeddingOf,
} from './openai-upstream-answers.js';
import { type StandInServer, sendJson, startStandInServer } from './stand-in-server.js';

export async function startAzureOpenAIUpstream(apiKey: string): Promise<StandInServer> {
  return startStandInServer(async (request, response) => {
    const match = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(request.path);
    if (request.headers['api-key'] !== apiKey) {
      return sendJson(response, 401, {
        error: { code: '401', message: 'Access denied due to invalid subscription key.' },
      });
    }
    if (!match || !request.query.get('api-version')) {
      return sendJson(response, 404, { error: { code: '404', message: 'Resource not found' } });
    }
    const deployment = decodeURIComponent(match[1] ?? '');
    if (match[2] === 'embeddings') {
      const input = (request.body as { input: string[] }).input;
      return sendJson(response, 200, {
        object: 'list',
        data: input.map((text, index) => ({ object: 'embedding', index, embedding: embeddingOf(text, 8) })),
        model: deployment,
        usage: { prompt_tokens: input.length, total_tokens: input.length },
      });
    }
    const body = request.body as { messages: { content: unknown }[]; stream?: boolean };
    const text = `echo: ${contentText(body.messages.at(-1)?.content)}`;
    const answer = {
      id: 'chatcmpl-azure',
      model: deployment,
      created: 0,
      text,
      finishReason: 'stop' as const,
      usage: { prompt_tokens: 1, completion_tokens: countTokens(text), total_tokens: 1 + countTokens(text) },
    };
    if (body.stream !== true) return sendJson(response, 200, chatCompletion(answer));
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const chunk of chatCompletionChunks(answer, true))
      response.write(`data: ${JSON.stringify(chunk)}\n\n`);
    response.end('data: [DONE]\n\n');
  });
}
