// Image transforms on one image (Float32Array in CHW order) or on a batch (NCHW).
//
// An Image is { data, channels, height, width }; operations return new images and never write
// into their input. Deterministic operations are plain functions (flipHorizontal, padImage,
// cropImage, resizeBilinear, normalizeImage, affineImage); random ones are Transforms,
// (image, generator) => image, made by factories (randomHorizontalFlip, randomCrop,
// randomShear, randomZoom, randomAffine). Every random choice comes from the Generator passed
// in, so the same seed gives the same augmented images.
//
// Every transform made by a factory here carries a `spec` (the factory's name and arguments, plain
// data): the loader's worker threads cannot receive a function, so they rebuild the transform with
// transformFromSpec. A hand-written function has no spec and runs on the loader's own thread.
import type { Generator } from '../tensor/random.js';

export interface Image {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/** A transform as data: the name of the factory in this file and its arguments (structured-cloneable). */
export interface TransformSpec {
  readonly fn: string;
  readonly args: readonly unknown[];
}

export type Transform = ((image: Image, gen: Generator) => Image) & { readonly spec?: TransformSpec };

/** Attaches the factory call that rebuilds t (see transformFromSpec). */
function described(t: (image: Image, gen: Generator) => Image, fn: string, args: readonly unknown[]): Transform {
  Object.defineProperty(t, 'spec', { value: { fn, args: structuredClone(args) }, enumerable: false });
  return t;
}

function checkImage(fn: string, img: Image): void {
  const { data, channels: c, height: h, width: w } = img;
  if (data.length !== c * h * w) {
    throw new RangeError(`${fn}: image data has ${data.length} values but [${c}, ${h}, ${w}] needs ${c * h * w}`);
  }
}

/** Mirrors the columns (left-right flip). */
export function flipHorizontal(img: Image): Image {
  checkImage('flipHorizontal', img);
  const { data, channels: c, height: h, width: w } = img;
  const out = new Float32Array(data.length);
  for (let row = 0; row < c * h; row++) {
    const base = row * w;
    for (let x = 0; x < w; x++) out[base + x] = data[base + w - 1 - x];
  }
  return { data: out, channels: c, height: h, width: w };
}

/** Pads every side by `padding` pixels of `value` (default 0, torchvision's fill). */
export function padImage(img: Image, padding: number, value = 0): Image {
  checkImage('padImage', img);
  if (!Number.isInteger(padding) || padding < 0) throw new RangeError(`padImage: padding must be an integer >= 0, got ${padding}`);
  const { data, channels: c, height: h, width: w } = img;
  const ph = h + 2 * padding;
  const pw = w + 2 * padding;
  const out = new Float32Array(c * ph * pw);
  if (value !== 0) out.fill(value);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      out.set(data.subarray((ch * h + y) * w, (ch * h + y + 1) * w), (ch * ph + y + padding) * pw + padding);
    }
  }
  return { data: out, channels: c, height: ph, width: pw };
}

/** The window of `height` x `width` pixels whose top-left corner is (top, left). */
export function cropImage(img: Image, top: number, left: number, height: number, width: number): Image {
  checkImage('cropImage', img);
  const { data, channels: c, height: h, width: w } = img;
  if (![top, left, height, width].every(Number.isInteger) || top < 0 || left < 0 || height < 1 || width < 1 || top + height > h || left + width > w) {
    throw new RangeError(`cropImage: window top=${top} left=${left} ${height}x${width} does not fit in a ${h}x${w} image`);
  }
  const out = new Float32Array(c * height * width);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < height; y++) {
      const from = (ch * h + top + y) * w + left;
      out.set(data.subarray(from, from + width), (ch * height + y) * width);
    }
  }
  return { data: out, channels: c, height, width };
}

/**
 * Bilinear resize as torch.nn.functional.interpolate(mode='bilinear', align_corners=False,
 * antialias=False): output pixel i samples input coordinate max(0, (i + 0.5) * in/out - 0.5),
 * neighbours clamped at the last row/column. Used for AlexNet's 224x224 inputs.
 */
