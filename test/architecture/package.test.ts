import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { PACKAGE_VERSION } from '../../src/core/index.js';

const packageJson = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));

test('PACKAGE_VERSION matches package.json', () => {
  assert.equal(PACKAGE_VERSION, packageJson.version);
});

test('every bin points at a compiled CLI entry', () => {
  for (const [name, target] of Object.entries(packageJson.bin as Record<string, string>)) {
    assert.ok(fs.existsSync(new URL(`../../../${target}`, import.meta.url)), `${name} -> ${target} exists`);
  }
});

function sourceTexts(directory: URL): string[] {
  const texts: string[] = [];
  for (const entry of fs.readdirSync(directory, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      texts.push(fs.readFileSync(`${entry.parentPath}/${entry.name}`, 'utf8'));
    }
  }
  return texts;
}

test('every runtime dependency is imported by src (test-only packages are devDependencies)', () => {
  const sources = sourceTexts(new URL('../../../src/', import.meta.url)).join('\n');
  const unused = Object.keys(packageJson.dependencies as Record<string, string>).filter(
    (name) =>
      !new RegExp(`(from|import\\()\\s*['"]${name.replace(/[/.]/g, '\\$&')}(/[^'"]*)?['"]`).test(sources),
  );
  assert.deepEqual(unused, []);
});

test('package.json has no duplicate keys and explains its prerelease pins', () => {
  const text = fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
  for (const section of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const body = new RegExp(`"${section}": \\{([^}]*)\\}`).exec(text)?.[1] ?? '';
    const names = [...body.matchAll(/"([^"]+)":/g)].map((match) => match[1]!);
    assert.deepEqual(
      names.filter((name, index) => names.indexOf(name) !== index),
      [],
      `${section} repeats a key`,
    );
  }
  const comments = ((packageJson['//'] as string[] | undefined) ?? []).join('\n');
  for (const [name, range] of Object.entries(packageJson.dependencies as Record<string, string>)) {
    if (/-\w/.test(range))
      assert.match(comments, new RegExp(name.replace(/[/.]/g, '\\$&')), `${name}@${range} is a prerelease`);
  }
});
