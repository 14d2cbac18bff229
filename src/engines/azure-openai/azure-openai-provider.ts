/**
 * `saas/azure_openai`: Azure OpenAI Service, a configuration of the OpenAI-compatible engine.
 *
 * Azure puts the deployment in the path and the API version in the query, and authenticates with an
 * `api-key` header instead of a bearer token:
 * `POST {azure_endpoint}/openai/deployments/{azure_deployment}/chat/completions?api-version={api_version}`.
 *
 * Parameters: `saas.api_key`*, `saas.azure_endpoint`* (e.g. `https://my-resource.openai.azure.com`),
 * `saas.azure_deployment`*, `saas.api_version`* (e.g. `2024-10-21`), `saas.model` (reported model
 * name; defaults to the deployment), plus the shared `saas.timeout`, `saas.max_retries`,
 * `saas.proxies`, `saas.headers`.
 *
 * Byzer-LLM's older keys (from the openai 0.x SDK) work as written: `saas.api_base` for
 * `saas.azure_endpoint` (a trailing `/openai` is dropped), `saas.deployment_id` for
 * `saas.azure_deployment` (else `saas.model` names the deployment, as in Byzer-LLM's SQL example),
 * and `saas.api_type`, which must be `azure` when given.
 */
import type { EngineContext } from '../../core/deployment.js';
import type { EngineInstance } from '../../core/models.js';
import { createOpenAICompatibleEngine } from '../shared/openai-compatible/openai-compatible-provider.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { option, readHttpUrl } from '../shared/provider-options.js';

const PROVIDER = 'saas/azure_openai';

/** Azure's keys on top of the OpenAI-compatible ones; Byzer-LLM's older names work as written. */
export const AZURE_OPENAI_EXTRA_OPTIONS = {
  'saas.api_key': option.requiredText('sent as `api-key`'),
  'saas.model': option.text('the deployment, when neither `azure_deployment` nor `deployment_id` is given'),
  'saas.azure_endpoint': option.optionalUrl('the resource endpoint (required, or `api_base`)'),
  'saas.azure_deployment': option.text('the deployment (required, or `deployment_id`, or `model`)'),
  'saas.api_version': option.text('the `api-version` query parameter (required)'),
  'saas.api_base': option.optionalUrl("Byzer-LLM's name for `azure_endpoint`"),
  'saas.deployment_id': option.text("Byzer-LLM's name for `azure_deployment`"),
  'saas.api_type': option.text("Byzer-LLM's api type; must be `azure` when given"),
} as const;

export function createAzureOpenAIEngine(context: EngineContext): Promise<EngineInstance> {
  return createOpenAICompatibleEngine(context, {
    provider: PROVIDER,
    extraOptions: AZURE_OPENAI_EXTRA_OPTIONS,
    endpoint: (inferParams, apiKey) => {
      const apiType = inferParams['saas.api_type']?.trim();
      if (apiType && apiType.toLowerCase() !== 'azure') {
        throw new InvalidArgumentError(`saas.api_type must be "azure" for ${PROVIDER}, got "${apiType}"`);
      }
      const endpointKey = firstGiven(inferParams, ['saas.azure_endpoint', 'saas.api_base']);
      const endpoint = readHttpUrl(endpointKey, inferParams[endpointKey]!).replace(/\/openai$/, '');
      const deploymentKey = firstGiven(inferParams, [
        'saas.azure_deployment',
        'saas.deployment_id',
        'saas.model',
      ]);
      const deployment = inferParams[deploymentKey]!.trim();
      const apiVersion = inferParams[firstGiven(inferParams, ['saas.api_version'])]!.trim();
      return {
        baseUrl: `${endpoint}/openai/deployments/${encodeURIComponent(deployment)}?api-version=${encodeURIComponent(apiVersion)}`,
        headers: { 'api-key': apiKey },
        model: deployment,
      };
    },
  });
}

/** The first of `keys` with a non-empty value; the error names them all (the first is the current name). */
function firstGiven(inferParams: Record<string, string>, keys: readonly string[]): string {
  const key = keys.find((candidate) => inferParams[candidate]?.trim());
  if (key) return key;
  const others = keys.slice(1);
  throw new InvalidArgumentError(
    `${PROVIDER} needs ${keys[0]} (--infer_params ${keys[0]}=…)${others.length > 0 ? `; Byzer-LLM's ${others.join(' / ')} is accepted too` : ''}`,
  );
}
