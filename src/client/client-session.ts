/**
 * The narrow view of a client that the chat, streaming, task, embedding and impl helpers work on.
 * `ByzerLLM` implements it and composes the helpers; the helpers never import the facade, so the
 * client has no import cycles (test/architecture/import-cycles.test.ts).
 */
import type { ClusterApi } from '../cluster/index.js';
import type { ChatRequest, ModelMeta } from '../core/index.js';
import type { EventName, RawModelResult } from './client-events.js';
import type { Conversation } from './conversation.js';
import type { InFlightRequests } from './in-flight-requests.js';
import type { LlmConfig } from './llm-config.js';
import type { ModelSettings } from './model-settings.js';
import type { RoleMapping } from './templates.js';

export interface ClientSession {
  /** The cluster the client talks to, connected on first use. */
  cluster(): Promise<ClusterApi>;
  /** The model's meta, cached per client. */
  getMeta(options?: { model?: string }): Promise<ModelMeta>;
  /**
   * The protocol request for a conversation: messages converted, `llm_config` mapped over the
   * model's template defaults and extra generation params, a templated `prompt` where needed.
   */
  buildRequest(
    model: string,
    conversation: Conversation,
    llmConfig?: LlmConfig,
    extraRequestParams?: Record<string, unknown>,
    options?: BuildRequestOptions,
  ): Promise<ChatRequest>;
  /** The clean function of the model's template (identity without one). */
  cleanOutput(model: string, text: string): string;
  /** Per-model settings: template, generation params, custom prompt formats. */
  modelSettings(model: string): ModelSettings;
  /** The model to use: the one given, else the client's default; throws when there is neither. */
  resolveModel(model: string | undefined): string;
  /** The requests in flight, by id, for `abort(requestId)`. */
  readonly inFlight: InFlightRequests;
  /**
   * Runs the event callbacks of `name` (`client-events.ts`): the results of the first callback that
   * returns `[false, value]`, else undefined (go on).
   */
  runEvent(
    name: EventName,
    model: string,
    items: ChatRequest[] | RawModelResult[],
  ): Promise<RawModelResult[] | undefined>;
}

export interface BuildRequestOptions {
  /** This call's role mapping, over the model's (`setupRoleMapping`) and its template's. */
  roleMapping?: Partial<RoleMapping> | undefined;
}
