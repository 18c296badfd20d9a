// Images as inline PNG data URIs (for the outlier and misclassified galleries of a report).
// Input: a Float32Array in CHW order with 1 (grayscale) or 3 (RGB) channels. Values in [0, 1] are
// used as they are; otherwise (e.g. normalized inputs) the image is rescaled by its own min/max.
// Each pixel becomes a scale × scale block (nearest neighbour).
import { PNG } from 'pngjs';

export interface ImageCell {
  image: Float32Array;
  /** [C, H, W] or [H, W]. */
  shape: number[];
  caption: string;
}

/** Encodes a CHW image as PNG bytes (8-bit RGBA, opaque). */
export function encodePng(image: Float32Array, shape: readonly number[], scale = 1): Buffer {
  const dims = shape.length === 2 ? [1, shape[0], shape[1]] : [...shape];
  if (dims.length !== 3 || (dims[0] !== 1 && dims[0] !== 3)) {
    throw new RangeError(`encodePng: image must have shape [1 or 3, H, W] or [H, W], got [${shape.join(', ')}]`);
  }
  const [c, h, w] = dims;
  if (image.length !== c * h * w) throw new RangeError(`encodePng: shape [${shape.join(', ')}] needs ${c * h * w} values, got ${image.length}`);
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`encodePng: scale must be a positive integer, got ${scale}`);
  let min = Infinity;
  let max = -Infinity;
  for (const v of image) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const inUnit = min >= 0 && max <= 1;
  const lo = inUnit ? 0 : min;
  const span = inUnit ? 1 : max - min || 1;
  const png = new PNG({ width: w * scale, height: h * scale });
  for (let y = 0; y < h * scale; y++) {
    for (let x = 0; x < w * scale; x++) {
      const src = Math.floor(y / scale) * w + Math.floor(x / scale);
      const o = (y * w * scale + x) * 4;
      for (let k = 0; k < 3; k++) {
        const v = image[(c === 1 ? 0 : k) * h * w + src];
        png.data[o + k] = Math.round(Math.min(1, Math.max(0, (v - lo) / span)) * 255);
      }
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** A data: URI holding the PNG of a CHW image. */
export function pngDataUri(image: Float32Array, shape: readonly number[], scale = 1): string {
  return `data:image/png;base64,${encodePng(image, shape, scale).toString('base64')}`;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** An HTML grid of captioned images (figures with inline PNGs), upscaled by an integer factor. */
export function imageGridHtml(cells: ImageCell[], options: { scale?: number; title?: string } = {}): string {
  const scale = options.scale ?? 3;
  const figures = cells.map((c) => {
    const uri = pngDataUri(c.image, c.shape, scale);
    return `<figure><img src="${uri}" alt="${escapeHtml(c.caption)}"><figcaption>${escapeHtml(c.caption)}</figcaption></figure>`;
  });
  const title = options.title ? `<h3>${escapeHtml(options.title)}</h3>` : '';
  return `${title}<div class="image-grid">${figures.join('')}</div>`;
}
