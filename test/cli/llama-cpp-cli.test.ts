/**
 * The llama_cpp engine through the real CLI and head: a generated tiny GGUF deployed with 2 worker
 * processes of 2 sequences each; query, stream, JSON by schema, embeddings, stat, and `kill -9` of a
 * worker during 50 queries losing none of them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { connectLocalHead, type DeploymentInfo, type HeadClient } from '../../src/cluster/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { deployTinyLlama } from '../support/tiny-llama-deployment.js';

describe('llama_cpp through the CLI', () => {
  let home: TestHome;
  let cluster: HeadClient;

  before(async () => {
    home = await createTestHome();
    await deployTinyLlama(home, {
      name: 'tiny',
      workers: 2,
      workerConcurrency: 2,
      inferParams: 'max_tokens=24',
    });
    cluster = await connectLocalHead({ stateDirectory: home.home, autoStart: false });
  });

  after(async () => {
    await cluster?.close();
    await home?.cleanup();
  });

  const workers = async (): Promise<DeploymentInfo['workers']> => {
    const listed = await home.run(['list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const deployments = JSON.parse(listed.stdout) as DeploymentInfo[];
    return deployments.find((deployment) => deployment.name === 'tiny')!.workers;
  };

  test('each worker is its own process', async () => {
    const pids = (await workers()).map((worker) => worker.pid);
    assert.equal(pids.length, 2);
    assert.ok(pids.every((pid) => typeof pid === 'number' && pid !== process.pid));
    assert.notEqual(pids[0], pids[1]);
  });

  test('query prints a generated answer, and --stream prints the same kind of text', async () => {
    const answer = await home.run(['query', '--model', 'tiny', '--query', 'hello']);
    assert.equal(answer.code, 0, answer.stderr);
    assert.match(answer.stdout, /[a-z]{2,}/);
    const streamed = await home.run(['query', '--model', 'tiny', '--query', 'hello', '--stream']);
    assert.equal(streamed.code, 0, streamed.stderr);
    // Greedy decoding of the same prompt: the stream's text is the non-stream answer.
    assert.equal(streamed.stdout, answer.stdout);
  });

  test('JSON output validates against a zod schema, and meta describes the model', async () => {
    const schema = z.object({ ok: z.boolean(), mood: z.enum(['good', 'bad']), score: z.number() });
    const result = await cluster.call('tiny', 'chat', {
      messages: [{ role: 'user', content: 'answer in JSON' }],
      maxTokens: 80,
      responseFormat: { type: 'json', schema: z.toJSONSchema(schema) as Record<string, unknown> },
    });
    assert.equal(schema.safeParse(JSON.parse(result.text)).success, true, result.text);
    const meta = await cluster.meta('tiny');
    assert.equal(meta.backend, 'llama_cpp');
    assert.equal(meta.model_deploy_type, 'proprietary');
    assert.deepEqual(meta.architectures, ['llama']);
    assert.equal(meta.embedding_dimension, 64);
    assert.ok((meta.max_model_len ?? 0) > 0);
  });

  test('embeddings have the model dimension and differ by text', async () => {
    const embedded = await cluster.call('tiny', 'embedding', { values: ['hello world', 'the water'] });
    assert.equal(embedded.embeddings.length, 2);
    assert.equal(embedded.embeddings[0]!.length, 64);
    assert.notDeepEqual(embedded.embeddings[0], embedded.embeddings[1]);
  });

  test('kill -9 of a worker during 50 queries loses none, and stat shows both workers used', async () => {
    const [victim] = await workers();
    const questions = Array.from({ length: 50 }, (_, index) => `question ${index}`);
    let started = 0;
    let killed = false;
    const answers: { code: number; stdout: string; stderr: string }[] = [];
    const runner = async () => {
      while (started < questions.length) {
        const question = questions[started++]!;
        const answer = await home.run(['query', '--model', 'tiny', '--query', question]);
        answers.push(answer);
        if (!killed) {
          killed = true;
          process.kill(victim!.pid!, 'SIGKILL');
        }
      }
    };
    await Promise.all([runner(), runner(), runner(), runner()]);
    assert.equal(answers.length, 50);
    for (const answer of answers) assert.equal(answer.code, 0, answer.stderr);
    const restarted = (await workers())[0]!;
    assert.notEqual(restarted.pid, victim!.pid, 'the killed worker was restarted as a new process');
    const stat = await home.run(['stat', '--model', 'tiny']);
    const totals = (JSON.parse(stat.stdout) as { total_requests: number[] }).total_requests;
    assert.equal(totals.length, 2);
    assert.ok(
      totals.every((total) => total > 0),
      `both workers served requests: ${totals}`,
    );
  });

  test("the documented verbose deploy (verbose=true num_gpu_layers=0) loads, answers and logs to the worker's log", async () => {
    // Byzer-LLM's guide: `--infer_params verbose=true num_gpu_layers=0`. The worker used to share the
    // head's stdout, a pipe closed once the CLI read the ready line: llama.cpp's first log line died with EPIPE.
    await deployTinyLlama(home, {
      name: 'tiny_verbose',
      inferParams: 'verbose=true num_gpu_layers=0 max_tokens=8',
    });
    const answer = await home.run(['query', '--model', 'tiny_verbose', '--query', 'hello']);
    assert.equal(answer.code, 0, answer.stderr);
    assert.match(answer.stdout, /[a-z]{2,}/);
    const workerLog = await fs.readFile(path.join(home.home, 'logs/workers/tiny_verbose/0.log'), 'utf8');
    assert.match(workerLog, /\[llama\.cpp \w+\] /, 'llama.cpp logged while loading the model');
    const shown = await home.run(['logs', '--model', 'tiny_verbose']);
    assert.match(shown.stdout, /\[llama\.cpp \w+\] /);
    const undeployed = await home.run(['undeploy', '--model', 'tiny_verbose']);
    assert.equal(undeployed.code, 0, undeployed.stderr);
  });

  test('undeploy stops the worker processes', async () => {
    const pids = (await workers()).map((worker) => worker.pid!);
    const undeployed = await home.run(['undeploy', '--model', 'tiny']);
    assert.equal(undeployed.code, 0, undeployed.stderr);
    for (const pid of pids) {
      assert.throws(
        () => process.kill(pid, 0),
        (error: NodeJS.ErrnoException) => error.code === 'ESRCH',
      );
    }
  });
});
