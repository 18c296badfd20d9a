// In-memory image classification datasets.
//
// Conventions: images are stored sample-major in NCHW order (sample, channel, row, column), the
// layout of the Tensor batches the loader builds. Labels are class indices 0..numClasses-1.
//
// Storage: datasets read from files keep their pixels as uint8 (0..255), one byte per value, and
// convert to float32 in [0, 1] (value / 255) when a sample is read. CIFAR-10 train is 150 MB as
// uint8 but 600 MB as float32, so the loader converts per batch instead. `images` still offers
// the whole dataset as float32: it is built on first access and kept (4 bytes per value).
// Datasets built from float data (fromArrays) keep it as given.
import { formatShape } from '../tensor/shape.js';

export interface Dataset {
  readonly name: string;
  /** Number of samples. */
  readonly n: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly numClasses: number;
  readonly classNames?: readonly string[];
  /** Class index of each sample. */
  readonly labels: Int32Array;
  /** All images as float32 in [0, 1], N*C*H*W values (built on first access for uint8 storage). */
  readonly images: Float32Array;
  /** Writes sample i (C*H*W float values in [0, 1]) into out starting at offset. */
  readImage(i: number, out: Float32Array, offset?: number): void;
  /**
   * Writes samples indices[j] one after the other into out from offset, as readImage would; the
   * loader uses it when present (one call per batch instead of one per sample).
   */
  readBatch?(indices: ArrayLike<number>, out: Float32Array, offset?: number): void;
  /** What a loader worker thread needs to read the samples itself; absent when it cannot (in-memory data). */
  workerSource?(): WorkerSource;
}

/** A dataset as a worker thread opens it (structured-cloneable; see folder.ts openWorkerSource). */
export interface WorkerSource {
  readonly kind: 'folder';
  readonly name: string;
  /** The decoded cache file: one slot of channels*size*size bytes per cached image. */
  readonly dataFile: string;
  readonly channels: number;
  readonly size: number;
  /** Cache slot of each sample. */
  readonly slots: Int32Array;
}

/** A Dataset that can make a dataset of some of its samples (ImageDataset, FolderDataset). */
export interface SubsetDataset extends Dataset {
  /** The given samples, in the given order. */
  subset(indices: ArrayLike<number>, name?: string): SubsetDataset;
}

export interface ImageDatasetInit {
  name: string;
  channels: number;
  height: number;
  width: number;
  numClasses: number;
  classNames?: readonly string[];
  labels: Int32Array;
  /** uint8 pixels 0..255 (N*C*H*W); give this or `images`. */
  pixels?: Uint8Array;
  /** float32 pixels (N*C*H*W), used as is; give this or `pixels`. */
  images?: Float32Array;
  /** Extra per-sample labels (e.g. CIFAR-100's coarse labels). */
  coarseLabels?: Int32Array;
}

/** A Dataset held in memory as uint8 or float32 pixels. */
export class ImageDataset implements Dataset {
  readonly name: string;
  readonly n: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly numClasses: number;
  readonly classNames?: readonly string[];
  readonly labels: Int32Array;
  /** CIFAR-100's 20 superclass labels, next to the 100 fine ones in `labels`. */
  readonly coarseLabels?: Int32Array;
  /** uint8 storage, or null when the dataset was built from float32 images. */
  readonly pixels: Uint8Array | null;
  private floatImages: Float32Array | null;

