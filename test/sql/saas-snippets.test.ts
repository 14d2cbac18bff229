/**
 * The Byzer-SQL snippets of Byzer-LLM's 003 guide for Azure OpenAI, MiniMax and SparkDesk, run as
 * written (only the credentials and the upstream URLs replaced) through `byzerllm sql -f`: the real
 * CLI and head process deploy each model from `run command as LLM`, then a query calls it by its
 * `udfName` against a loopback upstream speaking that vendor's protocol.
 * The pretrain section's deploy of a local model runs on the tiny GGUF the project generates.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';
import { startAzureOpenAIUpstream } from '../support/azure-openai-upstream.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { startMiniMaxUpstream } from '../support/minimax-upstream.js';
import { startSparkUpstream } from '../support/spark-upstream.js';

const SETUP = `!byzerllm setup single;
!byzerllm setup "num_gpus=0";
!byzerllm setup "maxConcurrency=10";
`;

/** A query calling `udf` on three rows, as the quick guide calls its models. */
function queryOf(udf: string): string {
  return `
select
${udf}(llm_param(map(
              "instruction",'hello ' || name
)))
as response from (values ('a'), ('b'), ('c')) t(name) as answers;

select llm_result(response) as answer from answers order by answer;`;
}

describe("003's SaaS snippets in Byzer-SQL", () => {
  let home: TestHome;
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    home = await createTestHome();
  });
  after(async () => {
    await home.cleanup();
    for (const close of closers) await close();
  });

  /** Runs the script with -f and answers the JSON rows of its last query. */
  async function runScript(name: string, script: string): Promise<unknown> {
    const file = path.join(home.home, `${name}.sql`);
    await fs.writeFile(file, script);
    const result = await home.run(['sql', '-f', file, '--output', 'json']);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /warning/i);
    return JSON.parse(result.stdout);
  }

  const echoed = [{ answer: 'echo: hello a' }, { answer: 'echo: hello b' }, { answer: 'echo: hello c' }];

  test('azure openai: saas.api_type, api_base, api_version and deployment_id as written', async () => {
    const upstream = await startAzureOpenAIUpstream('azure-key');
    closers.push(() => upstream.close());
    const script = `${SETUP}
run command as LLM.\`\` where
action="infer"
and pretrainedModelType="saas/azure_openai"
and \`saas.api_type\`="azure"
and \`saas.api_key\`="azure-key"
and \`saas.api_base\`="${upstream.origin}"
and \`saas.api_version\`="2023-07-01-preview"
and \`saas.deployment_id\`="gpt35-deployment"
and udfName="azure_openai"
and modelTable="command";
${queryOf('azure_openai')}`;
    assert.deepEqual(await runScript('azure', script), echoed);
    const chats = upstream.requests.filter((request) => request.path.endsWith('/chat/completions'));
    assert.equal(chats.length, 3);
    for (const request of chats) {
      assert.equal(request.path, '/openai/deployments/gpt35-deployment/chat/completions');
      assert.equal(request.query.get('api-version'), '2023-07-01-preview');
    }
  });

  test('minimax: saas.group_id, saas.model and the full chatcompletion_pro saas.api_url as written', async () => {
    const upstream = await startMiniMaxUpstream('mm-key', 'group-7');
    closers.push(() => upstream.close());
    const script = `${SETUP}
run command as LLM.\`\` where
action="infer"
and pretrainedModelType="saas/minimax"
and \`saas.api_key\`="mm-key"
and \`saas.group_id\`="group-7"
and \`saas.model\`="abab5.5-chat"
and \`saas.api_url\`="${upstream.url}/v1/text/chatcompletion_pro"
and udfName="minimax_saas"
and modelTable="command";
${queryOf('minimax_saas')}`;
    assert.deepEqual(await runScript('minimax', script), echoed);
    assert.equal(upstream.requests.length, 3);
    for (const request of upstream.requests) {
      assert.equal(request.path, '/v1/text/chatcompletion_pro');
      assert.equal(request.query.get('GroupId'), 'group-7');
      assert.equal((request.body as { model: string }).model, 'abab5.5-chat');
    }
  });

  test('sparkdesk: appid, api_key, api_secret and the unprefixed gpt_url (v1.1 → domain general)', async () => {
    const upstream = await startSparkUpstream('spark-app', 'spark-key', 'spark-secret');
    closers.push(() => upstream.close());
    const gptUrl = `${upstream.url.replace(/^http/, 'ws')}/v1.1/chat`;
    const script = `${SETUP}
run command as LLM.\`\` where
action="infer"
and pretrainedModelType="saas/sparkdesk"
and \`saas.appid\`="spark-app"
and \`saas.api_key\`="spark-key"
and \`saas.api_secret\`="spark-secret"
and \`gpt_url\`="${gptUrl}"
and udfName="sparkdesk_saas"
and modelTable="command";
${queryOf('sparkdesk_saas')}`;
    assert.deepEqual(await runScript('sparkdesk', script), echoed);
    assert.equal(upstream.frames.length, 3);
    for (const frame of upstream.frames) {
      assert.equal((frame as { parameter: { chat: { domain: string } } }).parameter.chat.domain, 'general');
    }
  });

  test("the pretrain section's deploy: set node, workerMaxConcurrency, custom/auto from localModelDir", async () => {
    const model = await ensureTinyLlamaModel(path.join(home.home, 'models'));
    // As written but for the GPUs ("num_gpus=2" asks for GPUs this machine does not have) and the
    // backend: Byzer-LLM ran custom/auto on transformers; a GGUF folder here runs on llama_cpp, named
    // with the setup line 003's llama2 example uses.
    const script = `!byzerllm setup single;

set node="master";
!byzerllm setup "num_gpus=0";
!byzerllm setup "workerMaxConcurrency=1";
!byzerllm setup "infer_backend=llama_cpp";

run command as LLM.\`\` where
action="infer"
and pretrainedModelType="custom/auto"
and localModelDir="${model.path}"
and reconnect="false"
and udfName="my_3b_chat"
and modelTable="command";

select length(llm_result(my_3b_chat(llm_param(map("instruction", 'hello', "max_length", 8))))) > 0 as answered;`;
    assert.deepEqual(await runScript('pretrain-deploy', script), [{ answered: true }]);
    const listed = await home.run(['list', '--json']);
    const deployed = (JSON.parse(listed.stdout) as { name: string; workerConcurrency: number }[]).find(
      (deployment) => deployment.name === 'my_3b_chat',
    );
    assert.equal(deployed?.workerConcurrency, 1);
  });
});
