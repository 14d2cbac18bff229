/**
 * The package as a consumer gets it: `npm pack`, then `npm ci --offline` of a project that depends on
 * the tarball, with the lock `npm install byzerllm` would resolve (test/support/consumer-lock.ts;
 * packages come from the npm cache, nothing is downloaded). The light install must leave out every optional engine package, import
 * `byzerllm/client` and the root entry, type-check a small file under `strict`, name the npm install
 * line when a feature needs a missing package, ship source maps that carry their sources, and stay
 * under 50 MB.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { installCommand, OPTIONAL_PACKAGES } from '../../src/core/index.js';
import { consumerLock } from '../support/consumer-lock.js';

const run = promisify(execFile);
const repository = fileURLToPath(new URL('../../../', import.meta.url));
const packageJson = JSON.parse(await fs.readFile(path.join(repository, 'package.json'), 'utf8'));
const SIZE_LIMIT_BYTES = 50 * 1024 * 1024;

let project: string;

before(async () => {
  project = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-consumer-'));
  // dist/ is already built (the tests run from it); --ignore-scripts skips the `prepare` rebuild.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], {
    cwd: repository,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  await fs.writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: { byzerllm: `file:${filename}` },
    }),
  );
  const repositoryLock = JSON.parse(await fs.readFile(path.join(repository, 'package-lock.json'), 'utf8'));
  await fs.writeFile(
    path.join(project, 'package-lock.json'),
    JSON.stringify(consumerLock(repositoryLock, packageJson, filename), null, 2),
  );
  // No project .npmrc of ours applies in the consumer's folder; install scripts run as they would.
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project });
});

after(async () => {
  await fs.rm(project, { recursive: true, force: true });
});

test('optional engine packages are peers (optional) with the versions the loader names', () => {
  const peers = packageJson.peerDependencies as Record<string, string>;
  const meta = packageJson.peerDependenciesMeta as Record<string, { optional?: boolean }>;
  assert.deepEqual(Object.keys(peers).sort(), Object.keys(OPTIONAL_PACKAGES).sort());
  for (const [name, version] of Object.entries(OPTIONAL_PACKAGES)) {
    assert.ok([version, `^${version}`].includes(peers[name]!), `${name}: ${peers[name]} allows ${version}`);
    assert.equal(meta[name]?.optional, true, `${name} is an optional peer`);
    assert.equal(packageJson.dependencies[name], undefined, `${name} is not a dependency`);
    assert.equal(packageJson.devDependencies[name], version, `${name} is installed here for development`);
  }
});

test('the light install leaves out every engine package, onnxruntime-node included', async () => {
  for (const name of [...Object.keys(OPTIONAL_PACKAGES), 'onnxruntime-node', '@node-llama-cpp/linux-x64']) {
    await assert.rejects(
      fs.access(path.join(project, 'node_modules', name)),
      { code: 'ENOENT' },
      `${name} is not installed`,
    );
  }
  const installed = JSON.parse(
    await fs.readFile(path.join(project, 'node_modules/byzerllm/package.json'), 'utf8'),
  );
  assert.equal(installed.version, packageJson.version);
  await fs.access(path.join(project, 'node_modules/byzerllm/LICENSE'));
});

test('the installed size stays under 50 MB', async (context) => {
  const { stdout } = await run('du', ['-sb', path.join(project, 'node_modules')]);
  const bytes = Number(stdout.split('\t')[0]);
  context.diagnostic(`installed node_modules: ${(bytes / 1024 / 1024).toFixed(1)} MB`);
  assert.ok(bytes > 1024 * 1024 && bytes < SIZE_LIMIT_BYTES, `${bytes} bytes`);
});

const CONSUMER_SCRIPT = `
import { ByzerLLM, SimpleByzerLLM } from 'byzerllm/client';
import * as root from 'byzerllm';
import manifest from 'byzerllm/package.json' with { type: 'json' };
const report = { client: typeof ByzerLLM, root: typeof root.SqlSession, version: manifest.version };
const cluster = await new SimpleByzerLLM().cluster();
try {
  await new root.SqlSession({ cluster }).run('select 1');
} catch (error) {
  report.sql = [error.code, error.message];
}
const llm = new SimpleByzerLLM();
try {
  await llm.deploy({
    udfName: 'bedrock',
    pretrainedModelType: 'saas/aws_bedrock',
    inferParams: { 'saas.region_name': 'us-east-1', 'saas.model': 'anthropic.claude-3-haiku', 'saas.aws_access_key': 'a', 'saas.aws_secret_key': 'b' },
  });
  report.bedrock = ['deployed', JSON.stringify(await llm.chatOai({ model: 'bedrock', conversations: [{ role: 'user', content: 'hi' }] }).catch((error) => [error.code, error.message]))];
} catch (error) {
  report.bedrock = [error.code, error.message];
}
await llm.close();
console.log(JSON.stringify(report));
process.exit(0);
`;

test('byzerllm/client and the root entry import with the engines absent; a missing one is named', async () => {
  await fs.writeFile(path.join(project, 'consumer.mjs'), CONSUMER_SCRIPT);
  const { stdout } = await run(process.execPath, ['consumer.mjs'], { cwd: project });
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
  assert.equal(report.client, 'function');
  assert.equal(report.root, 'function');
  assert.equal(report.version, packageJson.version);
  assert.deepEqual(report.sql, [
    'unsupported',
    `byzerllm sql needs the optional package @duckdb/node-api, which is not installed: ${installCommand(['@duckdb/node-api'])}`,
  ]);
  assert.match(JSON.stringify(report.bedrock), /unsupported/);
  assert.match(
    JSON.stringify(report.bedrock),
    new RegExp(
      installCommand(['@aws-sdk/client-bedrock-runtime', '@smithy/node-http-handler']).replace(
        /[.^]/g,
        '\\$&',
      ),
    ),
  );
});

const CONSUMER_TYPES = `
import { ByzerLLM, type ChatResponse } from 'byzerllm/client';
import { UnsupportedError } from 'byzerllm';

export async function ask(question: string): Promise<string> {
  const llm = ByzerLLM.fromDefaultModel('chat');
  const [answer]: ChatResponse[] = await llm.chatOai({ conversations: [{ role: 'user', content: question }] });
  await llm.close();
  return answer?.output ?? '';
}
export const unsupported: Error = new UnsupportedError('no');
`;

test('a consumer type-checks against the installed declarations under strict', async () => {
  await fs.writeFile(path.join(project, 'ask.ts'), CONSUMER_TYPES);
  await fs.writeFile(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types: ['node'],
        typeRoots: [path.join(repository, 'node_modules/@types')],
        skipLibCheck: false,
      },
      files: ['ask.ts'],
    }),
  );
  const typescript = path.join(repository, 'node_modules/typescript/bin/tsc');
  const checked = await run(process.execPath, [typescript, '-p', 'tsconfig.json'], { cwd: project }).then(
    () => 'ok',
    (error: { stdout: string }) => error.stdout,
  );
  assert.equal(checked, 'ok');
  // The same file with a type error fails: the check really reads byzerllm's declarations.
  await fs.writeFile(
    path.join(project, 'ask.ts'),
    `${CONSUMER_TYPES}\nexport const wrong: number = ByzerLLM;\n`,
  );
  await assert.rejects(run(process.execPath, [typescript, '-p', 'tsconfig.json'], { cwd: project }), {
    stdout: /TS2322/,
  });
});

test('published source maps carry their sources', async () => {
  const installed = path.join(project, 'node_modules/byzerllm/dist/src');
  for (const file of ['index.js.map', 'client/index.js.map', 'client/byzer-llm.js.map']) {
    const map = JSON.parse(await fs.readFile(path.join(installed, file), 'utf8')) as {
      sources: string[];
      sourcesContent?: (string | null)[];
    };
    assert.equal(map.sourcesContent?.length, map.sources.length, file);
    for (const content of map.sourcesContent ?? []) assert.ok(content && content.length > 0, file);
  }
});
