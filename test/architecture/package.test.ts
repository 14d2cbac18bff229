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
