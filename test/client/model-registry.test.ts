/**
 * Lite mode as Byzer-LLM documents it: named models from `<keys>/models.json` (merged over the
 * built-ins, keys read from their files), `getSingleLlm(names, { productMode })`, and the original's
 * `examples/hello.py` translated line by line (`examples/hello.ts`), against the OpenAI stand-in.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as helloExample from '../../examples/hello.js';
import {
  ByzerLLM,
  getLlmNames,
  getModelByName,
  getSingleLlm,
  loadModels,
  SimpleByzerLLM,
} from '../../src/client/index.js';
import { InvalidArgumentError } from '../../src/core/index.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

let upstream: OpenAIUpstream;
let keys: string;

before(async () => {
  upstream = await startOpenAIUpstream();
  keys = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-keys-'));
  await fs.writeFile(
    path.join(keys, 'models.json'),
    JSON.stringify([
      {
        name: 'ark_v3_0324_chat',
        model_name: 'deepseek-v3-250324',
        model_type: 'saas/openai',
        base_url: upstream.url,
        api_key_path: 'ark_key',
        max_output_tokens: 321,
      },
      { name: 'keyless', model_name: 'x', base_url: upstream.url, api_key_path: 'missing_key' },
      {
        name: 'deepseek/v3',
        model_name: 'deepseek-chat',
        base_url: upstream.url,
        api_key_path: 'api.deepseek.com',
      },
    ]),
  );
  await fs.writeFile(path.join(keys, 'ark_key'), `${upstream.apiKey}\n`);
  await fs.writeFile(path.join(keys, 'api.deepseek.com'), upstream.apiKey);
});

after(async () => {
  await upstream?.close();
  await fs.rm(keys, { recursive: true, force: true });
});

test('examples/hello.ts: getSingleLlm(name, lite) + a prompt function, as hello.py', async () => {
  assert.equal(await helloExample.main('ark_v3_0324_chat', keys), 'echo: 你好 张三');
  const body = upstream.requests.at(-1)!.body as Record<string, unknown>;
  assert.equal(body.model, 'deepseek-v3-250324');
  assert.equal(body.max_tokens, 321, "the entry's max_output_tokens");
});

test('the registry: built-ins, overridden by models.json, with keys read from their files', async () => {
  const models = await loadModels({ keysDirectory: keys });
  const names = models.map((model) => model.name);
  for (const builtIn of ['deepseek/r1', 'ark/deepseek-r1-250120', 'openai/gpt-4.1'])
    assert.ok(names.includes(builtIn));
  const v3 = await getModelByName('deepseek/v3', { keysDirectory: keys });
  assert.equal(v3.base_url, upstream.url, 'models.json wins over the built-in');
  assert.equal(v3.api_key, upstream.apiKey);
  assert.equal(v3.max_output_tokens, 8096, 'defaults fill what an entry leaves out');
  await assert.rejects(getModelByName('nope', { keysDirectory: keys }), {
    message: /"nope" is not in the models registry .*known: deepseek\/r1/,
  });
});

test('getSingleLlm: a comma list gives the first usable model; a missing key names its file; pro names a deployment', async () => {
  const llm = await getSingleLlm('keyless, deepseek/v3', { productMode: 'lite', keysDirectory: keys });
  try {
    assert.ok(llm instanceof SimpleByzerLLM);
    assert.equal(llm.defaultModel, 'deepseek_v3');
    const [answer] = await llm.chatOai({ conversations: 'hi' });
    assert.equal(answer!.output, 'echo: hi');
  } finally {
    await llm.close();
  }
  await assert.rejects(getSingleLlm('keyless', { productMode: 'lite', keysDirectory: keys }), (error) => {
    assert.ok(error instanceof InvalidArgumentError);
    assert.match(error.message, /no API key: write it to .*missing_key/);
    return true;
  });
  const pro = await getSingleLlm('deepseek_chat,other', { productMode: 'pro' });
  assert.ok(pro instanceof ByzerLLM && !(pro instanceof SimpleByzerLLM));
  assert.equal(pro.defaultModel, 'deepseek_chat');
});

test('an invalid models.json is an error naming the file, and is left as it was', async () => {
  const broken = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-keys-'));
  try {
    await fs.writeFile(path.join(broken, 'models.json'), '[{"name": ');
    await assert.rejects(loadModels({ keysDirectory: broken }), { message: /models\.json is not JSON/ });
    assert.equal(await fs.readFile(path.join(broken, 'models.json'), 'utf8'), '[{"name": ');
  } finally {
    await fs.rm(broken, { recursive: true, force: true });
  }
});

test("getLlmNames: a client's default model, a list's, or a named sub-client's", () => {
  const main = ByzerLLM.fromDefaultModel('deepseek_chat');
  const vision = ByzerLLM.fromDefaultModel('qwen_vl_chat');
  main.setupSubClient('vision_model', vision);
  assert.deepEqual(getLlmNames(main), ['deepseek_chat']);
  assert.deepEqual(getLlmNames(main, 'vision_model'), ['qwen_vl_chat']);
  assert.deepEqual(getLlmNames(main, 'absent'), ['deepseek_chat']);
  assert.deepEqual(getLlmNames([main, vision]), ['deepseek_chat', 'qwen_vl_chat']);
  assert.deepEqual(getLlmNames('kimi'), ['kimi']);
});