export function resizeBilinear(img: Image, outHeight: number, outWidth: number): Image {
  checkImage('resizeBilinear', img);
  if (!Number.isInteger(outHeight) || !Number.isInteger(outWidth) || outHeight < 1 || outWidth < 1) {
    throw new RangeError(`resizeBilinear: output size must be integers >= 1, got ${outHeight}x${outWidth}`);
  }
  const { data, channels: c, height: h, width: w } = img;
  const axis = (inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; t: Float32Array } => {
    const i0 = new Int32Array(outSize);
    const i1 = new Int32Array(outSize);
    const t = new Float32Array(outSize);
    const scale = inSize / outSize;
    for (let o = 0; o < outSize; o++) {
      const s = Math.max(0, (o + 0.5) * scale - 0.5);
      const lo = Math.min(Math.floor(s), inSize - 1);
      i0[o] = lo;
      i1[o] = Math.min(lo + 1, inSize - 1);
      t[o] = s - lo;
    }
    return { i0, i1, t };
  };
  const ys = axis(h, outHeight);
  const xs = axis(w, outWidth);
  const out = new Float32Array(c * outHeight * outWidth);
  for (let ch = 0; ch < c; ch++) {
    const plane = ch * h * w;
    for (let oy = 0; oy < outHeight; oy++) {
      const r0 = plane + ys.i0[oy] * w;
      const r1 = plane + ys.i1[oy] * w;
      const ty = ys.t[oy];
      const base = (ch * outHeight + oy) * outWidth;
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = xs.i0[ox];
        const x1 = xs.i1[ox];
        const tx = xs.t[ox];
        const top = data[r0 + x0] * (1 - tx) + data[r0 + x1] * tx;
        const bottom = data[r1 + x0] * (1 - tx) + data[r1 + x1] * tx;
        out[base + ox] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return { data: out, channels: c, height: outHeight, width: outWidth };
}

/** (x - mean[c]) / std[c] per channel, as torchvision's Normalize. */
export function normalizeImage(img: Image, mean: readonly number[], std: readonly number[]): Image {
  checkImage('normalizeImage', img);
  const { data, channels: c, height: h, width: w } = img;
  if (mean.length !== c || std.length !== c) {
    throw new RangeError(`normalizeImage: need ${c} means and stds (one per channel), got ${mean.length} and ${std.length}`);
  }
  if (std.some((s) => !(s > 0))) throw new RangeError(`normalizeImage: std must be > 0, got [${std.join(', ')}]`);
  const out = new Float32Array(data.length);
  const hw = h * w;
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch];
    const inv = 1 / std[ch];
    for (let k = ch * hw; k < (ch + 1) * hw; k++) out[k] = (data[k] - m) * inv;
  }
  return { data: out, channels: c, height: h, width: w };
}

export interface AffineParams {
  /** Shear angle in degrees (counter-clockwise, Keras' shear_range unit). Default 0. */
  shear?: number;
  /** Zoom factor along rows (Keras' zx); > 1 samples a larger area, so content shrinks. Default 1. */
  zoomRow?: number;
  /** Zoom factor along columns (Keras' zy). Default 1. */
  zoomCol?: number;
}

/**
 * Shear and zoom as Keras' apply_affine_transform (ImageDataGenerator shear_range/zoom_range):
 * the output pixel at (row, col) samples the input at c + A·((row, col) − c), where
 * A = [[1, −sin s], [0, cos s]] · diag(zoomRow, zoomCol) and c is the image centre.
 * Sampling is bilinear (Keras' default interpolation order 1) with fill mode 'nearest'
 * (coordinates outside the image are clamped to the border). One difference from Keras: the
 * centre is the geometric one ((H−1)/2, (W−1)/2); Keras uses (H/2 + 0.5, W/2 + 0.5), which also
 * shifts the image by about a pixel whenever it shears or zooms.
 */
