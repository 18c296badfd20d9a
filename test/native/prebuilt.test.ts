// The prebuilt addon (prebuilds/<platform>-<arch>/normlab.node): when `npm install` uses it
// instead of compiling (scripts/native-addon.js), and that every ISA path inside it computes
// SGEMM against a float64 reference.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, appendFileSync, readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../helpers/fixtures.js';

interface NativeAddonScript {
  sourcesHash(dir?: string): string;
  decide(dir?: string): { use: boolean; why: string };
}

const script = (): Promise<NativeAddonScript> => import(pathToFileURL(join(repoRoot, 'scripts', 'native-addon.js')).href) as Promise<NativeAddonScript>;
const target = `${process.platform}-${process.arch}`;

/** A package folder with this repository's binding.gyp, native/, package.json and node_modules, and a prebuilt manifest with the given hash. */
function packageCopy(manifestHash: string | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'normlab-prebuilt-'));
  for (const f of ['binding.gyp', 'package.json', 'native']) cpSync(join(repoRoot, f), join(dir, f), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  if (manifestHash !== null) {
    mkdirSync(join(dir, 'prebuilds', target), { recursive: true });
    writeFileSync(join(dir, 'prebuilds', target, 'normlab.node'), 'binary');
    writeFileSync(join(dir, 'prebuilds', target, 'normlab.json'), JSON.stringify({ sources: manifestHash, compiler: 'c++ 12', glibc: '2.34' }));
  }
  return dir;
}

describe('prebuilt native addon', () => {
  it('is used only when it was made from exactly these native sources, and never when building from source is asked for', async () => {
    const { sourcesHash, decide } = await script();
    const none = packageCopy(null);
    const dir = packageCopy(sourcesHash(none));
    try {
      assert.deepEqual(decide(none), { use: false, why: `there is no prebuilt addon for ${target}` });
      assert.equal(decide(dir).use, true);
      assert.match(decide(dir).why, /^prebuilt .* addon from these sources \(c\+\+ 12, glibc >= 2\.34\)$/);
      process.env.NORMLAB_BUILD_FROM_SOURCE = '1';
      assert.deepEqual(decide(dir), { use: false, why: 'building from source was asked for' });
      delete process.env.NORMLAB_BUILD_FROM_SOURCE;
      appendFileSync(join(dir, 'native', 'kernels', 'gemm.cc'), '\n');
      const changed = decide(dir);
      assert.equal(changed.use, false);
      assert.match(changed.why, /^the native sources changed since the prebuilt addon was made \([0-9a-f]{12} vs [0-9a-f]{12}; npm run prebuilt makes a new one\)$/);
      // Another node-addon-api version (its headers are compiled in) changes the hash too.
      const other = mkdtempSync(join(tmpdir(), 'normlab-prebuilt-'));
      for (const f of ['binding.gyp', 'package.json', 'native']) cpSync(join(repoRoot, f), join(other, f), { recursive: true });
      mkdirSync(join(other, 'node_modules', 'node-addon-api'), { recursive: true });
      writeFileSync(join(other, 'node_modules', 'node-addon-api', 'package.json'), JSON.stringify({ name: 'node-addon-api', version: '0.0.1' }));
      try {
        assert.notEqual(sourcesHash(other), sourcesHash(none));
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    } finally {
      delete process.env.NORMLAB_BUILD_FROM_SOURCE;
      rmSync(none, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('computes SGEMM on every ISA this CPU has, as the committed prebuilt binary', async (t) => {
    const { decide } = await script();
    const d = decide(repoRoot);
    if (!d.use) {
      t.skip(`the committed prebuilt does not fit these sources: ${d.why}`);
      return;
    }
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'prebuilds', target, 'normlab.json'), 'utf8')) as { bytes: number };
    const file = join(repoRoot, 'prebuilds', target, 'normlab.node');
    assert.equal(readFileSync(file).length, manifest.bytes);
    const addon = createRequire(import.meta.url)(file) as {
      sgemm(ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number): void;
      supportedIsas(): string[];
      setIsa(name: string): void;
      getIsa(): string;
    };
    const [M, N, K] = [37, 45, 129];
    const A = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37));
    const B = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.11));
    const ref = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) ref[i * N + j] += A[i * K + k] * B[k * N + j];
    const isas = addon.supportedIsas();
    assert.ok(isas.includes('scalar'));
    for (const isa of isas) {
      addon.setIsa(isa);
      assert.equal(addon.getIsa(), isa);
      const C = new Float32Array(M * N);
      addon.sgemm(false, false, M, N, K, 1, A, K, B, N, 0, C, N);
      for (let i = 0; i < C.length; i++) assert.ok(Math.abs(C[i] - ref[i]) <= 1e-4 * (1 + Math.abs(ref[i])), `${isa}: C[${i}] = ${C[i]}, reference ${ref[i]}`);
    }
  });
});
