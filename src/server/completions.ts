/**
 * `POST /v1/completions` (legacy text completions): the prompt is sent as one user message, one
 * choice per prompt when `prompt` is a list. Streams are plain deltas (the original re-diffed them
 * and garbled the text [quirk]).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ChatRequest, ChatResult, FinishReason, Usage } from '../core/index.js';
import { UnsupportedError } from '../core/index.js';
import { openAIFinishReason, openAIUsage } from './chat-response.js';
import type { Exchange } from './exchange.js';
import { sendJson } from './http.js';
import { type ChunkWriter, pumpStream } from './stream.js';
import { parseRequest } from './validate.js';

const completionBodySchema = z.looseObject({
  model: z.string().min(1).optional(),
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(16)]),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().nonnegative().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  seed: z.number().int().nullish(),
  echo: z.boolean().nullish(),
  n: z.literal(1).nullish(),
});

export async function handleCompletions(exchange: Exchange, body: Record<string, unknown>): Promise<number> {
  const parsed = parseRequest(completionBodySchema, body);
  const model = exchange.resolveModel(parsed.model);
  const prompts = typeof parsed.prompt === 'string' ? [parsed.prompt] : parsed.prompt;
  const base: Omit<ChatRequest, 'messages'> = {};
  if (parsed.max_tokens) base.maxTokens = parsed.max_tokens;
  if (parsed.temperature != null) base.temperature = parsed.temperature;
  if (parsed.top_p != null) base.topP = parsed.top_p;
  if (parsed.stop != null) base.stop = typeof parsed.stop === 'string' ? [parsed.stop] : parsed.stop;
  if (parsed.seed != null) base.seed = parsed.seed;
  const requests = prompts.map(
    (prompt): ChatRequest => ({ ...base, messages: [{ role: 'user', content: prompt }] }),
  );
  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const echo = parsed.echo === true;
  if (parsed.stream) {
    if (requests.length > 1) {
      throw new UnsupportedError('a list of prompts is not supported with stream: true; send one prompt', {
        details: { param: 'prompt' },
      });
    }
    const includeUsage = parsed.stream_options?.include_usage === true;
    // A key or limit is charged the stream's usage: asked of the upstream, shown only if asked for.
    const upstreamUsage = includeUsage || exchange.ticket !== undefined;
    const options = exchange.callOptions(model);
    const parts = await exchange.cluster.stream(
      model,
      { ...requests[0]!, includeUsage: upstreamUsage },
      options,
    );
    exchange.routeAnswered(options);
    return pumpStream(
      exchange,
      parts,
      new CompletionChunkWriter(id, model, created, echo ? prompts[0]! : ''),
      includeUsage,
    );
  }
  // One call per prompt; through a route each may end on another deployment, and the headers (and
  // the price charged) name the one that answered the first prompt.
  const callOptions = requests.map(() => exchange.callOptions(model));
  const results: ChatResult[] = await Promise.all(
    requests.map((request, index) => exchange.cluster.call(model, 'chat', request, callOptions[index])),
  );
  exchange.routeAnswered(callOptions[0]!);
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  for (const result of results) {
    usage.inputTokens += result.usage.inputTokens;
    usage.outputTokens += result.usage.outputTokens;
    exchange.addBusySeconds(result.usage);
  }
  exchange.inputTokens = usage.inputTokens;
  exchange.outputTokens = usage.outputTokens;
  sendJson(exchange.response, 200, {
    id,
    object: 'text_completion',
    created,
    model,
    choices: results.map((result, index) => ({
      index,
      text: echo ? prompts[index] + result.text : result.text,
      logprobs: null,
      finish_reason: openAIFinishReason(result.finishReason),
    })),
    usage: openAIUsage(usage),
  });
  return 200;
}

class CompletionChunkWriter implements ChunkWriter {
  private readonly prefix: string;

  constructor(
    id: string,
    model: string,
    created: number,
    private readonly echoed: string,
  ) {
    this.prefix = `data: {"id":${JSON.stringify(id)},"object":"text_completion","created":${created},"model":${JSON.stringify(model)},`;
  }

  role(): string {
    return this.echoed ? this.text(this.echoed) : '';
  }

  text(delta: string): string {
    return `${this.prefix}"choices":[{"index":0,"text":${JSON.stringify(delta)},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  /** Text completions have no reasoning field; reasoning is not part of the completion text. */
  reasoning(): string {
    return '';
  }

  toolCall(): string {
    return '';
  }

  finish(reason: FinishReason): string {
    return `${this.prefix}"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"${openAIFinishReason(reason)}"}]}\n\n`;
  }

  usage(usage: Usage): string {
    return `${this.prefix}"choices":[],"usage":${JSON.stringify(openAIUsage(usage))}}\n\n`;
  }
}