export function affineImage(img: Image, params: AffineParams): Image {
  checkImage('affineImage', img);
  const { data, channels: c, height: h, width: w } = img;
  const s = ((params.shear ?? 0) * Math.PI) / 180;
  const zr = params.zoomRow ?? 1;
  const zc = params.zoomCol ?? 1;
  const a00 = zr;
  const a01 = -Math.sin(s) * zc;
  const a11 = Math.cos(s) * zc;
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  const out = new Float32Array(data.length);
  const hw = h * w;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sy = Math.min(Math.max(cy + a00 * (y - cy) + a01 * (x - cx), 0), h - 1);
      const sx = Math.min(Math.max(cx + a11 * (x - cx), 0), w - 1);
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const y1 = Math.min(y0 + 1, h - 1);
      const x1 = Math.min(x0 + 1, w - 1);
      const ty = sy - y0;
      const tx = sx - x0;
      for (let ch = 0; ch < c; ch++) {
        const p = ch * hw;
        const top = data[p + y0 * w + x0] * (1 - tx) + data[p + y0 * w + x1] * tx;
        const bottom = data[p + y1 * w + x0] * (1 - tx) + data[p + y1 * w + x1] * tx;
        out[p + y * w + x] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return { data: out, channels: c, height: h, width: w };
}

/** Flips left-right with probability p (one uniform draw per image). */
export function randomHorizontalFlip(p = 0.5): Transform {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`randomHorizontalFlip: p must be in [0, 1], got ${p}`);
  return described((img, gen) => (gen.uniform() < p ? flipHorizontal(img) : img), 'randomHorizontalFlip', [p]);
}

/**
 * torchvision RandomCrop(size, padding): zero-pads every side by `padding`, then crops a
 * size x size window (or [height, width]) at a uniform random position, top drawn first.
 */
export function randomCrop(size: number | [number, number], options: { padding?: number } = {}): Transform {
  const [th, tw] = typeof size === 'number' ? [size, size] : size;
  const padding = options.padding ?? 0;
  return described((img, gen) => {
    const padded = padding > 0 ? padImage(img, padding) : img;
    if (th > padded.height || tw > padded.width) {
      throw new RangeError(`randomCrop: crop ${th}x${tw} is larger than the padded image ${padded.height}x${padded.width}`);
    }
    const top = gen.int(padded.height - th + 1);
    const left = gen.int(padded.width - tw + 1);
    return cropImage(padded, top, left, th, tw);
  }, 'randomCrop', [size, options]);
}

export interface RandomAffineOptions {
  /** Keras shear_range: shear angle uniform in [-shearRange, shearRange] degrees. */
  shearRange?: number;
  /** Keras zoom_range: a number z means [1 - z, 1 + z]; zoomRow and zoomCol drawn independently. */
  zoomRange?: number | [number, number];
}

/**
 * Keras ImageDataGenerator's shear + zoom in one resampling (affineImage). Draw order: the
 * shear angle (when shearRange > 0), then zoomRow, zoomCol (when the zoom range is not [1, 1]).
 */
export function randomAffine(options: RandomAffineOptions): Transform {
  const shearRange = options.shearRange ?? 0;
  const z = options.zoomRange ?? 0;
  const [zlo, zhi] = typeof z === 'number' ? [1 - z, 1 + z] : z;
  if (!(shearRange >= 0)) throw new RangeError(`randomAffine: shearRange must be >= 0 degrees, got ${shearRange}`);
  if (!(zlo > 0 && zhi >= zlo)) throw new RangeError(`randomAffine: zoom range must satisfy 0 < low <= high, got [${zlo}, ${zhi}]`);
  return described((img, gen) => {
    const shear = shearRange > 0 ? (gen.uniform() * 2 - 1) * shearRange : 0;
    let zoomRow = 1;
    let zoomCol = 1;
    if (zlo !== 1 || zhi !== 1) {
      zoomRow = zlo + gen.uniform() * (zhi - zlo);
      zoomCol = zlo + gen.uniform() * (zhi - zlo);
    }
    return shear === 0 && zoomRow === 1 && zoomCol === 1 ? img : affineImage(img, { shear, zoomRow, zoomCol });
  }, 'randomAffine', [options]);
}

