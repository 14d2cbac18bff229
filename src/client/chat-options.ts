/** The options of `chatOai` / `streamChatOai`, shared by `ByzerLLM`, `SimpleByzerLLM` and prompt functions. */
import type { z } from 'zod';
import type { ToolChoice } from '../core/index.js';
import type { Conversation } from './conversation.js';
import type { Tool } from './function-calling.js';
import type { LlmConfig } from './llm-config.js';
import type { RoleMapping } from './templates.js';

export type FeatureMode = 'auto' | 'native' | 'prompt';

export interface ChatOaiOptions {
  conversations: Conversation;
  /** Deployment name; defaults to `setupDefaultModelName`. */
  model?: string;
  /** Byzer-LLM's keys: `max_length`, `temperature`, `top_p`, `gen.*` / `generation.*`. */
  llmConfig?: LlmConfig;
  /** Merged into `ChatRequest.extra` (Byzer-LLM's `extra_request_params`). */
  extraRequestParams?: Record<string, unknown>;
  signal?: AbortSignal;
  /** An id for `abort(requestId)` while the call runs (Byzer-LLM passed `request_id` to the engine). */
  requestId?: string;
  /** This call's role mapping for raw-prompt models (over `setupRoleMapping`). */
  roleMapping?: Partial<RoleMapping>;
  /**
   * Byzer-LLM's default system message: with tools, `responseClass` or `implFunc`, a system message
   * with the base-abilities preamble (or `setupBaseSystemMessages`) is put first; an existing system
   * message gets it prepended. Defaults to false: our prompts for those abilities are self-contained.
   */
  enableDefaultSysMessage?: boolean;
  /** Return the request that would be sent (`input`), with empty `output`, without calling the model. */
  onlyReturnPrompt?: boolean;
  /** Function calling. */
  tools?: Tool[];
  toolChoice?: ToolChoice;
  /** Run the called tools and put their results in `values`. */
  executeTool?: boolean;
  /** Extra arguments merged into every tool call (Byzer-LLM's `func_params`). */
  funcParams?: Record<string, unknown>;
  /** `auto` (default): native tools/JSON where the engine's meta says so, the prompt protocol otherwise. */
  toolMode?: FeatureMode;
  /** Structured output: the answer parsed and validated into `value`. */
  responseClass?: z.ZodType;
  /** Answer normally first, then extract the structured value in a second turn. */
  responseAfterChat?: boolean;
  structuredMode?: FeatureMode;
  /**
   * Function implementation through chatOai (Byzer-LLM's `impl_func` + `execute_impl_func`): the
   * model writes this function, the last user message is the instruction, `responseClass` is the
   * return schema, `implFuncParams` the arguments. The result lands in `value` (or `meta.reason`).
   */
  implFunc?: { name: string; description: string; parameters?: z.ZodObject };
  implFuncParams?: Record<string, unknown>;
}

export interface StreamChatOaiOptions {
  conversations: Conversation;
  model?: string;
  llmConfig?: LlmConfig;
  extraRequestParams?: Record<string, unknown>;
  /** true: each item carries only the new text (and reasoning); false (default): the text so far. */
  deltaMode?: boolean;
  signal?: AbortSignal;
  /** An id for `abort(requestId)`; the engine's `meta.request_id` aborts the stream too. */
  requestId?: string;
  roleMapping?: Partial<RoleMapping>;
}
