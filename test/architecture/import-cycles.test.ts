/**
 * No import cycles anywhere in src/, type-only imports included: a helper takes a narrow interface
 * instead of importing the facade that imports it (docs/architecture.md). Dynamic `import()` counts
 * too, since a lazily loaded module that imports its loader back is the same knot.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const sourceRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src');

function* sourceFiles(directory: string): Generator<string> {
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

const IMPORT_PATTERN =
  /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Each file's relative imports, as files of the tree (`.js` specifiers resolve to `.ts` sources). */
function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const text = fs.readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const match of text.matchAll(IMPORT_PATTERN)) {
      const specifier = match[1] ?? match[2]!;
      const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
      if (fs.existsSync(target)) targets.push(path.relative(root, target));
    }
    graph.set(path.relative(root, file), targets);
  }
  return graph;
}

/** Every cycle found by a depth-first search, each as `a → b → … → a`, once per strongly connected knot. */
export function findImportCycles(root: string): string[] {
  const graph = importGraph(root);
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      const targetState = state.get(target);
      if (targetState === 'visiting') {
        cycles.push([...stack.slice(stack.indexOf(target)), target].join(' → '));
      } else if (targetState === undefined) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

test('src/ has no import cycles, type-only imports included', () => {
  assert.deepEqual(findImportCycles(sourceRoot), []);
});

test('the checker finds a cycle made of a type-only import', () => {
  const temporary = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'cycles-'));
  try {
    fs.writeFileSync(
      path.join(temporary, 'facade.ts'),
      "import { helper } from './helper.js';\nexport class Facade {}\nhelper();\n",
    );
    fs.writeFileSync(
      path.join(temporary, 'helper.ts'),
      "import type { Facade } from './facade.js';\nexport function helper(facade?: Facade): void {}\n",
    );
    fs.writeFileSync(path.join(temporary, 'alone.ts'), "import { helper } from './helper.js';\nhelper();\n");
    assert.deepEqual(findImportCycles(temporary), ['helper.ts → facade.ts → helper.ts']);
  } finally {
    fs.rmSync(temporary, { recursive: true, force: true });
  }
});
