/** `saas/aws_bedrock` against a local Bedrock runtime that verifies SigV4 and frames event streams. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ChatRequest, collectStream } from '../../../src/core/chat-model.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { createAwsBedrockEngine } from '../../../src/engines/aws-bedrock/aws-bedrock-provider.js';
import { errorFromBedrock } from '../../../src/engines/aws-bedrock/map-error.js';
import { type BedrockUpstream, startBedrockUpstream } from '../../support/bedrock-upstream.js';
import { startConnectProxy } from '../../support/connect-proxy.js';
import { runChatModelConformance } from '../chat-conformance.js';
import { engineContext } from '../engine-context.js';

const CLAUDE = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const LLAMA = 'meta.llama3-70b-instruct-v1:0';

function createEngine(inferParams: Record<string, string>, warnings: string[] = []) {
  return createAwsBedrockEngine(engineContext('saas/aws_bedrock', inferParams, warnings));
}

function paramsFor(upstream: BedrockUpstream, model: string, baseUrl = upstream.url): Record<string, string> {
  return {
    'saas.aws_access_key': upstream.accessKeyId,
    'saas.aws_secret_key': upstream.secretAccessKey,
    'saas.region_name': upstream.region,
    'saas.model': model,
    'saas.base_url': baseUrl,
    'saas.max_retries': '0',
  };
}

async function withBedrock(
  model: string,
  body: (engine: EngineInstance, upstream: BedrockUpstream) => Promise<void>,
  params: Record<string, string> = {},
): Promise<void> {
  const upstream = await startBedrockUpstream();
  const engine = await createEngine({ ...paramsFor(upstream, model), ...params });
  try {
    await body(engine, upstream);
  } finally {
    await engine.dispose();
    await upstream.close();
  }
}

const ask = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content: text }],
  ...extra,
});

for (const [family, model] of [
  ['anthropic', CLAUDE],
  ['llama', LLAMA],
] as const) {
  runChatModelConformance(`saas/aws_bedrock (${family})`, async (setup) => {
    const upstream = await startBedrockUpstream();
    const engine = await createEngine(paramsFor(upstream, model, setup.unreachableBaseUrl ?? upstream.url));
    return {
      model: engine.chat!,
      apiKey: upstream.secretAccessKey,
      whenUpstreamAborted: (count) => upstream.waitUntil(() => upstream.abortedCount() >= count),
      close: async () => {
        await engine.dispose();
        await upstream.close();
      },
    };
  });
}

describe('saas/aws_bedrock wire protocol', () => {
  test('requests are SigV4-signed for service bedrock in the region; a wrong secret is refused', async () => {
    await withBedrock(CLAUDE, async (engine, upstream) => {
      await engine.chat!.doGenerate(ask('signed'));
      const request = upstream.requests.at(-1)!;
      assert.equal(request.path, `/model/${encodeURIComponent(CLAUDE)}/invoke`);
      assert.match(
        String(request.headers.authorization),
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${upstream.accessKeyId}/\\d{8}/us-east-1/bedrock/aws4_request`,
        ),
      );
    });
    const upstream = await startBedrockUpstream();
    const engine = await createEngine({
      ...paramsFor(upstream, CLAUDE),
      'saas.aws_secret_key': 'not-the-secret',
    });
    try {
      await assert.rejects(engine.chat!.doGenerate(ask('hi')), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'upstream_auth');
        assert.match(error.message, /InvalidSignatureException/);
        assert.ok(!error.message.includes('not-the-secret'));
        return true;
      });
    } finally {
      await engine.dispose();
      await upstream.close();
    }
  });

  test('Anthropic family: Messages body with anthropic_version, without model or stream; tools work', () =>
    withBedrock(CLAUDE, async (engine, upstream) => {
      const tools = [{ name: 'lookup', parameters: { type: 'object' } }];
      const result = await engine.chat!.doGenerate({
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'tool:lookup hi' },
        ],
        tools,
      });
      assert.equal(result.finishReason, 'tool-calls');
      assert.equal(result.toolCalls[0]?.name, 'lookup');
      const body = upstream.requests.at(-1)!.body as Record<string, unknown>;
      assert.equal(body.anthropic_version, 'bedrock-2023-05-31');
      assert.equal(body.system, 'be brief');
      assert.equal(body.max_tokens, 4096);
      assert.equal('model' in body, false);
      const streamed = await collectStream(
        await engine.chat!.doStream(ask('tool:lookup streamed', { tools })),
      );
      assert.deepEqual(JSON.parse(streamed.toolCalls[0]!.arguments), { text: 'tool:lookup streamed' });
      assert.equal(
        upstream.requests.at(-1)!.path,
        `/model/${encodeURIComponent(CLAUDE)}/invoke-with-response-stream`,
      );
      assert.equal('stream' in (upstream.requests.at(-1)!.body as object), false);
    }));

  test('Llama family: a Llama 3 prompt, max_gen_len, no unsupported fields (warned instead)', () =>
    withBedrock(LLAMA, async (engine, upstream) => {
      const result = await engine.chat!.doGenerate({
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello llama' },
        ],
        maxTokens: 32,
        temperature: 0.5,
        stop: ['x'],
      });
      assert.equal(result.text, 'echo: hello llama');
      assert.deepEqual(upstream.requests.at(-1)!.body, {
        prompt:
          '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nbe brief<|eot_id|>' +
          '<|start_header_id|>user<|end_header_id|>\n\nhello llama<|eot_id|>' +
          '<|start_header_id|>assistant<|end_header_id|>\n\n',
        max_gen_len: 32,
        temperature: 0.5,
      });
      assert.deepEqual(
        result.warnings.map((warning) => warning.setting),
        ['stop'],
      );
    }));

  test('Llama family: more than Bedrock allows (2048) is clamped, with a warning naming maxTokens', () =>
    withBedrock(LLAMA, async (engine, upstream) => {
      const result = await engine.chat!.doGenerate({ ...ask('long llama'), maxTokens: 8000 });
      assert.equal(result.text, 'echo: long llama');
      assert.equal((upstream.requests.at(-1)!.body as { max_gen_len: number }).max_gen_len, 2048);
      const warning = result.warnings.find((candidate) => candidate.setting === 'maxTokens');
      assert.match(warning?.message ?? '', /at most 2048 tokens; maxTokens 8000 was lowered to 2048/);
    }));

  test('ThrottlingException is upstream_rate_limit, ServiceUnavailableException upstream_overloaded; 429s are retried', () =>
    withBedrock(
      CLAUDE,
      async (engine, upstream) => {
        await assert.rejects(engine.chat!.doGenerate(ask('fail:503')), {
          code: 'upstream_overloaded',
          isRetryable: true,
        });
        const before = upstream.requests.length;
        await assert.rejects(engine.chat!.doGenerate(ask('fail:429')), {
          code: 'upstream_rate_limit',
          isRetryable: true,
        });
        assert.equal(upstream.requests.length - before, 2, 'one request and one retry');
        await assert.rejects(engine.chat!.doGenerate(ask('fail:400')), { code: 'upstream_bad_request' });
        assert.equal(upstream.requests.length - before, 3, 'a ValidationException is not retried');
      },
      { 'saas.max_retries': '1' },
    ));

  test('a throttlingException inside the event stream ends the stream with one upstream_rate_limit part', () =>
    withBedrock(CLAUDE, async (engine) => {
      const parts = [];
      for await (const part of await engine.chat!.doStream(ask('throttle-mid-stream: go'))) parts.push(part);
      assert.ok(parts.some((part) => part.type === 'text-delta'));
      const last = parts.at(-1);
      assert.equal(last?.type, 'error');
      if (last?.type === 'error') {
        assert.equal(last.error.code, 'upstream_rate_limit', last.error.message);
        assert.match(last.error.message, /Too many tokens/);
      }
    }));

  test('a modelled exception the SDK throws after a 200 keeps its meaning (status taken from its name)', () => {
    const context = {
      provider: 'saas/aws_bedrock',
      baseUrl: 'http://x',
      timeoutMs: 1000,
      secrets: ['s3cret'],
    };
    const inStream = (name: string) =>
      errorFromBedrock(
        Object.assign(new Error('busy s3cret'), { name, $metadata: { httpStatusCode: 200 } }),
        context,
      );
    assert.equal(inStream('ThrottlingException').code, 'upstream_rate_limit');
    assert.equal(inStream('ServiceUnavailableException').code, 'upstream_overloaded');
    assert.equal(inStream('ModelStreamErrorException').code, 'upstream_bad_request');
    assert.ok(!inStream('ThrottlingException').message.includes('s3cret'), 'secrets are redacted');
  });

  test('saas.timeout bounds the wait for an answer: TimeoutError, retryable', () =>
    withBedrock(
      LLAMA,
      async (engine, upstream) => {
        await assert.rejects(engine.chat!.doGenerate(ask('delay:2000 slow')), {
          code: 'timeout',
          isRetryable: true,
          message: /saas\/aws_bedrock at http:\/\/127\.0\.0\.1:\d+ sent no data for 0\.2 s/,
        });
        await upstream.waitUntil(() => upstream.abortedCount() >= 1);
      },
      { 'saas.timeout': '0.2' },
    ));

  test('saas.proxies tunnels the signed requests through an HTTP CONNECT proxy', async () => {
    const proxy = await startConnectProxy();
    try {
      await withBedrock(
        LLAMA,
        async (engine, upstream) => {
          const result = await engine.chat!.doGenerate(ask('through the proxy'));
          assert.equal(result.text, 'echo: through the proxy');
          assert.deepEqual(proxy.tunnels, [`127.0.0.1:${upstream.port}`]);
        },
        { 'saas.proxies': proxy.url },
      );
    } finally {
      await proxy.close();
    }
  });

  test('parameters: required keys, supported families, unknown keys as warnings', async () => {
    const upstream = await startBedrockUpstream();
    try {
      const base = paramsFor(upstream, CLAUDE);
      await assert.rejects(createEngine({ ...base, 'saas.region_name': '' }), {
        code: 'invalid_argument',
        message: /saas\.region_name/,
      });
      await assert.rejects(createEngine({ ...base, 'saas.model': 'amazon.titan-text-express-v1' }), {
        code: 'invalid_argument',
        message: /amazon\.titan-text-express-v1.*anthropic/,
      });
      const warnings: string[] = [];
      const engine = await createEngine(
        { ...base, 'saas.regoin': 'x', 'saas.model_api_version': 'bedrock-2023-05-31' },
        warnings,
      );
      await engine.dispose();
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /saas\.regoin/);
    } finally {
      await upstream.close();
    }
  });
});
