/**
 * The chat wrapper of a loaded model, resolved once per model (per worker), never per request.
 *
 * node-llama-cpp renders a chat history through a "chat wrapper". For a GGUF that carries a Jinja
 * chat template, resolving the wrapper (`resolveChatWrapper`, which a `LlamaChat` or
 * `LlamaChatSession` created without an explicit wrapper does in its constructor) compiles the
 * template, renders test conversations to check it against every specialised wrapper it knows, and
 * probes how it formats function calls and thoughts. Measured with `node --cpu-prof` on the tiny
 * GGUF: 1–1.5 s of CPU (nearly all of it in `isJinjaTemplateEquivalentToSpecializedChatWrapper` and
 * the `JinjaTemplateChatWrapper` constructor's sanity test), against ~2 ms for the first token. The
 * engine therefore resolves the wrapper when the model loads and hands the same instance to every
 * request; wrappers keep no per-conversation state, so sharing one across sequences is safe.
 */
import {
  type ChatWrapper,
  type LlamaModel,
  resolveChatWrapper,
  specializedChatWrapperTypeNames,
} from 'node-llama-cpp';
import { InvalidArgumentError } from '../../core/errors.js';

let resolutions = 0;

/**
 * How many chat wrappers this process has resolved. A regression seam: the tests check that it grows
 * by one per loaded model and not at all per request.
 */
export function chatWrapperResolutionCount(): number {
  return resolutions;
}

/**
 * `auto` uses the GGUF's own template (node-llama-cpp's resolution, falling back to its general
 * wrapper when the file has none); a node-llama-cpp wrapper name (any case: `chatml` for `chatML`)
 * forces that wrapper. An unknown name fails, naming the allowed ones.
 */
export function resolveModelChatWrapper(template: string, model: LlamaModel): ChatWrapper {
  if (template === 'auto') {
    resolutions++;
    return resolveChatWrapper(model);
  }
  const type = specializedChatWrapperTypeNames.find((name) => name.toLowerCase() === template.toLowerCase());
  if (!type) {
    throw new InvalidArgumentError(
      `template "${template}" is not a chat template the llama_cpp engine knows; allowed: auto, ${specializedChatWrapperTypeNames.join(', ')}`,
    );
  }
  resolutions++;
  return resolveChatWrapper({
    type,
    bosString: model.tokens.bosString,
    filename: model.filename,
    fileInfo: model.fileInfo,
    tokenizer: model.tokenizer,
  }) as ChatWrapper;
}