/** Keras shear_range alone (degrees). */
export function randomShear(shearRange: number): Transform {
  return randomAffine({ shearRange });
}

/** Keras zoom_range alone. */
export function randomZoom(zoomRange: number | [number, number]): Transform {
  return randomAffine({ zoomRange });
}

/** Bilinear resize to height x width as a Transform. */
export function resize(height: number, width: number = height): Transform {
  return described((img) => (img.height === height && img.width === width ? img : resizeBilinear(img, height, width)), 'resize', [height, width]);
}

/** Per-channel normalization as a Transform. */
export function normalize(mean: readonly number[], std: readonly number[]): Transform {
  return described((img) => normalizeImage(img, mean, std), 'normalize', [mean, std]);
}

/** Applies transforms left to right. */
export function compose(...transforms: Transform[]): Transform {
  const t = (img: Image, gen: Generator): Image => transforms.reduce((acc, f) => f(acc, gen), img);
  // Describable only when every part is.
  return transforms.every((f) => f.spec !== undefined) ? described(t, 'compose', transforms.map((f) => f.spec)) : t;
}

/**
 * Applies a transform to each image of an NCHW batch in order (image 0 first, so random draws
 * are reproducible). All outputs must share one shape; returns the new batch and its shape.
 */
export function applyToBatch(
  transform: Transform,
  batch: Float32Array,
  shape: readonly [number, number, number, number],
  gen: Generator,
): { data: Float32Array; shape: [number, number, number, number] } {
  const [n, c, h, w] = shape;
  if (batch.length !== n * c * h * w) throw new RangeError(`applyToBatch: batch has ${batch.length} values but [${shape.join(', ')}] needs ${n * c * h * w}`);
  return transformImages(transform, batch, shape, gen, (len) => new Float32Array(len), 'applyToBatch');
}

/**
 * applyToBatch's loop, for callers that bring the output buffer (`alloc(len)`; every value is
 * written, so it need not be zeroed) and name themselves in the error (`fn`). `batch` holds at
 * least the shape's values.
 */
export function transformImages(
  transform: Transform,
  batch: Float32Array,
  shape: readonly [number, number, number, number],
  gen: Generator,
  alloc: (len: number) => Float32Array,
  fn: string,
): { data: Float32Array; shape: [number, number, number, number] } {
  const [n, c, h, w] = shape;
  const per = c * h * w;
  let out: Float32Array | null = null;
  let outShape: [number, number, number, number] = [n, c, h, w];
  for (let i = 0; i < n; i++) {
    // Transforms never write into their input, so a view of the batch is safe to pass.
    const r = transform({ data: batch.subarray(i * per, (i + 1) * per), channels: c, height: h, width: w }, gen);
    if (out === null) {
      outShape = [n, r.channels, r.height, r.width];
      out = alloc(n * r.data.length);
    } else if (r.channels !== outShape[1] || r.height !== outShape[2] || r.width !== outShape[3]) {
      throw new RangeError(`${fn}: transform gave image ${i} shape [${r.channels}, ${r.height}, ${r.width}], image 0 [${outShape.slice(1).join(', ')}]`);
    }
    out.set(r.data, i * r.data.length);
  }
  return { data: out ?? new Float32Array(0), shape: outShape };
}

/** Python's round(): halves go to the even neighbour (torchvision's crop offsets use it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The centre window of size x size (or [height, width]), as torchvision's CenterCrop. */
export function centerCrop(size: number | [number, number]): Transform {
  const [th, tw] = typeof size === 'number' ? [size, size] : size;
  return described((img) => {
    if (th > img.height || tw > img.width) throw new RangeError(`centerCrop: crop ${th}x${tw} is larger than the image ${img.height}x${img.width}`);
    return cropImage(img, roundHalfEven((img.height - th) / 2), roundHalfEven((img.width - tw) / 2), th, tw);
  }, 'centerCrop', [size]);
}

