/**
 * The Playground's request as code to copy: curl against `byzerllm serve`'s OpenAI-compatible API,
 * and the byzerllm TypeScript client. Attached images are shortened to `data:image/…;base64,…` so
 * the snippet stays readable.
 */
import type { ChatInput } from './api.js';

type Message = ChatInput['messages'][number];

function shortUrl(url: string): string {
  return url.length > 64 ? `${url.slice(0, url.indexOf(',') + 1)}…` : url;
}

/** OpenAI's message shape: images as `image_url` parts. */
function openAIContent(message: Message): unknown {
  if (typeof message.content === 'string') return message.content;
  return message.content.map((part) =>
    part.type === 'text' ? part : { type: 'image_url', image_url: { url: shortUrl(part.url) } },
  );
}

export function curlSnippet(input: ChatInput): string {
  const body = {
    model: input.deployment,
    stream: true,
    messages: [
      ...(input.system ? [{ role: 'system', content: input.system }] : []),
      ...input.messages.map((message) => ({ role: message.role, content: openAIContent(message) })),
    ],
    ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
    ...(input.maxTokens === undefined ? {} : { max_tokens: input.maxTokens }),
  };
  const json = JSON.stringify(body, null, 2).replaceAll("'", "'\\''");
  return `curl http://127.0.0.1:8000/v1/chat/completions \\\n  -H 'content-type: application/json' \\\n  -H "authorization: Bearer $BYZERLLM_API_KEY" \\\n  -d '${json}'`;
}

/** `streamChatOai` of the byzerllm client; images in Byzer-LLM's JSON content form (docs/client.md). */
export function typeScriptSnippet(input: ChatInput): string {
  const conversations = [
    ...(input.system ? [{ role: 'system', content: input.system }] : []),
    ...input.messages.map((message) => ({
      role: message.role,
      content:
        typeof message.content === 'string'
          ? message.content
          : JSON.stringify([
              {
                text: message.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n'),
                ...Object.fromEntries(
                  message.content.flatMap((part, index) =>
                    part.type === 'image'
                      ? [[index === 1 ? 'image' : `image${index}`, shortUrl(part.url)]]
                      : [],
                  ),
                ),
              },
            ]),
    })),
  ];
  const llmConfig = {
    ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
    ...(input.maxTokens === undefined ? {} : { max_length: input.maxTokens }),
  };
  return [
    "import { ByzerLLM } from 'byzerllm';",
    '',
    `const llm = ByzerLLM.fromDefaultModel(${JSON.stringify(input.deployment)});`,
    'for await (const [text] of llm.streamChatOai({',
    `  conversations: ${JSON.stringify(conversations, null, 2).replaceAll('\n', '\n  ')},`,
    ...(Object.keys(llmConfig).length > 0 ? [`  llmConfig: ${JSON.stringify(llmConfig)},`] : []),
    '  deltaMode: true,',
    '})) {',
    '  process.stdout.write(text);',
    '}',
    'await llm.close();',
  ].join('\n');
}
