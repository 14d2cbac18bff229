/**
 * The CLI's text as Byzer-LLM's: `LANG=zh*` gives the Chinese lines (success, errors), anything else
 * English; `stat` prints JSON to a pipe (scripts) and the "Model Stat" panel to a terminal (a real
 * pseudo-terminal from `script`). Real CLI processes, a real head, the OpenAI stand-in upstream.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { CLI_ENTRY, createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const ZH = { LANG: 'zh_CN.UTF-8' };

/** Runs the CLI with stdout on a pseudo-terminal (`script`), returning what the terminal showed. */
function runOnTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  const command = [process.execPath, CLI_ENTRY, ...args].map((part) => `'${part.replaceAll("'", "'\\''")}'`);
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command.join(' '), '/dev/null'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, output: output.replaceAll('\r\n', '\n') }));
  });
}

describe('CLI language and the stat panel', () => {
  let upstream: OpenAIUpstream;
  let home: TestHome;

  before(async () => {
    upstream = await startOpenAIUpstream();
    home = await createTestHome();
  });
  after(async () => {
    await home?.cleanup();
    await upstream?.close();
  });

  test('LANG=zh_CN: deploy and undeploy answer in Chinese; errors too; LANG=en stays English', async () => {
    const deploy = await home.run(
      [
        'deploy',
        '--pretrained_model_type',
        'saas/openai',
        '--infer_params',
        `saas.api_key=${upstream.apiKey}`,
        `saas.base_url=${upstream.url}`,
        '--model',
        'zh_chat',
      ],
      { env: ZH },
    );
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.equal(deploy.stdout, '模型 zh_chat 部署成功\n');
    const missing = await home.run(['undeploy', '--model', 'nope'], { env: ZH });
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /^错误：no deployment named nope/m);
    const english = await home.run(['undeploy', '--model', 'nope']);
    assert.match(english.stderr, /^error: no deployment named nope/m);
  });

  test('stat: JSON on a pipe, the "Model Stat" panel around the same JSON on a terminal', async () => {
    const piped = await home.run(['stat', '--model', 'zh_chat']);
    assert.equal(piped.code, 0, piped.stderr);
    const stat = JSON.parse(piped.stdout) as { total_workers: number };
    assert.equal(stat.total_workers, 1);

    const shown = await runOnTerminal(['stat', '--model', 'zh_chat'], home.env);
    assert.equal(shown.code, 0, shown.output);
    const lines = shown.output.split('\n').filter((line) => /^[╭│╰]/.test(line));
    assert.match(lines[0]!, /^╭─+ Model Stat ─+╮$/);
    assert.match(lines.at(-1)!, /^╰─+╯$/);
    const inner = lines.slice(1, -1).map((line) => line.replace(/^│ /, '').replace(/ *│$/, ''));
    // The same JSON, but for the seconds since each worker's last work, which move on.
    const withoutTimes = (text: string) => ({ ...JSON.parse(text), workers_last_work_time: undefined });
    assert.deepEqual(withoutTimes(inner.join('\n')), withoutTimes(piped.stdout));
    const widths = new Set(lines.slice(1).map((line) => line.length));
    assert.equal(widths.size, 1, 'every line of the box has the same width');

    const chinese = await runOnTerminal(['stat', '--model', 'zh_chat'], { ...home.env, ...ZH });
    assert.match(chinese.output, /╭─+ 模型状态 ─+╮/);
  });

  test('undeploy in Chinese', async () => {
    const result = await home.run(['undeploy', '--model', 'zh_chat'], { env: ZH });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '模型 zh_chat 卸载成功\n');
  });
});
