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
 */
import type { EngineContext } from '../../core/deployment.js';
import type { EngineInstance } from '../../core/models.js';
import { createOpenAICompatibleEngine } from '../shared/openai-compatible/openai-compatible-provider.js';
import { readHttpUrl, requireParam } from '../shared/saas-params.js';

const PROVIDER = 'saas/azure_openai';

export function createAzureOpenAIEngine(context: EngineContext): Promise<EngineInstance> {
  return createOpenAICompatibleEngine(context, {
    provider: PROVIDER,
    extraParams: ['saas.azure_endpoint', 'saas.azure_deployment', 'saas.api_version'],
    endpoint: (inferParams, apiKey) => {
      const endpoint = readHttpUrl(
        'saas.azure_endpoint',
        requireParam(inferParams, 'saas.azure_endpoint', PROVIDER),
      );
      const deployment = requireParam(inferParams, 'saas.azure_deployment', PROVIDER);
      const apiVersion = requireParam(inferParams, 'saas.api_version', PROVIDER);
      return {
        baseUrl: `${endpoint}/openai/deployments/${encodeURIComponent(deployment)}?api-version=${encodeURIComponent(apiVersion)}`,
        headers: { 'api-key': apiKey },
        model: deployment,
      };
    },
  });
}
