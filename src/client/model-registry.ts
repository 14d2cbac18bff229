/**
 * Lite mode's models registry (Byzer-LLM's `utils/modelinfo.py` and `get_single_llm`, byzer-spec
 * §3.12): named SaaS models described in `<keys>/models.json` (default `~/.auto-coder/keys`, where
 * Byzer-LLM and auto-coder keep it) merged over built-ins, each entry's API key read from
 * `<keys>/<api_key_path>`. `getSingleLlm(names, { productMode: 'lite' })` deploys the first usable
 * one into a `SimpleByzerLLM` (no head); `'pro'` returns a `ByzerLLM` of the cluster's deployment.
 *
 * Unlike Byzer-LLM, reading never writes: a missing `models.json` means the built-ins, an invalid one
 * is an error naming the file (Byzer-LLM overwrote it with the defaults).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEPLOYMENT_NAME_PATTERN, InvalidArgumentError } from '../core/index.js';
import { ByzerLLM, type ByzerLLMOptions } from './byzer-llm.js';
import { SimpleByzerLLM } from './simple-byzer-llm.js';

export const modelInfoSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    /** The provider's model id (`saas.model`). */
    model_name: z.string().min(1),
    /** `saas/openai` for every built-in. */
    model_type: z.string().default('saas/openai'),
    base_url: z.string().default(''),
    /** File name under the keys folder holding the API key. */
    api_key_path: z.string().default(''),
    /** Given directly instead of through `api_key_path`. */
    api_key: z.string().optional(),
    is_reasoning: z.boolean().default(false),
    input_price: z.number().default(0),
    output_price: z.number().default(0),
    average_speed: z.number().default(0),
    max_output_tokens: z.number().int().positive().default(8096),
  })
  .loose();

export type ModelInfo = z.output<typeof modelInfoSchema>;

/** Byzer-LLM's built-in entries (names, endpoints and limits as it lists them). */
const BUILT_IN_MODELS: z.input<typeof modelInfoSchema>[] = [
  {
    name: 'deepseek/r1',
    description: 'DeepSeek Reasoner is for design/review',
    model_name: 'deepseek-reasoner',
    base_url: 'https://api.deepseek.com/v1',
    api_key_path: 'api.deepseek.com',
    is_reasoning: true,
  },
  {
    name: 'deepseek/v3',
    description: 'DeepSeek Chat is for coding',
    model_name: 'deepseek-chat',
    base_url: 'https://api.deepseek.com/v1',
    api_key_path: 'api.deepseek.com',
  },
  {
    name: 'ark/deepseek-v3-250324',
    model_name: 'deepseek-v3-250324',
    base_url: 'https://ark.cn-beijing.volces.com/api/v3',
    input_price: 2,
    output_price: 8,
  },
  {
    name: 'ark/deepseek-r1-250120',
    model_name: 'deepseek-r1-250120',
    base_url: 'https://ark.cn-beijing.volces.com/api/v3',
    is_reasoning: true,
    input_price: 4,
    output_price: 16,
  },
  ...['openai/gpt-4.1-mini', 'openai/gpt-4.1', 'openai/gpt-4.1-nano'].map((name) => ({
    name,
    model_name: name,
    base_url: 'https://openrouter.ai/api/v1',
    max_output_tokens: 8096 * 3,
  })),
  {
    name: 'openrouter/google/gemini-2.5-pro-preview-03-25',
    model_name: 'google/gemini-2.5-pro-preview-03-25',
    base_url: 'https://openrouter.ai/api/v1',
    max_output_tokens: 8096 * 2,
  },
];

export interface ModelRegistryOptions {
  /** Holds `models.json` and the key files. Defaults to `~/.auto-coder/keys`. */
  keysDirectory?: string;
}

function keysDirectoryOf(options: ModelRegistryOptions): string {
  return options.keysDirectory ?? path.join(os.homedir(), '.auto-coder', 'keys');
}

/** Every registered model: the built-ins, overridden and extended by `models.json`, keys filled in. */
export async function loadModels(options: ModelRegistryOptions = {}): Promise<ModelInfo[]> {
  const directory = keysDirectoryOf(options);
  const file = path.join(directory, 'models.json');
  const byName = new Map<string, ModelInfo>();
  for (const entry of BUILT_IN_MODELS) byName.set(entry.name, modelInfoSchema.parse(entry));
  let text: string | undefined;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    let parsed: z.ZodSafeParseResult<ModelInfo[]>;
    try {
      parsed = z.array(modelInfoSchema).safeParse(JSON.parse(text));
    } catch (error) {
      throw new InvalidArgumentError(`${file} is not JSON: ${(error as Error).message}`);
    }
    if (!parsed.success) throw new InvalidArgumentError(`${file}: ${z.prettifyError(parsed.error)}`);
    for (const entry of parsed.data) byName.set(entry.name, entry);
  }
  const models = [...byName.values()];
  for (const model of models) {
    if (model.api_key !== undefined || model.api_key_path === '') continue;
    const key = await fs.readFile(path.join(directory, model.api_key_path), 'utf8').catch(() => undefined);
    if (key !== undefined) model.api_key = key.trim();
  }
  return models;
}

