/**
 * `byzerllm deploy --pretrained_model_type saas/<type>` + `byzerllm query` for the OpenAI variants,
 * Claude, Gemini and Bedrock, each against its local protocol stand-in, through the real CLI and
 * head process. Every deploy also passes one unknown `saas.*` key, which must come back as a
 * warning naming it (and the deploy must still succeed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AnthropicUpstream, startAnthropicUpstream } from '../support/anthropic-upstream.js';
import { startAzureOpenAIUpstream } from '../support/azure-openai-upstream.js';
import { type BedrockUpstream, startBedrockUpstream } from '../support/bedrock-upstream.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { type GeminiUpstream, startGeminiUpstream } from '../support/gemini-upstream.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';
import type { StandInServer } from '../support/stand-in-server.js';

const KEY = 'sk-cli-providers-secret-5150';

describe('byzerllm deploy + query for each SaaS provider of part A', () => {
  let home: TestHome;
  let openai: OpenAIUpstream;
  let azure: StandInServer;
  let anthropic: AnthropicUpstream;
  let gemini: GeminiUpstream;
  let bedrock: BedrockUpstream;

  before(async () => {
    [home, openai, azure, anthropic, gemini, bedrock] = await Promise.all([
      createTestHome(),
      startOpenAIUpstream({ apiKey: KEY }),
      startAzureOpenAIUpstream(KEY),
      startAnthropicUpstream(KEY),
      startGeminiUpstream(KEY),
      startBedrockUpstream(),
    ]);
  });
  after(async () => {
    await home.cleanup();
    await Promise.all([openai.close(), azure.close(), anthropic.close(), gemini.close(), bedrock.close()]);
  });

  const deployments = (): { name: string; type: string; params: string[]; secret: string }[] => [
    {
      name: 'r1',
      type: 'saas/reasoning_openai',
      params: [`saas.api_key=${KEY}`, `saas.base_url=${openai.url}`, 'saas.model=o3-mini'],
      secret: KEY,
    },
    {
      name: 'azure_gpt',
      type: 'saas/azure_openai',
      params: [
        `saas.api_key=${KEY}`,
        `saas.azure_endpoint=${azure.origin}`,
        'saas.azure_deployment=gpt4o',
        'saas.api_version=2024-10-21',
      ],
      secret: KEY,
    },
    {
      // Byzer-LLM's documented form, with the openai 0.x SDK keys.
      name: 'azure_legacy',
      type: 'saas/azure_openai',
      params: [
        'saas.api_type=azure',
        `saas.api_key=${KEY}`,
        `saas.api_base=${azure.origin}/`,
        'saas.api_version=2023-07-01-preview',
        'saas.deployment_id=gpt35',
      ],
      secret: KEY,
    },
    {
      name: 'sonnet',
      type: 'saas/claude',
      params: [
        `saas.api_key=${KEY}`,
        `saas.base_url=${anthropic.url}`,
        'saas.model=claude-3-5-sonnet-20240620',
      ],
      secret: KEY,
    },
    {
      name: 'gemini_flash',
      type: 'saas/gemini',
      params: [`saas.api_key=${KEY}`, `saas.base_url=${gemini.url}`],
      secret: KEY,
    },
    {
      name: 'bedrock_claude',
      type: 'saas/aws_bedrock',
      params: [
        `saas.aws_access_key=${bedrock.accessKeyId}`,
        `saas.aws_secret_key=${bedrock.secretAccessKey}`,
        `saas.region_name=${bedrock.region}`,
        'saas.model=anthropic.claude-3-haiku-20240307-v1:0',
        `saas.base_url=${bedrock.url}`,
      ],
      secret: bedrock.secretAccessKey,
    },
    {
      // Default settings: the provider's 4096-token default is clamped to Llama's 2048 max_gen_len.
      name: 'bedrock_llama',
      type: 'saas/aws_bedrock',
      params: [
        `saas.aws_access_key=${bedrock.accessKeyId}`,
        `saas.aws_secret_key=${bedrock.secretAccessKey}`,
        `saas.region_name=${bedrock.region}`,
        'saas.model=meta.llama3-70b-instruct-v1:0',
        `saas.base_url=${bedrock.url}`,
      ],
      secret: bedrock.secretAccessKey,
    },
  ];

  test('each type deploys with a warning naming an unknown saas.* key, then answers query and query --stream', async () => {
    for (const deployment of deployments()) {
      const deploy = await home.run([
        'deploy',
        '--pretrained_model_type',
        deployment.type,
        '--infer_params',
        ...deployment.params,
        'saas.max_retries=0',
        'saas.not_a_real_option=1',
        '--model',
        deployment.name,
      ]);
      assert.equal(deploy.code, 0, `${deployment.type}: ${deploy.stderr}`);
      assert.equal(deploy.stdout, `Model ${deployment.name} deployed successfully\n`);
      assert.match(
        deploy.stderr,
        /warning: .*saas\.not_a_real_option/,
        `${deployment.type} warns about the key`,
      );
      assert.ok(!deploy.stderr.includes(deployment.secret), `${deployment.type} never prints the secret`);

      const query = await home.run([
        'query',
        '--model',
        deployment.name,
        '--query',
        `hello ${deployment.name}`,
      ]);
      assert.equal(query.code, 0, `${deployment.type}: ${query.stderr}`);
      assert.equal(query.stdout, `echo: hello ${deployment.name}\n`, deployment.type);
      const streamed = await home.run([
        'query',
        '--model',
        deployment.name,
        '--query',
        `streamed ${deployment.name}`,
        '--stream',
      ]);
      assert.equal(streamed.code, 0, `${deployment.type}: ${streamed.stderr}`);
      assert.equal(streamed.stdout, `echo: streamed ${deployment.name}\n`, deployment.type);
    }
    // The older Azure keys chose the deployment in the path; the Llama body carried the clamped length.
    assert.ok(
      azure.requests.some((request) => request.path === '/openai/deployments/gpt35/chat/completions'),
    );
    const llamaBodies = bedrock.requests
      .map((request) => request.body as { prompt?: string; max_gen_len?: number })
      .filter((body) => typeof body.prompt === 'string');
    assert.ok(llamaBodies.length >= 2);
    assert.ok(llamaBodies.every((body) => body.max_gen_len === 2048));
  });

  test('a provider error reaches the CLI as one line with the provider name, not retried past max_retries', async () => {
    const before = anthropic.requests.length;
    const result = await home.run(['query', '--model', 'sonnet', '--query', 'fail:529']);
    assert.equal(result.code, 5);
    assert.match(result.stderr, /error: saas\/claude answered HTTP 529: Simulated HTTP 529/);
    assert.equal(anthropic.requests.length - before, 1);
  });
});
