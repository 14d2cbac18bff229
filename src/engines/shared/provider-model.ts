import { MODEL_PROTOCOL_VERSION } from '../../core/chat-model.js';

/** What every provider model is configured with: who serves it and under which model id. */
export interface ModelIdentity {
  /** The provider name in errors and on results (`saas/openai`, …). */
  provider: string;
  modelId: string;
}

/**
 * The part every provider model class shares: the protocol version and its identity, taken from
 * the engine's config. Subclasses implement the kind's `do*` methods over `this.config`.
 */
export abstract class ProviderModel<Config extends ModelIdentity> {
  readonly specificationVersion = MODEL_PROTOCOL_VERSION;
  readonly provider: string;
  readonly modelId: string;

  constructor(protected readonly config: Config) {
    this.provider = config.provider;
    this.modelId = config.modelId;
  }
}
