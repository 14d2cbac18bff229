/**
 * `TokenizerModelV1` for llama_cpp (Byzer-LLM's `tokenize` and `apply_chat_template`): the GGUF's
 * own tokenizer, and the conversation rendered by the worker's resolved chat wrapper — exactly the
 * text the chat model evaluates, with the assistant's opening (the generation prompt) at the end
 * when the last message is not the assistant's.
 */
import type { ChatWrapper, LlamaModel } from 'node-llama-cpp';
import type { CallOptions, Warning } from '../../core/chat-model.js';
import { throwIfAborted } from '../../core/errors.js';
import type {
  ChatTemplateRequest,
  ChatTemplateResult,
  TokenizeRequest,
  TokenizeResult,
  TokenizerModelV1,
} from '../../core/models.js';
import { toChatHistory } from './convert-messages.js';

export class LlamaCppTokenizerModel implements TokenizerModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'llama_cpp';

  constructor(
    readonly modelId: string,
    private readonly model: LlamaModel,
    private readonly chatWrapper: ChatWrapper,
  ) {}

  async doTokenize(request: TokenizeRequest, options: CallOptions = {}): Promise<TokenizeResult> {
    throwIfAborted(options.signal);
    return { tokens: Array.from(this.model.tokenize(request.text)) };
  }

  async doApplyChatTemplate(
    request: ChatTemplateRequest,
    options: CallOptions = {},
  ): Promise<ChatTemplateResult> {
    throwIfAborted(options.signal);
    const warnings: Warning[] = [];
    const chatHistory = toChatHistory(request.messages, warnings);
    if (chatHistory.at(-1)?.type !== 'model') chatHistory.push({ type: 'model', response: [] });
    const { contextText } = this.chatWrapper.generateContextState({ chatHistory });
    return { text: contextText.toString() };
  }
}