/** One registered model by name (Byzer-LLM's `get_model_by_name`). */
export async function getModelByName(name: string, options: ModelRegistryOptions = {}): Promise<ModelInfo> {
  const models = await loadModels(options);
  const found = models.find((model) => model.name === name.trim());
  if (!found) {
    throw new InvalidArgumentError(
      `model ${JSON.stringify(name)} is not in the models registry (${path.join(keysDirectoryOf(options), 'models.json')}); known: ${models.map((model) => model.name).join(', ')}`,
    );
  }
  return found;
}

/** A registry name as a deployment name: characters a deployment name cannot have become `_`. */
export function deploymentNameOf(name: string): string {
  const converted = name.trim().replace(/[^A-Za-z0-9_-]/g, '_');
  if (!DEPLOYMENT_NAME_PATTERN.test(converted)) {
    throw new InvalidArgumentError(`model name ${JSON.stringify(name)} cannot be a deployment name`);
  }
  return converted;
}

export interface GetSingleLlmOptions extends ModelRegistryOptions {
  /** `lite`: deploy from the registry in this process; `pro`: the cluster's deployment of that name. */
  productMode: 'lite' | 'pro';
  /** For `pro`: how to reach the cluster (defaults to the local head). */
  client?: ByzerLLMOptions;
}

/**
 * Byzer-LLM's `get_single_llm(model_names, product_mode)`: `modelNames` may list several names
 * separated by commas; the first that can be used is returned (for `pro`, simply the first).
 */
export async function getSingleLlm(modelNames: string, options: GetSingleLlmOptions): Promise<ByzerLLM> {
  const names = modelNames
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new InvalidArgumentError('getSingleLlm needs at least one model name');
  if (options.productMode === 'pro') return ByzerLLM.fromDefaultModel(names[0]!, options.client ?? {});
  const problems: string[] = [];
  for (const name of names) {
    try {
      return await deployFromRegistry(await getModelByName(name, options), options);
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
    }
  }
  throw new InvalidArgumentError(`no model of ${modelNames} could be used: ${problems.join('; ')}`);
}

async function deployFromRegistry(model: ModelInfo, options: ModelRegistryOptions): Promise<SimpleByzerLLM> {
  if (!model.api_key) {
    throw new InvalidArgumentError(
      `no API key: write it to ${path.join(keysDirectoryOf(options), model.api_key_path || '<api_key_path>')}`,
    );
  }
  const udfName = deploymentNameOf(model.name);
  const reasoning = model.is_reasoning && model.model_type === 'saas/openai';
  const llm = new SimpleByzerLLM({ defaultModelName: udfName });
  await llm.deploy({
    udfName,
    pretrainedModelType: reasoning ? 'saas/reasoning_openai' : model.model_type,
    inferParams: {
      'saas.api_key': model.api_key,
      'saas.model': model.model_name,
      ...(model.base_url ? { 'saas.base_url': model.base_url } : {}),
    },
  });
  return llm.setupMaxOutputLength(udfName, model.max_output_tokens);
}

/**
 * Byzer-LLM's `get_llm_names(llm, target_model_type)`: the default model names of a client, of a
 * list of clients, or of the sub-client named `targetModelType` (a string is split on commas).
 */
export function getLlmNames(
  llm: ByzerLLM | string | readonly ByzerLLM[],
  targetModelType?: string,
): string[] {
  if (typeof llm === 'string') return [llm];
  const namesOf = (clients: readonly unknown[]) =>
    clients.flatMap((client) =>
      client instanceof ByzerLLM && client.defaultModel ? [client.defaultModel] : [],
    );
  if (Array.isArray(llm)) return namesOf(llm);
  const client = llm as ByzerLLM;
  const sub = targetModelType === undefined ? undefined : client.getSubClient(targetModelType);
  if (sub === undefined) return namesOf([client]);
  if (typeof sub === 'string') return (sub as string).split(',').filter((name) => name !== '');
  return namesOf(Array.isArray(sub) ? sub : [sub]);
}
