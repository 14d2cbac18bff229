/** saas/volcengine and saas/azure (TTS) and saas/siliconflow (images) against their local stand-ins. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { createAzureTtsEngine } from '../../../src/engines/azure-tts/azure-tts-provider.js';
import { withTaskDispatch } from '../../../src/engines/shared/task-dispatch.js';
import { createSiliconFlowEngine } from '../../../src/engines/siliconflow/siliconflow-provider.js';
import { createVolcengineEngine } from '../../../src/engines/volcengine/volcengine-provider.js';
import {
  startAzureTtsUpstream,
  startSiliconFlowUpstream,
  startVolcengineUpstream,
} from '../../support/media-provider-upstreams.js';
import type { ProtocolServer } from '../../support/protocol-server.js';

type Factory = typeof createVolcengineEngine;

async function withProvider(
  upstream: ProtocolServer,
  factory: Factory,
  type: string,
  inferParams: Record<string, string>,
  body: (engine: EngineInstance) => Promise<void>,
  warnings: string[] = [],
): Promise<void> {
  const spec = deploymentSpecSchema.parse({
    name: 'media',
    pretrainedModelType: type,
    inferParams: { 'saas.max_retries': '0', ...inferParams },
  });
  const engine = await factory({
    spec,
    workerIndex: 0,
    gpuIndices: [],
    warn: (message) => warnings.push(message),
  });
  try {
    await body(engine);
  } finally {
    await engine.dispose();
    await upstream.close();
  }
}

const TOKEN = 'volc-token-secret';

describe('saas/volcengine TTS', () => {
  test('posts app/user/audio/request with Bearer;token and decodes data', async () => {
    const upstream = await startVolcengineUpstream(TOKEN, 'app-7');
    const params = { 'saas.api_key': TOKEN, 'saas.app_id': 'app-7', 'saas.base_url': upstream.url };
    await withProvider(upstream, createVolcengineEngine, 'saas/volcengine', params, async (engine) => {
      const result = await engine.speech?.doSpeech({ input: '你好', voice: 'BV001_streaming' });
      assert.equal(Buffer.from(result?.audio ?? []).toString(), 'VOLC-mp3:BV001_streaming:你好');
      assert.equal(result?.mediaType, 'audio/mpeg');
      const body = upstream.requests.at(-1)?.body as Record<string, Record<string, unknown>>;
      assert.deepEqual(body.app, { appid: 'app-7', token: 'access_token', cluster: 'volcano_tts' });
      assert.equal(body.request?.operation, 'query');
      assert.equal(body.request?.text_type, 'plain');
      assert.equal(body.audio?.encoding, 'mp3');
    });
  });

  test('through chat: {"input","voice"} answers base64 audio; code 3005 is retryable; a wrong token is upstream_auth', async () => {
    const upstream = await startVolcengineUpstream(TOKEN, 'app-7');
    const params = { 'saas.api_key': TOKEN, 'saas.app_id': 'app-7', 'saas.base_url': upstream.url };
    await withProvider(upstream, createVolcengineEngine, 'saas/volcengine', params, async (engine) => {
      const chat = withTaskDispatch(engine).chat;
      assert.ok(chat);
      const result = await chat.doGenerate({
        messages: [{ role: 'user', content: '{"input":"hi","voice":"BV705_streaming"}' }],
      });
      assert.equal(Buffer.from(result.text, 'base64').toString(), 'VOLC-mp3:BV705_streaming:hi');
      await assert.rejects(
        chat.doGenerate({ messages: [{ role: 'user', content: '{"input":"busy","voice":"x"}' }] }),
        {
          code: 'upstream_error',
          isRetryable: true,
        },
      );
      await assert.rejects(chat.doGenerate({ messages: [{ role: 'user', content: 'plain text' }] }), {
        code: 'unsupported',
      });
    });
    const wrong = await startVolcengineUpstream('another-token', 'app-7');
    await withProvider(
      wrong,
      createVolcengineEngine,
      'saas/volcengine',
      { ...params, 'saas.base_url': wrong.url },
      async (engine) => {
        await assert.rejects(
          engine.speech?.doSpeech({ input: 'x' }) ?? Promise.resolve(),
          (error: Error & { code?: string }) => {
            assert.equal(error.code, 'upstream_auth');
            assert.ok(!error.message.includes(TOKEN));
            return true;
          },
        );
      },
    );
  });
});

describe('saas/azure TTS', () => {
  test('SSML with the voice and escaped text, subscription key, mp3 and wav output formats, deploymentId', async () => {
    const upstream = await startAzureTtsUpstream('azure-key-1');
    const params = {
      'saas.api_key': 'azure-key-1',
      'saas.base_url': upstream.url,
      'saas.endpoint_id': 'custom-voice-9',
    };
    await withProvider(upstream, createAzureTtsEngine, 'saas/azure', params, async (engine) => {
      const mp3 = await engine.speech?.doSpeech({ input: 'a < b & c' });
      assert.equal(
        Buffer.from(mp3?.audio ?? []).toString(),
        'AZURE:audio-48khz-192kbitrate-mono-mp3:zh-CN-XiaoxiaoNeural:a < b & c',
      );
      const request = upstream.requests.at(-1);
      assert.equal(request?.query.get('deploymentId'), 'custom-voice-9');
      assert.match(
        String(request?.body),
        /<voice xml:lang='zh-CN' name='zh-CN-XiaoxiaoNeural'>a &lt; b &amp; c<\/voice>/,
      );
      const wav = await engine.speech?.doSpeech({
        input: 'hi',
        voice: 'en-US-JennyNeural',
        responseFormat: 'wav',
      });
      assert.equal(wav?.mediaType, 'audio/wav');
      assert.equal(
        Buffer.from(wav?.audio ?? []).toString(),
        'AZURE:riff-24khz-16bit-mono-pcm:en-US-JennyNeural:hi',
      );
      await assert.rejects(
        engine.speech?.doSpeech({ input: 'hi', responseFormat: 'ogg' }) ?? Promise.resolve(),
        {
          code: 'invalid_argument',
        },
      );
    });
  });

  test('a wrong key is upstream_auth; a service_region that is not a region name is refused', async () => {
    const upstream = await startAzureTtsUpstream('the-right-key');
    const params = { 'saas.api_key': 'wrong-key', 'saas.base_url': upstream.url };
    await withProvider(upstream, createAzureTtsEngine, 'saas/azure', params, async (engine) => {
      await assert.rejects(engine.speech?.doSpeech({ input: 'x' }) ?? Promise.resolve(), {
        code: 'upstream_auth',
      });
    });
    const spec = deploymentSpecSchema.parse({
      name: 'media',
      pretrainedModelType: 'saas/azure',
      inferParams: { 'saas.api_key': 'k', 'saas.service_region': 'west europe' },
    });
    await assert.rejects(
      createAzureTtsEngine({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'invalid_argument');
        assert.match(error.message, /west europe/);
        return true;
      },
    );
  });
});

describe('saas/siliconflow images', () => {
  test('posts image_size/batch_size/num_inference_steps, downloads the URLs, returns base64', async () => {
    const upstream = await startSiliconFlowUpstream('sf-key');
    const params = { 'saas.api_key': 'sf-key', 'saas.base_url': `${upstream.url}/v1` };
    await withProvider(upstream, createSiliconFlowEngine, 'saas/siliconflow', params, async (engine) => {
      const result = await engine.image?.doGenerateImage({
        prompt: 'a fox',
        size: '512x512',
        n: 2,
        extra: { seed: 7 },
      });
      assert.equal(result?.images.length, 2);
      assert.equal(Buffer.from(result?.images[1]?.base64 ?? '', 'base64').toString(), 'SF-PNG:512x512:a fox');
      assert.equal(result?.images[0]?.mediaType, 'image/png');
      const generation = upstream.requests.find((request) => request.method === 'POST');
      assert.deepEqual(generation?.body, {
        model: 'black-forest-labs/FLUX.1-dev',
        prompt: 'a fox',
        image_size: '512x512',
        batch_size: 2,
        num_inference_steps: 20,
        seed: 7,
      });
      const downloads = upstream.requests.filter((request) => request.method === 'GET');
      assert.equal(downloads.length, 2);
      assert.equal(
        downloads[0]?.headers.authorization,
        undefined,
        'the api key is not sent to the image URL',
      );
      const chat = withTaskDispatch(engine).chat;
      const viaChat = await chat?.doGenerate({ messages: [{ role: 'user', content: '{"input":"a cat"}' }] });
      assert.equal(Buffer.from(viaChat?.text ?? '', 'base64').toString(), 'SF-PNG:1024x1024:a cat');
    });
  });
});
