/** Every BYZERLLM_* environment variable src/ reads is documented in docs/cli.md (issue 17). */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Names src/ uses that are not variables a person sets: a warning code. */
const NOT_VARIABLES = new Set(['BYZERLLM_CHECK_RESULT']);

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

test('every BYZERLLM_ environment variable in src/ is named in docs/cli.md', async () => {
  const names = new Set<string>();
  for (const file of await sourceFiles(path.join(root, 'src'))) {
    for (const match of (await readFile(file, 'utf8')).matchAll(/BYZERLLM_[A-Z0-9_]+/g)) names.add(match[0]);
  }
  assert.ok(names.has('BYZERLLM_ADDRESS') && names.size > 10, 'the scan finds the variables');
  const documentation = await readFile(path.join(root, 'docs/cli.md'), 'utf8');
  const missing = [...names].filter(
    (name) => !NOT_VARIABLES.has(name) && !documentation.includes(`\`${name}\``),
  );
  assert.deepEqual(missing, []);
});
