/**
 * A deployment: a named model instance served by a pool of workers.
 *
 * This is the validated data the CLI (`byzerllm deploy`), the client (`ByzerLLM.deploy`) and the
 * admin API all produce, the head persists, and engines are built from. Field names are camelCase
 * here; the CLI keeps Byzer-LLM's snake_case flags and maps them.
 */
import { z } from 'zod';
import { InvalidArgumentError } from './errors.js';
import { withGenerationDefaults } from './generation-params.js';
import type { EngineInstance } from './models.js';
import { checkTokenPrice } from './pricing.js';

/**
 * How a deployment's pool picks a worker: `lru` (default), `round_robin`, or `prefix_affinity`
 * (chat requests sharing a long prompt prefix go to the worker whose KV cache holds it).
 */
export const LOAD_BALANCE_STRATEGIES = ['lru', 'round_robin', 'prefix_affinity'] as const;
export type LoadBalanceStrategy = (typeof LOAD_BALANCE_STRATEGIES)[number];

/** Request kinds that can be pinned to one worker index (Byzer-LLM's `setup_pin_model_worker_mapping`). */
export const PINNABLE_KINDS = ['embedding', 'tokenizer', 'apply_chat_template', 'meta'] as const;
export type PinnableKind = (typeof PINNABLE_KINDS)[number];

/** Chat template names (`Templates.*` in the client; `auto` = the engine's own template). */
export const TEMPLATE_NAMES = ['auto', 'default', 'llama', 'qwen', 'yi', 'empty'] as const;

/**
 * Deployment names become file keys, URL segments, NATS subject tokens and KV keys: keep them plain.
 * No `.`: it separates NATS subject tokens, and mapping it to `_` made `a.b` and `a_b` one KV key.
 */
export const DEPLOYMENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
export const DEPLOYMENT_NAME_RULE =
  'a deployment name is 1-128 letters, digits, "_" or "-", starting with a letter or digit (e.g. qianwen_chat)';

export const deploymentSpecSchema = z.object({
  /** The instance name users reach the model by (`--model`). */
  name: z.string().regex(DEPLOYMENT_NAME_PATTERN, DEPLOYMENT_NAME_RULE),
  /** `saas/<provider>` or `custom/<module>` (`--pretrained_model_type`). */
  pretrainedModelType: z.string().min(1),
  /** `llama_cpp`, `vllm`, `transformers` for local models; empty for SaaS (`--infer_backend`). */
  inferBackend: z.string().default(''),
  /** Local model file or folder (`--model_path`). */
  modelPath: z.string().default(''),
  numWorkers: z.number().int().min(1).max(1024).default(1),
  /** Concurrent requests one worker serves (`--worker_concurrency`). */
  workerConcurrency: z.number().int().min(1).max(100_000).default(1),
  cpusPerWorker: z.number().min(0).default(0.01),
  gpusPerWorker: z.number().min(0).default(0),
  /** Engine and provider parameters, all strings as on the command line (`saas.api_key=…`). */
  inferParams: z
    .record(z.string(), z.string())
    .default({})
    .superRefine((params, context) => {
      // The gateway's price params (`gateway.price_input`/`_output`), checked once at deploy.
      const problem = checkTokenPrice(params);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    }),
  /**
   * How the pool picks a worker (`--load_balance`). Left out, `loadBalanceOf` decides:
   * `prefix_affinity` on llama_cpp, `lru` otherwise.
   */
  loadBalance: z.enum(LOAD_BALANCE_STRATEGIES).optional(),
  /** Request kinds sent to one fixed worker index. */
  pinning: z.partialRecord(z.enum(PINNABLE_KINDS), z.number().int().min(0)).default({}),
  /** How long a request waits for a free worker slot before failing. Seconds. Defaults to 10. */
  queueTimeoutSeconds: z.number().min(0).max(3600).default(10),
  /**
   * Generation defaults every chat request gets unless it sets the field itself (Byzer-LLM's
   * `setup_extra_generation_params`, kept with the deployment so every client shares them):
   * `temperature`, `top_p`, `max_tokens`/`max_length`, `stop`, `gen.*`; other keys reach the engine.
   */
  generationDefaults: z
    .record(z.string(), z.string())
    .default({})
    .superRefine((defaults, context) => {
      // Checked once at deploy, so a bad default fails the deploy instead of every later chat call.
      try {
        withGenerationDefaults({ messages: [] }, defaults);
      } catch (error) {
        if (!(error instanceof InvalidArgumentError)) throw error;
        context.addIssue({ code: 'custom', message: error.message });
      }
    }),
  /** The chat template clients use for this deployment unless they set one (`auto` = the engine's). */
  template: z.enum(TEMPLATE_NAMES).default('auto'),
  /**
   * Only these cluster nodes run its workers, e.g. the node holding a model file only it has (a
   * training job's result). Its workers never move elsewhere; on a lost node they wait for it.
   * Defaults to any node.
   */
  nodes: z.array(z.string().min(1).max(128)).min(1).optional(),
});

