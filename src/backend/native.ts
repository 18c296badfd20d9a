// Loads the compiled N-API addon (build/Release/normlab.node, built by node-gyp at npm install).
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
  const candidates = [join(root, 'build', 'Release', 'normlab.node'), join(root, 'build', 'Debug', 'normlab.node')];
  const file = candidates.find((f) => existsSync(f));
  if (file === undefined) {
    throw new Error(
      `normlab: the native addon is not built (looked for ${candidates.join(', ')}). Run 'npm install' (it compiles the addon with node-gyp).`,
    );
  }
  return createRequire(import.meta.url)(file);
}
