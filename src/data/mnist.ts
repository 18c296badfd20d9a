// MNIST and Fashion-MNIST from IDX files: 28x28 grayscale images (1 channel) and labels 0..9.
// A folder holds a split when it has its images and labels file under any accepted name: the
// published names (train-images-idx3-ubyte, ...), the dotted variants some mirrors use
// (train-images.idx3-ubyte, ...), each raw or with .gz.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ImageDataset } from './dataset.js';
import { DataFormatError } from './errors.js';
import { readIdx } from './idx.js';
import { IDX_FILES, type IdxRole } from './sources.js';

export type Split = 'train' | 'test';

export interface IdxSplitFiles {
  images: string;
  labels: string;
}

/** Accepted file names for one IDX role, in order of preference. */
export function idxCandidates(role: IdxRole): string[] {
  const base = IDX_FILES[role];
  const dotted = base.replace(/-idx(\d)-ubyte$/, '.idx$1-ubyte');
  return [base, `${base}.gz`, dotted, `${dotted}.gz`];
}

export function idxRoles(split: Split): { images: IdxRole; labels: IdxRole } {
  return split === 'train' ? { images: 'trainImages', labels: 'trainLabels' } : { images: 'testImages', labels: 'testLabels' };
}

/** The split's two files in `folder`, or null when either is missing. */
export function findIdxFiles(folder: string, split: Split): IdxSplitFiles | null {
  const roles = idxRoles(split);
  const find = (role: IdxRole): string | undefined => idxCandidates(role).map((n) => join(folder, n)).find((p) => existsSync(p));
  const images = find(roles.images);
  const labels = find(roles.labels);
  return images !== undefined && labels !== undefined ? { images, labels } : null;
}

/** Reads an IDX image file and its label file into a dataset (1 channel). */
export function readIdxDataset(files: IdxSplitFiles, name: string, classNames: readonly string[]): ImageDataset {
  const img = readIdx(files.images, 3);
  const lab = readIdx(files.labels, 1);
  const [n, height, width] = img.dims;
  if (lab.dims[0] !== n) {
    throw new DataFormatError(files.labels, `has ${lab.dims[0]} labels but ${files.images} has ${n} images`);
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = lab.data[i];
    if (v >= classNames.length) {
      throw new DataFormatError(files.labels, `label ${i} is ${v}, expected 0..${classNames.length - 1}`);
    }
    labels[i] = v;
  }
  return new ImageDataset({
    name, channels: 1, height, width, numClasses: classNames.length, classNames,
    labels, pixels: new Uint8Array(img.data),
  });
}
