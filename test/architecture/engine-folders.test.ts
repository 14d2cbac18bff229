/**
 * Engine folders are independent: a folder under src/engines imports only `core`, `engines/shared`
 * and itself (never a sibling engine used as a hidden library); `engines/shared` imports only `core`
 * and itself. What several engines need lives in `engines/shared/`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const enginesRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/engines');

const IMPORT_PATTERN =
  /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** `a/b.ts` imports `../c/d.js` → the violation text, for every import leaving the allowed folders. */
export function findEngineFolderViolations(root: string): string[] {
  const violations: string[] = [];
  const srcRoot = path.dirname(root);
  for (const entry of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const folder = path.relative(root, file).split(path.sep)[0]!;
    if (folder === path.relative(root, file)) continue; // registry.ts, index.ts: the engines' surface
    const allowed = [path.join(root, folder), path.join(srcRoot, 'core'), path.join(root, 'shared')];
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT_PATTERN)) {
      const target = path.resolve(path.dirname(file), match[1] ?? match[2]!);
      if (!allowed.some((directory) => target.startsWith(directory + path.sep))) {
        violations.push(`${path.relative(root, file)} imports ${match[1] ?? match[2]}`);
      }
    }
  }
  return violations.sort();
}

test('an engine folder imports only core, engines/shared and itself', () => {
  assert.deepEqual(findEngineFolderViolations(enginesRoot), []);
});

test('the checker catches a sibling engine used as a library', () => {
  const temporary = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'engines-'));
  try {
    const engines = path.join(temporary, 'engines');
    for (const folder of ['alpha', 'beta', 'shared'])
      fs.mkdirSync(path.join(engines, folder), { recursive: true });
    fs.mkdirSync(path.join(temporary, 'core'));
    fs.writeFileSync(path.join(engines, 'beta', 'beta.ts'), "import { a } from '../alpha/alpha.js';\n");
    fs.writeFileSync(
      path.join(engines, 'alpha', 'alpha.ts'),
      "import { s } from '../shared/s.js';\nimport type { c } from '../../core/c.js';\nexport const a = 1;\n",
    );
    assert.deepEqual(findEngineFolderViolations(engines), ['beta/beta.ts imports ../alpha/alpha.js']);
  } finally {
    fs.rmSync(temporary, { recursive: true, force: true });
  }
});