/**
 * Resizes (bilinear) so that the shorter side is `size`, the longer one floor(size * long /
 * short), as torchvision's Resize(int).
 */
export function resizeShorter(size: number): Transform {
  return described((img) => {
    const short = Math.min(img.height, img.width);
    const h = img.height === short ? size : Math.floor((size * img.height) / short);
    const w = img.height === short ? Math.floor((size * img.width) / short) : size;
    return h === img.height && w === img.width ? img : resizeBilinear(img, h, w);
  }, 'resizeShorter', [size]);
}

export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image (default [0.08, 1]). */
  scale?: [number, number];
  /** Range of the crop's aspect ratio width / height (default [3/4, 4/3]). */
  ratio?: [number, number];
}

/**
 * torchvision's RandomResizedCrop: up to 10 tries of an area uniform in scale * H * W and a
 * log-uniform aspect ratio, w = round(sqrt(area * ratio)), h = round(sqrt(area / ratio)); the
 * first window that fits is placed uniformly (top drawn first), otherwise the centre window with
 * the ratio clamped to the range. The window is resized (bilinear) to size x size.
 */
export function randomResizedCrop(size: number | [number, number], options: RandomResizedCropOptions = {}): Transform {
  const [th, tw] = typeof size === 'number' ? [size, size] : size;
  const [smin, smax] = options.scale ?? [0.08, 1];
  const [rmin, rmax] = options.ratio ?? [3 / 4, 4 / 3];
  if (!(smin > 0 && smax >= smin && smax <= 1)) throw new RangeError(`randomResizedCrop: scale must satisfy 0 < low <= high <= 1, got [${smin}, ${smax}]`);
  if (!(rmin > 0 && rmax >= rmin)) throw new RangeError(`randomResizedCrop: ratio must satisfy 0 < low <= high, got [${rmin}, ${rmax}]`);
  const [lmin, lmax] = [Math.log(rmin), Math.log(rmax)];
  return described((img, gen) => {
    const { height: H, width: W } = img;
    const area = H * W;
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * (smin + gen.uniform() * (smax - smin));
      const ratio = Math.exp(lmin + gen.uniform() * (lmax - lmin));
      const w = Math.round(Math.sqrt(target * ratio));
      const h = Math.round(Math.sqrt(target / ratio));
      if (w > 0 && w <= W && h > 0 && h <= H) {
        const top = gen.int(H - h + 1);
        const left = gen.int(W - w + 1);
        return resizeBilinear(cropImage(img, top, left, h, w), th, tw);
      }
    }
    const inRatio = W / H;
    let w = W;
    let h = H;
    if (inRatio < rmin) h = Math.round(w / rmin);
    else if (inRatio > rmax) w = Math.round(h * rmax);
    return resizeBilinear(cropImage(img, Math.floor((H - h) / 2), Math.floor((W - w) / 2), h, w), th, tw);
  }, 'randomResizedCrop', [size, options]);
}

type Factory = (...args: never[]) => Transform;

/** The factories whose transforms carry a spec, by name. */
const FACTORIES: Record<string, Factory> = {
  randomHorizontalFlip, randomCrop, randomAffine, resize, normalize, centerCrop, resizeShorter, randomResizedCrop,
  compose: ((...specs: TransformSpec[]) => compose(...specs.map(transformFromSpec))) as Factory,
};

/** Rebuilds a transform from its spec (the loader's worker threads do, see loader.ts). */
export function transformFromSpec(spec: TransformSpec): Transform {
  const make = typeof spec?.fn === 'string' && Object.hasOwn(FACTORIES, spec.fn) ? FACTORIES[spec.fn] : undefined;
  if (make === undefined || !Array.isArray(spec.args)) {
    throw new TypeError(`transformFromSpec: spec.fn must be one of ${Object.keys(FACTORIES).join(', ')} with an args array, got ${JSON.stringify(spec)}`);
  }
  return (make as (...args: unknown[]) => Transform)(...spec.args);
}
