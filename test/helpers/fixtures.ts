// Loads golden fixtures written by scripts/fixtures.py (PyTorch 1.13). A fixture file is
// test/fixtures/<group>.json: { "cases": [ { "name", "params", "tensors": { key: { "shape", "data" } } } ] }
// where data is base64 of little-endian float32 (or int64 for "dtype": "int64").
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FixtureTensor {
  shape: number[];
  data: Float32Array;
}

export interface FixtureCase {
  name: string;
  params: Record<string, unknown>;
  tensors: Record<string, FixtureTensor>;
}

interface RawTensor {
  shape: number[];
  dtype?: 'float32' | 'int64';
  data: string;
}

/** The repository root (dist/test/helpers -> ../../..). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function loadFixtures(group: string): FixtureCase[] {
  const file = join(repoRoot, 'test', 'fixtures', `${group}.json`);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { cases: { name: string; params?: Record<string, unknown>; tensors: Record<string, RawTensor> }[] };
  return raw.cases.map((c) => {
    const tensors: Record<string, FixtureTensor> = {};
    for (const [k, t] of Object.entries(c.tensors)) {
      const bytes = Buffer.from(t.data, 'base64');
      let data: Float32Array;
      if (t.dtype === 'int64') {
        const ints = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        data = Float32Array.from(ints, (v) => Number(v));
      } else {
        data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      }
      tensors[k] = { shape: t.shape, data };
    }
    return { name: c.name, params: c.params ?? {}, tensors };
  });
}
