// Seed 001's seed derivation: a small integer is made "more complex" with MD5,
// seed' = int(md5(str(seed)).hexdigest()[-8:], 16)   (0 → 4186399962, 1 → 1869972635).
import { createHash } from 'node:crypto';

export function md5Seed(seed: number | string): number {
  const s = String(seed);
  const hex = createHash('md5').update(s, 'utf8').digest('hex');
  return parseInt(hex.slice(-8), 16);
}

/**
 * The seed of one named random stream of a run whose seed is `seed` (already md5Seed-derived):
 * md5Seed(`${seed}:${stream}`). Generators built from the same number replay the same stream,
 * so a run that seeds its weight init, its data order and its subset choice with one number
 * couples them (the first epoch's shuffle becomes a function of the first conv weights); each
 * purpose gets its own seed instead, as PyTorch's sampler draws fresh values after the init.
 */
export function streamSeed(seed: number, stream: string): number {
  return md5Seed(`${seed}:${stream}`);
}
