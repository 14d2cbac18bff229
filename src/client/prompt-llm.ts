/** The client a prompt function runs on: `ByzerLLM`, `SimpleByzerLLM`, or anything with these two calls. */
import type { z } from 'zod';
import type { ChatOaiOptions, StreamChatOaiOptions } from './chat-options.js';
import type { ChatResponse } from './responses.js';
import type { StreamItem } from './stream-chat.js';

export interface PromptLlm {
  chatOai<Schema extends z.ZodType>(
    options: ChatOaiOptions & { responseClass: Schema },
  ): Promise<ChatResponse<z.infer<Schema>>[]>;
  chatOai(options: ChatOaiOptions): Promise<ChatResponse[]>;
  streamChatOai(options: StreamChatOaiOptions): AsyncIterable<StreamItem>;
}
