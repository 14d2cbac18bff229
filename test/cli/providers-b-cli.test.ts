/**
 * Every providers-b type as a new user tries it: `byzerllm deploy --pretrained_model_type
 * saas/<type> …` then `byzerllm query`, through the real CLI and head, each against its local
 * stand-in. TTS answers go to `--output_file` as decoded audio; unknown `saas.*` keys are warned.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestHome, type TestHome } from '../support/cli.js';
import { startDashScopeUpstream } from '../support/dashscope-upstream.js';
import {
  startAzureTtsUpstream,
  startSiliconFlowUpstream,
  startVolcengineUpstream,
} from '../support/media-provider-upstreams.js';
import { startMiniMaxUpstream } from '../support/minimax-upstream.js';
import { startOpenAIUpstream } from '../support/openai-upstream.js';
import { startQianfanUpstream } from '../support/qianfan-upstream.js';
import { startSparkUpstream } from '../support/spark-upstream.js';
import { zhipuAuthorizationChecker } from '../support/zhipu-jwt.js';

interface Closable {
  close(): Promise<void>;
}

describe('byzerllm deploy + query for each providers-b type', () => {
  let home: TestHome;
  const upstreams: Closable[] = [];
  const started = async <Upstream extends Closable>(upstream: Promise<Upstream>): Promise<Upstream> => {
    const ready = await upstream;
    upstreams.push(ready);
    return ready;
  };

  before(async () => {
    home = await createTestHome();
  });
  after(async () => {
    await home.cleanup();
    for (const upstream of upstreams) await upstream.close();
  });

  async function deploy(name: string, type: string, params: string[]): Promise<string> {
    const result = await home.run([
      'deploy',
      '--pretrained_model_type',
      type,
      '--infer_params',
      ...params,
      'saas.max_retries=0',
      '--model',
      name,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `Model ${name} deployed successfully\n`);
    return result.stderr;
  }

  async function query(name: string, text: string, extra: string[] = []): Promise<string> {
    const result = await home.run(['query', '--model', name, '--query', text, ...extra]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  }

  test('saas/qianwen and saas/qianwen_vl; an unknown saas key is a warning naming it', async () => {
    const upstream = await started(startDashScopeUpstream('sk-ds'));
    const stderr = await deploy('qwen', 'saas/qianwen', [
      'saas.api_key=sk-ds',
      `saas.base_url=${upstream.url}`,
      'saas.bogus_key=1',
    ]);
    assert.match(stderr, /warning: unknown parameter saas\.bogus_key ignored by saas\/qianwen/);
    assert.equal(await query('qwen', '你好'), 'echo: 你好\n');
    assert.equal(await query('qwen', 'stream me', ['--stream']), 'echo: stream me\n');
    await deploy('qwen_vl', 'saas/qianwen_vl', ['saas.api_key=sk-ds', `saas.base_url=${upstream.url}`]);
    assert.equal(await query('qwen_vl', 'describe'), 'echo: describe\n');
  });

  test('saas/zhipu and saas/baichuan', async () => {
    const zhipu = await started(
      startOpenAIUpstream({ checkAuthorization: zhipuAuthorizationChecker('id1.secret1') }),
    );
    await deploy('glm', 'saas/zhipu', ['saas.api_key=id1.secret1', `saas.base_url=${zhipu.url}`]);
    assert.equal(await query('glm', 'hi glm'), 'echo: hi glm\n');
    // Byzer-LLM lists saas/chatglm (ChatGLM-130B): Zhipu's platform, same key and JWT auth.
    await deploy('chatglm', 'saas/chatglm', ['saas.api_key=id1.secret1', `saas.base_url=${zhipu.url}`]);
    assert.equal(await query('chatglm', 'hi chatglm'), 'echo: hi chatglm\n');
    const baichuan = await started(startOpenAIUpstream({ apiKey: 'sk-bc' }));
    await deploy('baichuan', 'saas/baichuan', ['saas.api_key=sk-bc', `saas.base_url=${baichuan.url}`]);
    assert.equal(await query('baichuan', 'hi bc'), 'echo: hi bc\n');
    // Byzer-LLM's documented key: the full chat URL, honoured (no warning, no request to the real host).
    const documented = await deploy('baichuan_doc', 'saas/baichuan', [
      'saas.api_key=sk-bc',
      `saas.baichuan_api_url=${baichuan.url}/chat/completions`,
      'saas.model=Baichuan2-Turbo',
    ]);
    assert.doesNotMatch(documented, /warning:/);
    assert.equal(await query('baichuan_doc', 'hi doc'), 'echo: hi doc\n');
  });

  test('saas/qianfan, saas/minimax and saas/sparkdesk', async () => {
    const qianfan = await started(startQianfanUpstream('ak', 'sk'));
    await deploy('ernie', 'saas/qianfan', [
      'saas.api_key=ak',
      'saas.secret_key=sk',
      `saas.base_url=${qianfan.url}`,
    ]);
    assert.equal(await query('ernie', 'hi ernie', ['--stream']), 'echo: hi ernie\n');
    const minimax = await started(startMiniMaxUpstream('mm-key', 'g1'));
    await deploy('abab', 'saas/minimax', [
      'saas.api_key=mm-key',
      'saas.group_id=g1',
      `saas.base_url=${minimax.url}`,
    ]);
    assert.equal(await query('abab', 'hi abab'), 'echo: hi abab\n');
    const documented = await deploy('abab_doc', 'saas/minimax', [
      'saas.api_key=mm-key',
      'saas.group_id=g1',
      `saas.api_url=${minimax.url}/v1/text/chatcompletion_pro`,
    ]);
    assert.doesNotMatch(documented, /warning:/);
    assert.equal(await query('abab_doc', 'hi doc'), 'echo: hi doc\n');
    const spark = await started(startSparkUpstream('app', 'key', 'secret'));
    await deploy('spark', 'saas/sparkdesk', [
      'saas.appid=app',
      'saas.api_key=key',
      'saas.api_secret=secret',
      `saas.gpt_url=${spark.gptUrl}`,
    ]);
    assert.equal(await query('spark', 'hi spark'), 'echo: hi spark\n');
  });

  test('TTS through query --output_file writes the decoded audio (also streamed as bytes): openai tts-1, volcengine, azure wav', async () => {
    const openai = await started(startOpenAIUpstream({ apiKey: 'sk-oa' }));
    await deploy('tts', 'saas/openai', [
      'saas.api_key=sk-oa',
      'saas.model=tts-1',
      `saas.base_url=${openai.url}`,
    ]);
    const mp3 = path.join(home.home, 'out.mp3');
    await query('tts', '{"input":"hi","voice":"alloy"}', ['--output_file', mp3]);
    assert.equal(await fs.readFile(mp3, 'utf8'), 'FAKE-MP3:alloy:hi');
    const streamed = path.join(home.home, 'streamed.mp3');
    await query('tts', '{"input":"streamed audio","voice":"nova"}', ['--stream', '--output_file', streamed]);
    assert.equal(await fs.readFile(streamed, 'utf8'), 'FAKE-MP3:nova:streamed audio');

    const volc = await started(startVolcengineUpstream('vt', 'app'));
    await deploy('volc', 'saas/volcengine', [
      'saas.api_key=vt',
      'saas.app_id=app',
      `saas.base_url=${volc.url}`,
    ]);
    await query('volc', '{"input":"你好","voice":"BV705_streaming"}', ['--output_file', mp3]);
    assert.equal(await fs.readFile(mp3, 'utf8'), 'VOLC-mp3:BV705_streaming:你好');

    const azure = await started(startAzureTtsUpstream('az'));
    await deploy('azure_tts', 'saas/azure', ['saas.api_key=az', `saas.base_url=${azure.url}`]);
    const wav = path.join(home.home, 'out.wav');
    await query('azure_tts', '{"input":"hello","voice":"en-US-JennyNeural","response_format":"wav"}', [
      '--output_file',
      wav,
    ]);
    assert.equal(await fs.readFile(wav, 'utf8'), 'AZURE:riff-24khz-16bit-mono-pcm:en-US-JennyNeural:hello');
  });

  test('image generation through query: siliconflow answers the image as base64', async () => {
    const siliconflow = await started(startSiliconFlowUpstream('sf'));
    await deploy('flux', 'saas/siliconflow', ['saas.api_key=sf', `saas.base_url=${siliconflow.url}/v1`]);
    const output = await query('flux', '{"input":"a red fox","size":"512x512"}');
    assert.equal(Buffer.from(output.trim(), 'base64').toString(), 'SF-PNG:512x512:a red fox');
  });
});
