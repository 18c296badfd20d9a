// Small image folders for CLI tests.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/** root/class<c>/<i>.png: 3 classes (red, green, blue) of `per` RGB images of size x size. */
export async function rgbFolder(root: string, per = 4, size = 40): Promise<void> {
  for (const [c, color] of [[0, [250, 10, 10]], [1, [10, 250, 10]], [2, [10, 10, 250]]] as [number, number[]][]) {
    mkdirSync(join(root, `class${c}`), { recursive: true });
    for (let i = 0; i < per; i++) {
      const px = Buffer.alloc(size * size * 3);
      for (let k = 0; k < size * size; k++) for (let ch = 0; ch < 3; ch++) px[k * 3 + ch] = Math.min(255, color[ch] + i * 3);
      await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(join(root, `class${c}`, `${i}.png`));
    }
  }
}