/** A validated deployment spec, every default filled in. */
export type DeploymentSpec = z.infer<typeof deploymentSpecSchema>;
/** What callers may pass: defaults may be left out. */
export type DeploymentSpecInput = z.input<typeof deploymentSpecSchema>;

/**
 * The deployment's balance strategy: the one it names, else `prefix_affinity` for llama_cpp (whose
 * workers keep prompt prefixes in their KV cache: time to first token 20× lower with a shared
 * 2,000-token prefix, docs/benchmarks.md) and `lru` for every other backend.
 */
export function loadBalanceOf(
  spec: Pick<DeploymentSpec, 'loadBalance' | 'inferBackend'>,
): LoadBalanceStrategy {
  return spec.loadBalance ?? (spec.inferBackend === 'llama_cpp' ? 'prefix_affinity' : 'lru');
}

/** Undefined for a valid deployment name, else an error message naming it and what is allowed. */
export function checkDeploymentName(name: string): string | undefined {
  return DEPLOYMENT_NAME_PATTERN.test(name)
    ? undefined
    : `invalid deployment name ${JSON.stringify(name)}: ${DEPLOYMENT_NAME_RULE}`;
}

/** Params holding a JSON object of HTTP headers (`saas.headers`). */
function isHeadersParam(key: string): boolean {
  return /(^|\.)headers$/i.test(key);
}

/** HTTP header names that carry credentials: Authorization, x-api-key, api-key, Cookie, …-Token. */
export function isSecretHeader(name: string): boolean {
  return /(auth|key|token|secret|password|cookie|session|credential|signature)/i.test(name);
}

/**
 * Keys of `inferParams` whose values are secrets: stored apart, never printed. A headers param
 * (`saas.headers`) is secret when `value` names a credential header (or cannot be read, or is not
 * given): the whole JSON goes to secrets.json, and masking hides just those headers' values.
 */
export function isSecretParam(key: string, value?: string): boolean {
  if (isHeadersParam(key)) return value === undefined || maskHeaders(value) !== value;
  // `max_tokens` and `num_tokens` are counts, not credentials: a token is a secret only as a name's end.
  return /(api_?key|secret|password|access_?key|private_?key)/i.test(key) || /token$/i.test(key);
}

/** A headers JSON with every credential header's value replaced by `******` (all of it if unreadable). */
function maskHeaders(value: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return '******';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return '******';
  const entries = Object.entries(parsed);
  if (!entries.some(([name]) => isSecretHeader(name))) return value;
  return JSON.stringify(
    Object.fromEntries(entries.map(([name, inner]) => [name, isSecretHeader(name) ? '******' : inner])),
  );
}

/** A copy of the params with every secret value (or secret header value) replaced by `******`. */
export function maskSecrets(params: Record<string, string>): Record<string, string> {
  const masked: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (isHeadersParam(key)) masked[key] = maskHeaders(value);
    else masked[key] = isSecretParam(key) ? '******' : value;
  }
  return masked;
}

/** What an engine factory receives to load one worker's model. */
export interface EngineContext {
  spec: DeploymentSpec;
  workerIndex: number;
  /** GPU indices assigned to this worker (empty when none). */
  gpuIndices: number[];
  /** Reports non-fatal issues (unknown params, ignored settings) to the head's log and the deployer. */
  warn(message: string): void;
  /**
   * Reports how much of the model has loaded (0 to 1), for a progress line; engines that load in
   * one step never call it. Written to the worker's log, where `byzerllm deploy` reads it.
   */
  progress?(fraction: number): void;
  signal?: AbortSignal;
}

/** Loads a model for one worker. One factory per engine (`saas/openai`, `llama_cpp`, …). */
export type EngineFactory = (context: EngineContext) => Promise<EngineInstance>;
