import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Folders of lib/ that must not import each other, either way. The cache holds
 * snapshots and knows nothing of SQL; the store writes rows and knows nothing of the
 * cache. What both need (the snapshot and attribute types) lives in lib/session.
 */
const SEPARATE: Array<[string, string]> = [['cache', 'store']];

/** The project root: the nearest folder above this (compiled) file with a package.json. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above the test file');
    dir = parent;
  }
  return dir;
}

const LIB = join(projectRoot(), 'lib');

function sourcesOf(folder: string): string[] {
  return readdirSync(join(LIB, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(LIB, folder, name));
}

/**
 * Relative module specifiers of a source file: static imports and re-exports (also
 * `import type`), side-effect imports and dynamic `import()`. Comments are removed
 * first so a mention in prose does not count.
 */
function specifiersOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found: string[] = [];
  for (const m of code.matchAll(/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g)) found.push(m[1]!);
  for (const m of code.matchAll(/\bimport\s*['"]([^'"]+)['"]/g)) found.push(m[1]!);
  for (const m of code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1]!);
  return found.filter((s) => s.startsWith('.'));
}

/** `lib/<folder>/…` files of `from` that import something under `lib/<to>/`, as `file → specifier`. */
function crossings(from: string, to: string): string[] {
  const bad: string[] = [];
  for (const file of sourcesOf(from)) {
    for (const spec of specifiersOf(readFileSync(file, 'utf8'))) {
      const target = relative(LIB, resolve(dirname(file), spec));
      if (target === to || target.startsWith(`${to}/`)) bad.push(`${relative(LIB, file)} → ${spec}`);
    }
  }
  return bad;
}

describe('module boundaries in lib/', () => {
  for (const [a, b] of SEPARATE) {
    it(`lib/${a} does not import lib/${b}`, () => {
      assert.ok(sourcesOf(a).length > 0, `lib/${a} has sources`);
      assert.deepEqual(crossings(a, b), []);
    });
    it(`lib/${b} does not import lib/${a}`, () => {
      assert.ok(sourcesOf(b).length > 0, `lib/${b} has sources`);
      assert.deepEqual(crossings(b, a), []);
    });
  }

  it('sees every form of import (so the checks above can fail)', () => {
    const source = [
      "import { a } from '../store/x.js';",
      "import type { B } from '../store/y.js';",
      "import {\n  c,\n  type D,\n} from '../store/z.js';",
      "export { e } from '../store/w.js';",
      "export * from '../store/v.js';",
      "import '../store/u.js';",
      "const f = await import('../store/t.js');",
      "// import { g } from '../store/comment.js';",
      "/* import { h } from '../store/block.js'; */",
      "import { i } from 'lru-cache';",
    ].join('\n');
    assert.deepEqual(specifiersOf(source), [
      '../store/x.js', '../store/y.js', '../store/z.js', '../store/w.js', '../store/v.js', '../store/u.js', '../store/t.js',
    ]);
  });
});
