// Runs every benchmark (or those named on the command line): `npm run bench [-- gemm conv]`.
// Each prints JSON lines {name, threads, normlab_ms, torch_ms, ratio}.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const names = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !['run.js', 'common.js'].includes(f))
  .map((f) => f.slice(0, -3))
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();
for (const n of names) {
  const mod = (await import(join(here, `${n}.js`))) as { main?: () => void | Promise<void> };
  if (typeof mod.main === 'function') await mod.main();
}
