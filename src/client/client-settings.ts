/**
 * The settings half of `ByzerLLM` (Byzer-LLM's `setup_*` methods), kept apart from the calls so the
 * facade stays small. `ByzerLLM` extends it; this file never imports the facade.
 *
 * Client-side settings are per model (template, role mapping, extra generation params, lengths,
 * prompt builders, base system message) or per client (default models, sub-clients, event
 * callbacks). Deploy-side settings build the `DeploymentSpecInput` that `deploy` sends; `setup(name,
 * value)` sets one of them by Byzer-LLM's conf name and `setupReset()` forgets them all.
 */
import {
  type DeploymentSpecInput,
  InvalidArgumentError,
  type LoadBalanceStrategy,
  type PinnableKind,
} from '../core/index.js';
import { type EventCallback, EventCallbacks, type EventName } from './client-events.js';
import type { LlmConfig } from './llm-config.js';
import { type ModelSettings, ModelSettingsStore } from './model-settings.js';
import type { PromptLlm } from './prompt-llm.js';
import type { RoleMapping, TemplateChoice } from './templates.js';

/** Byzer-LLM's deploy conf names (and ours) → the deployment spec field they set. */
const DEPLOY_CONF_KEYS: Record<string, keyof DeploymentSpecInput> = {
  num_gpus: 'gpusPerWorker',
  gpusPerWorker: 'gpusPerWorker',
  num_cpus: 'cpusPerWorker',
  cpusPerWorker: 'cpusPerWorker',
  maxConcurrency: 'numWorkers',
  numWorkers: 'numWorkers',
  workerMaxConcurrency: 'workerConcurrency',
  workerConcurrency: 'workerConcurrency',
  infer_backend: 'inferBackend',
  inferBackend: 'inferBackend',
  load_balance: 'loadBalance',
  loadBalance: 'loadBalance',
};

const NUMERIC_DEPLOY_FIELDS = new Set<keyof DeploymentSpecInput>([
  'gpusPerWorker',
  'cpusPerWorker',
  'numWorkers',
  'workerConcurrency',
]);

/** A named other client (Byzer-LLM's `setup_sub_client`), e.g. a vision or embedding model's. */
export type SubClient = PromptLlm;

export class ClientSettings {
  protected readonly settings = new ModelSettingsStore();
  protected deploySettings: Partial<DeploymentSpecInput> = {};
  protected readonly events = new EventCallbacks();
  private readonly subClients = new Map<string, SubClient | SubClient[]>();
  private defaultModelName: string | undefined;
  private defaultEmbModelName: string | undefined;
  private defaultRerankModelName: string | undefined;

  // ---- default models -------------------------------------------------------------------------

  setupDefaultModelName(model: string): this {
    this.defaultModelName = model;
    return this;
  }
  setupDefaultEmbModelName(model: string): this {
    this.defaultEmbModelName = model;
    return this;
  }
  setupDefaultReRankModelName(model: string): this {
    this.defaultRerankModelName = model;
    return this;
  }
  get defaultModel(): string | undefined {
    return this.defaultModelName;
  }

  // ---- per-model client settings --------------------------------------------------------------

  /** A client template for `model`, or `auto` for the engine's own chat template. */
  setupTemplate(model: string, template: TemplateChoice): this {
    this.settings.get(model).template = template;
    return this;
  }
  /**
   * Role strings (or functions) used when the client flattens a conversation for a raw-prompt model
   * (meta `message_format: false`): merged over the model's template's mapping. Message-format
   * models receive messages and ignore it, as in Byzer-LLM.
   */
  setupRoleMapping(model: string, mapping: Partial<RoleMapping>): this {
    this.settings.get(model).roleMapping = { ...mapping };
    return this;
  }
  /** Merged (not replaced) into the generation params of every request to `model`. */
  setupExtraGenerationParams(model: string, params: LlmConfig): this {
    const settings = this.settings.get(model);
    settings.extraGenerationParams = { ...settings.extraGenerationParams, ...params };
    return this;
  }
  setupMaxModelLength(model: string, length: number): this {
    this.settings.get(model).maxModelLength = length;
    return this;
  }
  getMaxModelLength(model: string): number | undefined {
    return this.settings.get(model).maxModelLength;
  }
  /** Stored for callers that budget their prompts (Byzer-LLM never enforced it either). */
  setupMaxInputLength(model: string, length: number): this {
    this.settings.get(model).maxInputLength = length;
    return this;
  }
  getMaxInputLength(model: string): number | undefined {
    return this.settings.get(model).maxInputLength;
  }
  /** The max tokens of every chat request to `model` whose `llmConfig` sets none. */
  setupMaxOutputLength(model: string, length: number): this {
    this.settings.get(model).maxOutputLength = length;
    return this;
  }
  getMaxOutputLength(model: string): number | undefined {
    return this.settings.get(model).maxOutputLength;
  }
  /** Replaces the built-in preamble of the default system message (`enableDefaultSysMessage`). */
  setupBaseSystemMessages(model: string, text: string): this {
    this.settings.get(model).baseSystemMessage = text;
    return this;
  }
  /** Custom prompt builders per model (Byzer-LLM's `setup_*_format_func`). */
  setupFunctionCallingFormatFunc(model: string, format: ModelSettings['functionCallingFormat']): this {
    this.settings.get(model).functionCallingFormat = format;
    return this;
  }
  setupResponseClassFormatFunc(model: string, format: ModelSettings['responseClassFormat']): this {
    this.settings.get(model).responseClassFormat = format;
    return this;
  }
  setupImplFuncFormatFunc(model: string, format: ModelSettings['implFormat']): this {
    this.settings.get(model).implFormat = format;
    return this;
  }
  modelSettings(model: string): ModelSettings {
    return this.settings.get(model);
  }

