/**
 * The layering rule of docs/architecture.md: core ← engines ← cluster ← client/server/sql/train/storage
 * ← cli. A file may import its own layer and the layers below, never one above; nothing imports cli.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const sourceRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src');
const LAYER_RANK: Record<string, number> = {
  core: 0,
  engines: 1,
  cluster: 2,
  client: 3,
  server: 3,
  sql: 3,
  train: 3,
  storage: 3,
  cli: 4,
};

function* sourceFiles(directory: string): Generator<string> {
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

function layerOf(root: string, file: string): string | undefined {
  const relative = path.relative(root, file).split(path.sep);
  return relative.length > 1 ? relative[0] : undefined; // files at src/ root (index.ts) are the package surface
}

function findLayerViolations(root: string): string[] {
  const violations: string[] = [];
  for (const file of sourceFiles(root)) {
    const from = layerOf(root, file);
    if (from === undefined) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g,
    )) {
      const specifier = match[1] ?? match[2]!;
      const target = layerOf(root, path.resolve(path.dirname(file), specifier));
      if (target === undefined || target === from) continue;
      const fromRank = LAYER_RANK[from];
      const targetRank = LAYER_RANK[target];
      if (fromRank === undefined) violations.push(`${path.relative(root, file)}: unknown layer ${from}`);
      else if (targetRank === undefined)
        violations.push(`${path.relative(root, file)}: imports unknown layer ${target}`);
      else if (targetRank >= fromRank) {
        violations.push(`${path.relative(root, file)} (${from}) imports ${specifier} (${target})`);
      }
    }
  }
  return violations;
}

test('every src/ folder is a known layer', () => {
  const folders = fs
    .readdirSync(sourceRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  assert.deepEqual(
    folders.filter((folder) => !(folder in LAYER_RANK)),
    [],
  );
  assert.ok(folders.includes('core') && folders.includes('cluster') && folders.includes('cli'));
});

test('no lower layer imports an upper one, and layers of one rank do not import each other', () => {
  assert.deepEqual(findLayerViolations(sourceRoot), []);
});

test('the checker catches an upward import', () => {
  const temporary = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'layers-'));
  try {
    fs.mkdirSync(path.join(temporary, 'core'));
    fs.mkdirSync(path.join(temporary, 'cli'));
    fs.writeFileSync(path.join(temporary, 'cli', 'main.ts'), 'export const x = 1;\n');
    fs.writeFileSync(
      path.join(temporary, 'core', 'bad.ts'),
      "import { x } from '../cli/main.js';\nexport const y = x;\n",
    );
    const violations = findLayerViolations(temporary);
    assert.equal(violations.length, 1);
    assert.match(violations[0]!, /core\/bad\.ts \(core\) imports \.\.\/cli\/main\.js \(cli\)/);
  } finally {
    fs.rmSync(temporary, { recursive: true, force: true });
  }
});
