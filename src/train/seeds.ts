// Seed 001's seed derivation: a small integer is made "more complex" with MD5,
// seed' = int(md5(str(seed)).hexdigest()[-8:], 16)   (0 → 4186399962, 1 → 1869972635).
import { createHash } from 'node:crypto';

export function md5Seed(seed: number | string): number {
  const s = String(seed);
  const hex = createHash('md5').update(s, 'utf8').digest('hex');
  return parseInt(hex.slice(-8), 16);
}