  // ---- sub-clients and events -----------------------------------------------------------------

  setupSubClient(name: string, client: SubClient | SubClient[]): this {
    this.subClients.set(name, Array.isArray(client) ? [...client] : client);
    return this;
  }
  getSubClient(name: string): SubClient | SubClient[] | undefined {
    return this.subClients.get(name);
  }
  removeSubClient(name: string): this {
    this.subClients.delete(name);
    return this;
  }
  /** Hooks around every model call (`EventName.BEFORE_CALL_MODEL` / `AFTER_CALL_MODEL`). */
  addEventCallback<Name extends EventName>(name: Name, callback: EventCallback<Name>): this {
    this.events.add(name, callback);
    return this;
  }

  // ---- deploy-side settings -------------------------------------------------------------------

  setupNumWorkers(count: number): this {
    this.deploySettings.numWorkers = count;
    return this;
  }
  setupGpusPerWorker(count: number): this {
    this.deploySettings.gpusPerWorker = count;
    return this;
  }
  setupCpusPerWorker(count: number): this {
    this.deploySettings.cpusPerWorker = count;
    return this;
  }
  setupWorkerConcurrency(count: number): this {
    this.deploySettings.workerConcurrency = count;
    return this;
  }
  setupLoadBalanceWay(strategy: LoadBalanceStrategy): this {
    this.deploySettings.loadBalance = strategy;
    return this;
  }
  setupPinModelWorkerMapping(mapping: Partial<Record<PinnableKind, number>>): this {
    this.deploySettings.pinning = { ...mapping };
    return this;
  }
  setupInferBackend(backend: string): this {
    this.deploySettings.inferBackend = backend;
    return this;
  }
  /**
   * One deploy setting by name: Byzer-LLM's conf names (`num_gpus`, `num_cpus`, `maxConcurrency`,
   * `workerMaxConcurrency`, `infer_backend`, `load_balance`) or ours (`gpusPerWorker`, …). Numbers
   * may be given as strings, as Byzer-LLM stored them.
   */
  setup(name: string, value: string | number): this {
    const field = DEPLOY_CONF_KEYS[name];
    if (!field) {
      throw new InvalidArgumentError(
        `unknown setup name ${JSON.stringify(name)}; allowed: ${Object.keys(DEPLOY_CONF_KEYS).join(', ')}`,
      );
    }
    if (NUMERIC_DEPLOY_FIELDS.has(field)) {
      const number = Number(value);
      if (!Number.isFinite(number))
        throw new InvalidArgumentError(`setup ${name} must be a number, got ${value}`);
      (this.deploySettings as Record<string, unknown>)[field] = number;
    } else {
      (this.deploySettings as Record<string, unknown>)[field] = String(value);
    }
    return this;
  }
  /** Forgets every deploy-side setting (the deployment defaults apply again). */
  setupReset(): this {
    this.deploySettings = {};
    return this;
  }
  /** The deploy-side settings made so far (what `deploy` adds to the spec). */
  deployConf(): Partial<DeploymentSpecInput> {
    return { ...this.deploySettings };
  }

  // ---- model resolution -----------------------------------------------------------------------

  resolveModel(model: string | undefined): string {
    const name = model ?? this.defaultModelName;
    if (!name) {
      throw new InvalidArgumentError(
        'no model given and no default model; pass model or call setupDefaultModelName(name)',
      );
    }
    return name;
  }
  protected resolveEmbModel(model: string | undefined): string {
    return model ?? this.defaultEmbModelName ?? this.resolveModel(undefined);
  }
  protected resolveRerankModel(model: string | undefined): string {
    return model ?? this.defaultRerankModelName ?? this.resolveEmbModel(undefined);
  }
}
