/**
 * A local server speaking Azure OpenAI's data-plane shape: `POST
 * /openai/deployments/{deployment}/chat/completions?api-version=…` with an `api-key` header
 * (Azure answers 401 without it and 404 for a path or missing `api-version`), answering in OpenAI's
 * chat-completion shape (`openai-upstream-answers.ts`: `echo: <last user text>`). Non-streaming
 * only: the streaming path is the OpenAI engine's, covered by its own tests.
 */
import { chatCompletion, contentText, countTokens } from './openai-upstream-answers.js';
import { type StandInServer, sendJson, startStandInServer } from './stand-in-server.js';

export async function startAzureOpenAIUpstream(apiKey: string): Promise<StandInServer> {
  return startStandInServer(async (request, response) => {
    const match = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/.exec(request.path);
    if (request.headers['api-key'] !== apiKey) {
      return sendJson(response, 401, {
        error: { code: '401', message: 'Access denied due to invalid subscription key.' },
      });
    }
    if (!match || !request.query.get('api-version')) {
      return sendJson(response, 404, { error: { code: '404', message: 'Resource not found' } });
    }
    const body = request.body as { messages: { content: unknown }[] };
    const text = `echo: ${contentText(body.messages.at(-1)?.content)}`;
    sendJson(
      response,
      200,
      chatCompletion({
        id: 'chatcmpl-azure',
        model: decodeURIComponent(match[1] ?? ''),
        created: 0,
        text,
        finishReason: 'stop',
        usage: {
          prompt_tokens: 1,
          completion_tokens: countTokens(text),
          total_tokens: 1 + countTokens(text),
        },
      }),
    );
  });
}
