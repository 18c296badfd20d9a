// Loads the N-API addon: build/Release/normlab.node when it was compiled here (node-gyp), else the
// prebuilt prebuilds/<platform>-<arch>/normlab.node that `npm install` chose because it was made
// from the same sources (scripts/native-addon.js).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Walks up from this file to the package root (the folder holding binding.gyp). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('normlab: cannot find the package root (binding.gyp) above ' + fileURLToPath(import.meta.url));
}

export function loadAddon(): unknown {
  const root = packageRoot();
  const candidates = [
    join(root, 'build', 'Release', 'normlab.node'),
    join(root, 'build', 'Debug', 'normlab.node'),
    join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'normlab.node'),
  ];
  const file = candidates.find((f) => existsSync(f));
  if (file === undefined) {
    throw new Error(
      `normlab: the native addon is not built (looked for ${candidates.join(', ')}). Run 'npm install': it uses the prebuilt addon when one fits and compiles with node-gyp otherwise.`,
    );
  }
  return createRequire(import.meta.url)(file);
}