  constructor(init: ImageDatasetInit) {
    const { name, channels, height, width, numClasses, labels } = init;
    for (const [key, v] of Object.entries({ channels, height, width, numClasses })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`ImageDataset(${name}): ${key} must be an integer >= 1, got ${v}`);
    }
    if ((init.pixels === undefined) === (init.images === undefined)) {
      throw new TypeError(`ImageDataset(${name}): give exactly one of pixels (Uint8Array) or images (Float32Array)`);
    }
    const store = init.pixels ?? init.images!;
    const per = channels * height * width;
    const n = labels.length;
    if (store.length !== n * per) {
      throw new RangeError(
        `ImageDataset(${name}): ${n} labels need ${n} x ${formatShape([channels, height, width])} = ${n * per} pixel values, got ${store.length}`,
      );
    }
    for (let i = 0; i < n; i++) {
      if (labels[i] < 0 || labels[i] >= numClasses) {
        throw new RangeError(`ImageDataset(${name}): label of sample ${i} is ${labels[i]}, expected 0..${numClasses - 1}`);
      }
    }
    if (init.classNames !== undefined && init.classNames.length !== numClasses) {
      throw new RangeError(`ImageDataset(${name}): ${init.classNames.length} class names for ${numClasses} classes`);
    }
    if (init.coarseLabels !== undefined && init.coarseLabels.length !== n) {
      throw new RangeError(`ImageDataset(${name}): ${init.coarseLabels.length} coarse labels for ${n} samples`);
    }
    this.name = name;
    this.n = n;
    this.channels = channels;
    this.height = height;
    this.width = width;
    this.numClasses = numClasses;
    if (init.classNames !== undefined) this.classNames = [...init.classNames];
    this.labels = labels;
    if (init.coarseLabels !== undefined) this.coarseLabels = init.coarseLabels;
    this.pixels = init.pixels ?? null;
    this.floatImages = init.images ?? null;
  }

  /** Values per image (C*H*W). */
  get imageSize(): number {
    return this.channels * this.height * this.width;
  }

  get images(): Float32Array {
    if (this.floatImages === null) {
      const px = this.pixels!;
      const out = new Float32Array(px.length);
      for (let i = 0; i < px.length; i++) out[i] = px[i] / 255;
      this.floatImages = out;
    }
    return this.floatImages;
  }

  readImage(i: number, out: Float32Array, offset = 0): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) {
      throw new RangeError(`${this.name}.readImage: index must be an integer in 0..${this.n - 1}, got ${i}`);
    }
    const per = this.imageSize;
    if (this.floatImages !== null) {
      out.set(this.floatImages.subarray(i * per, (i + 1) * per), offset);
      return;
    }
    const px = this.pixels!;
    const base = i * per;
    for (let k = 0; k < per; k++) out[offset + k] = px[base + k] / 255;
  }

  readBatch(indices: ArrayLike<number>, out: Float32Array, offset = 0): void {
    const per = this.imageSize;
    const m = indices.length;
    if (out.length < offset + m * per) throw new RangeError(`${this.name}.readBatch: out has ${out.length} values, ${m} samples at offset ${offset} need ${offset + m * per}`);
    for (let j = 0; j < m; j++) this.readImage(indices[j], out, offset + j * per);
  }

  /** A new dataset of the given samples (copied, in the given order). */
  subset(indices: ArrayLike<number>, name = this.name): ImageDataset {
    const per = this.imageSize;
    const m = indices.length;
    const labels = new Int32Array(m);
    const coarse = this.coarseLabels ? new Int32Array(m) : undefined;
    const src = this.pixels ?? this.floatImages!;
    const dst = this.pixels ? new Uint8Array(m * per) : new Float32Array(m * per);
    for (let j = 0; j < m; j++) {
      const i = indices[j];
      if (!Number.isInteger(i) || i < 0 || i >= this.n) {
        throw new RangeError(`${this.name}.subset: index ${j} is ${i}, expected an integer in 0..${this.n - 1}`);
      }
      labels[j] = this.labels[i];
      if (coarse) coarse[j] = this.coarseLabels![i];
      dst.set(src.subarray(i * per, (i + 1) * per), j * per);
    }
    return new ImageDataset({
      name, channels: this.channels, height: this.height, width: this.width, numClasses: this.numClasses,
      classNames: this.classNames, labels, coarseLabels: coarse,
      ...(dst instanceof Uint8Array ? { pixels: dst } : { images: dst }),
    });
  }
}

/** A dataset from float32 images (N*C*H*W, values in [0, 1] by convention) and labels. */
export function fromArrays(
  images: Float32Array,
  labels: Int32Array,
  options: { name?: string; channels: number; height: number; width: number; numClasses: number; classNames?: readonly string[] },
): ImageDataset {
  return new ImageDataset({ name: options.name ?? 'arrays', ...options, images, labels });
}

/** Per-channel mean and (biased) standard deviation over all pixels, for `normalize`. */
export function channelStats(dataset: Dataset): { mean: number[]; std: number[] } {
  const { channels: c, height: h, width: w } = dataset;
  const hw = h * w;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  const img = new Float32Array(c * hw);
  for (let i = 0; i < dataset.n; i++) {
    dataset.readImage(i, img);
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      let q = 0;
      for (let k = ch * hw; k < (ch + 1) * hw; k++) {
        s += img[k];
        q += img[k] * img[k];
      }
      sum[ch] += s;
      sq[ch] += q;
    }
  }
  const count = dataset.n * hw;
  const mean = Array.from(sum, (s) => s / count);
  const std = Array.from(sq, (q, ch) => Math.sqrt(Math.max(0, q / count - mean[ch] * mean[ch])));
  return { mean, std };
}
