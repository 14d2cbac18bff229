/**
 * Per-model client settings (Byzer-LLM's per-model maps): template, extra generation params, max
 * model length, custom prompt format functions. Kept apart from `ByzerLLM` so `SimpleByzerLLM` and
 * prompt functions share them.
 */
import type { FunctionCallingFormatFunc } from './function-calling.js';
import type { LlmConfig } from './llm-config.js';
import type { ResponseClassFormatFunc } from './structured-output.js';
import type { RoleMapping, TemplateChoice } from './templates.js';

/** Builds the question that asks a model to write an `impl` function (see `defaultImplFormat`). */
export type ImplFormatFunc = (input: {
  name: string;
  description: string;
  instruction: string;
  parametersSchema: Record<string, unknown>;
  returnsSchema: Record<string, unknown>;
}) => string;

export interface ModelSettings {
  template?: TemplateChoice;
  extraGenerationParams: LlmConfig;
  maxModelLength?: number;
  /** Stored, not enforced (as in Byzer-LLM). */
  maxInputLength?: number;
  /** Max tokens of chat requests whose `llmConfig` sets none. */
  maxOutputLength?: number;
  /** Merged over the template's role mapping where the client flattens the conversation. */
  roleMapping?: Partial<RoleMapping>;
  /** Replaces the built-in preamble of the default system message. */
  baseSystemMessage?: string;
  functionCallingFormat?: FunctionCallingFormatFunc;
  responseClassFormat?: ResponseClassFormatFunc;
  implFormat?: ImplFormatFunc;
}

export class ModelSettingsStore {
  private readonly byModel = new Map<string, ModelSettings>();

  get(model: string): ModelSettings {
    let settings = this.byModel.get(model);
    if (!settings) {
      settings = { extraGenerationParams: {} };
      this.byModel.set(model, settings);
    }
    return settings;
  }
}
