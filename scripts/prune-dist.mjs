// Usage: node scripts/prune-dist.mjs
// Deletes compiled files in dist/ whose source in lib/ is gone (tsc never deletes old
// outputs, so a renamed module would otherwise be packed twice). Run before `npm pack`
// (the prepack script); leaves current outputs alone, so nothing using dist/ meanwhile breaks.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const OUTPUT = /(\.d\.ts\.map|\.d\.ts|\.js\.map|\.js)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

if (existsSync(dist)) {
  let pruned = 0;
  for (const file of files(dist)) {
    const rel = relative(dist, file);
    if (!OUTPUT.test(rel)) continue;
    if (!existsSync(join(root, 'lib', rel.replace(OUTPUT, '.ts')))) {
      rmSync(file);
      pruned++;
    }
  }
  if (pruned > 0) process.stderr.write(`prune-dist: removed ${pruned} compiled file(s) whose source is gone\n`);
}
