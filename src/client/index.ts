/** The client library: `ByzerLLM`, `SimpleByzerLLM`, prompt functions, tools, templates, helpers. */
import { ByzerLLM } from './byzer-llm.js';
import { type PromptLlm, setPromptClientFactory } from './prompt-function.js';

export { ByzerLLM, type ByzerLLMOptions, type DeployOptions } from './byzer-llm.js';
export type { ChatOaiOptions, FeatureMode, StreamChatOaiOptions } from './chat-options.js';
export {
  type EventCallback,
  EventName,
  type EventOutcome,
  type RawModelResult,
} from './client-events.js';
export { ClientSettings, type SubClient } from './client-settings.js';
export type { Conversation, ConversationMessage, Role } from './conversation.js';
export type { EmbeddingResponse, RerankPair, ScoredPair } from './embeddings.js';
export { extractCode, extractJson, type CodeBlock, TagExtractor, type TaggedSection } from './extract.js';
export {
  defaultFunctionCallingFormat,
  type FunctionCallingFormatFunc,
  type Tool,
  tool,
  toToolDefinition,
} from './function-calling.js';
export {
  defaultImplFormat,
  type ImplFormatFunc,
  type ImplFunction,
  type ImplOptions,
  type ImplResult,
} from './impl.js';
export type { LlmConfig } from './llm-config.js';
export { LLMRequest } from './llm-request.js';
export { Audio, AudioPath, contentToParts, decodeDataUrl, Image, ImagePath } from './multimodal.js';
export {
  deploymentNameOf,
  getLlmNames,
  getModelByName,
  getSingleLlm,
  type GetSingleLlmOptions,
  loadModels,
  type ModelInfo,
  type ModelRegistryOptions,
} from './model-registry.js';
export {
  MetaHolder,
  prompt,
  type PromptCallOptions,
  PromptFunction,
  type PromptLlm,
  type PromptOptions,
  PromptOutputError,
} from './prompt-function.js';
export { asPrompt, type LazyPrompt, promptLazy, promptMethod } from './prompt-method.js';
export { DEFAULT_MARKERS } from './response-markers.js';
export type { ChatResponse, ResponseMeta } from './responses.js';
export { runInSandbox, type SandboxOptions, type SandboxOutcome } from './sandbox.js';
export { SimpleByzerLLM, type SimpleByzerLLMOptions } from './simple-byzer-llm.js';
export type { StreamItem } from './stream-chat.js';
export { defaultResponseClassFormat, type ResponseClassFormatFunc } from './structured-output.js';
export type { GenerateImageOptions, SpeechOptions, TranscribeOptions } from './tasks.js';
export {
  applyTemplate,
  type RoleMapping,
  type Template,
  type TemplateChoice,
  Templates,
} from './templates.js';

/** `prompt(template, { llm: 'model_name' })`: one client per model name, on the local head. */
const clientsByModel = new Map<string, ByzerLLM>();

/** Closes the clients made for `prompt(…, { llm: 'model_name' })` (their head connections). */
export async function closePromptClients(): Promise<void> {
  const clients = [...clientsByModel.values()];
  clientsByModel.clear();
  await Promise.all(clients.map((client) => client.close()));
}

setPromptClientFactory((model): PromptLlm => {
  let client = clientsByModel.get(model);
  if (!client) {
    client = ByzerLLM.fromDefaultModel(model);
    clientsByModel.set(model, client);
  }
  return client;
});
