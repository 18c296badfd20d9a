// Seeded test inputs reproduced bit for bit by scripts/fixture_groups/reduce_large.py
// (seeded_uniform): x_i = fround(fround(u_i * scale) + offset), u_i in [-1, 1) with 24 random
// bits from a 32-bit integer hash of (i, seed). The fixtures then store outputs only.

/** n float32 values from the seeded hash, scaled and offset. */
export function seededUniform(n: number, seed: number, scale: number, offset: number): Float32Array {
  const out = new Float32Array(n);
  const s = Math.imul(seed, 0x85ebca77) >>> 0;
  const sc = Math.fround(scale);
  const off = Math.fround(offset);
  for (let i = 0; i < n; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + s) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
    h = Math.imul(h, 0x2c1b3c6d) >>> 0;
    h = (h ^ (h >>> 12)) >>> 0;
    h = Math.imul(h, 0x297a2d39) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
    const u = (h >>> 8) * 2 ** -23 - 1;
    out[i] = Math.fround(Math.fround(u * sc) + off);
  }
  return out;
}
