// loadDataset: one entry point for every dataset, looking for files in this order:
//   1. `dataDir` (the CLI's --data-dir), when given;
//   2. the cache, `cacheDir` or $NORMLAB_DATA or ~/.cache/normlab, under <cache>/<name>/;
//   3. a download into the cache from the official source (download: true only).
// Without any of them a MissingDataError says which files to put where.
//
// Accepted layouts under a folder F (dataDir or the cache's <name>/ folder):
//   mnist, fashion-mnist: F/ itself, F/<name>/, or torchvision's F/MNIST/raw/ and
//     F/FashionMNIST/raw/, holding the IDX files raw or .gz (see mnist.ts for the names);
//   cifar10: F/cifar-10-batches-bin/, F/ itself, F/cifar10/cifar-10-batches-bin/ with
//     data_batch_1..5.bin and test_batch.bin, or the archive F/cifar-10-binary.tar.gz;
//   cifar100: the same with cifar-100-binary/ (train.bin, test.bin) and cifar-100-binary.tar.gz.
//   folder: an ImageFolder tree (imagefolder.ts), dataDir only: dataDir/train/<class>/... with
//     dataDir/val/ (or test/) as the test split, or one tree dataDir/<class>/... split into
//     train and test by a stratified split (folderTestFraction, seed folderSplitSeed).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadBundledMnist } from './bundled.js';
import { concatRecords, parseCifar, readCifarFiles, type CifarRecords, type CifarVariant } from './cifar.js';
import { ImageDataset, type SubsetDataset } from './dataset.js';
import { folderSplits, openImageFolder, scanImageFolder, type FolderDataset } from './imagefolder.js';
import { stratifiedSplit } from './split.js';
import { defaultCacheDir, downloadFile } from './download.js';
import { DataFormatError, MissingDataError } from './errors.js';
import { gunzipFile } from './gzip.js';
import { findIdxFiles, idxCandidates, idxRoles, readIdxDataset, type IdxSplitFiles, type Split } from './mnist.js';
import * as src from './sources.js';
import { extractTarGzFolder, readTar } from './tar.js';

export const DATASET_NAMES = ['mnist', 'mnist-bundled', 'fashion-mnist', 'cifar10', 'cifar100', 'folder'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface LoadOptions {
  /** A folder with files the user already has (the CLI's --data-dir). */
  dataDir?: string;
  /** Default 'train'. */
  split?: Split;
  /** Download into the cache when the files are not found locally (default false). */
  download?: boolean;
  /** Cache root; default $NORMLAB_DATA or ~/.cache/normlab. */
  cacheDir?: string;
  /** CIFAR-100 only: which labels are `labels` (default 'fine', 100 classes; 'coarse': 20). */
  cifar100Labels?: 'fine' | 'coarse';
  /** folder only: cache resolution S (images become S x S; default 64). */
  imageSize?: number;
  /** folder only: channels (default: 1 when all images are grayscale, else 3). */
  channels?: 1 | 3;
  /** folder only: unreadable files are an error instead of a warning. */
  strict?: boolean;
  /** folder only, one tree: test part of the stratified split (default 0.2) and its seed (default 0). */
  folderTestFraction?: number;
  folderSplitSeed?: number;
  /** folder only: receives warning lines (default stderr). */
  warn?: (line: string) => void;
}

interface IdxSpec {
  kind: 'idx';
  classNames: readonly string[];
  subfolders: string[];
  remote: Record<src.IdxRole, src.RemoteFile>;
}

interface CifarSpec {
  kind: 'cifar';
  variant: CifarVariant;
  folder: string;
  files: Record<Split, string[]>;
  remote: src.RemoteFile;
}

const SPECS: Record<Exclude<DatasetName, 'mnist-bundled' | 'folder'>, IdxSpec | CifarSpec> = {
  mnist: { kind: 'idx', classNames: src.MNIST_CLASSES, subfolders: ['mnist', join('MNIST', 'raw')], remote: src.MNIST_REMOTE },
  'fashion-mnist': {
    kind: 'idx', classNames: src.FASHION_MNIST_CLASSES, subfolders: ['fashion-mnist', join('FashionMNIST', 'raw')], remote: src.FASHION_MNIST_REMOTE,
  },
  cifar10: {
    kind: 'cifar', variant: 'cifar10', folder: src.CIFAR10_FOLDER,
    files: { train: src.CIFAR10_TRAIN_FILES, test: src.CIFAR10_TEST_FILES }, remote: src.CIFAR10_REMOTE,
  },
  cifar100: {
    kind: 'cifar', variant: 'cifar100', folder: src.CIFAR100_FOLDER,
    files: { train: src.CIFAR100_TRAIN_FILES, test: src.CIFAR100_TEST_FILES }, remote: src.CIFAR100_REMOTE,
  },
};

function checkName(name: string): asserts name is DatasetName {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`loadDataset: unknown dataset ${JSON.stringify(name)}, expected one of ${DATASET_NAMES.join(', ')}`);
  }
}

function checkSplit(split: string): asserts split is Split {
  if (split !== 'train' && split !== 'test') throw new RangeError(`loadDataset: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
}

/** Folders searched for `name` under a root (dataDir or the cache's <name>/ folder). */
function idxFolders(root: string, spec: IdxSpec): string[] {
  return [root, ...spec.subfolders.map((s) => join(root, s))];
}

function cifarFolders(root: string, name: string, spec: CifarSpec): string[] {
  return [join(root, spec.folder), root, join(root, name, spec.folder)];
}

type Found = { kind: 'idx'; files: IdxSplitFiles } | { kind: 'cifar'; files: string[] } | { kind: 'archive'; file: string };

function findIn(roots: string[], name: string, spec: IdxSpec | CifarSpec, split: Split, searched: string[]): Found | null {
  for (const root of roots) {
    if (spec.kind === 'idx') {
      for (const folder of idxFolders(root, spec)) {
        searched.push(folder);
        const files = findIdxFiles(folder, split);
        if (files) return { kind: 'idx', files };
      }
    } else {
      for (const folder of cifarFolders(root, name, spec)) {
        searched.push(folder);
        const files = spec.files[split].map((f) => join(folder, f));
        if (files.every((f) => existsSync(f))) return { kind: 'cifar', files };
      }
      const archive = join(root, spec.remote.name);
      if (existsSync(archive)) return { kind: 'archive', file: archive };
    }
  }
  return null;
}

/** Reads the split's members straight out of a CIFAR .tar.gz archive. */
function readCifarArchive(file: string, spec: CifarSpec, split: Split): CifarRecords {
  const entries = readTar(gunzipFile(readFileSync(file), file), file);
  const parts = spec.files[split].map((member) => {
    const entry = entries.find((e) => e.name === `${spec.folder}/${member}` || e.name.endsWith(`/${member}`));
    if (!entry) throw new DataFormatError(file, `archive has no ${spec.folder}/${member}`);
    return parseCifar(entry.data, spec.variant, `${file}:${entry.name}`);
  });
  return concatRecords(parts);
}

function buildDataset(name: DatasetName, spec: IdxSpec | CifarSpec, found: Found, split: Split, options: LoadOptions): ImageDataset {
  if (found.kind === 'idx') return readIdxDataset(found.files, name, (spec as IdxSpec).classNames);
  const cifar = spec as CifarSpec;
  const rec = found.kind === 'archive' ? readCifarArchive(found.file, cifar, split) : readCifarFiles(found.files, cifar.variant);
  const base = { name, channels: 3, height: 32, width: 32, pixels: rec.pixels };
  if (cifar.variant === 'cifar10') return new ImageDataset({ ...base, labels: rec.labels, numClasses: 10, classNames: src.CIFAR10_CLASSES });
  if (options.cifar100Labels === 'coarse') {
    return new ImageDataset({ ...base, labels: rec.coarseLabels!, numClasses: 20, classNames: src.CIFAR100_COARSE_CLASSES });
  }
  return new ImageDataset({ ...base, labels: rec.labels, coarseLabels: rec.coarseLabels, numClasses: 100, classNames: src.CIFAR100_FINE_CLASSES });
}

/** The MissingDataError text: which files, where to put them, how to point at them. */
function missingMessage(name: string, spec: IdxSpec | CifarSpec, split: Split, cacheFolder: string, searched: string[], downloadError?: string): string {
  let files: string;
  let source: string;
  if (spec.kind === 'idx') {
    const roles = idxRoles(split);
    files = [roles.images, roles.labels].map((r) => idxCandidates(r).slice(0, 2).join(' or ')).join(', ');
    source = `from ${spec.remote[roles.images].urls[0].replace(/[^/]*$/, '')}`;
  } else {
    files = `${spec.folder}/ with ${spec.files[split].join(', ')}`;
    source = `from ${spec.remote.urls[0]}, extracted; the archive ${spec.remote.name} itself also works`;
  }
  return [
    `${name} (${split} split) not found. It needs ${files} (${source}).`,
    `Put them in a folder and pass it with --data-dir <folder> (option dataDir), or put them in the cache folder ${cacheFolder}`,
    `(the cache root is the NORMLAB_DATA environment variable, default ~/.cache/normlab), or pass download: true on a machine with network access.`,
    ...(downloadError ? [`Download failed: ${downloadError}`] : []),
    `Searched: ${searched.join(', ')}`,
  ].join('\n');
}

/** Finds a dataset's split in dataDir or the cache and reads it; never downloads. */
export function loadDatasetSync(name: DatasetName, options: LoadOptions = {}): ImageDataset {
  checkName(name);
  const split = options.split ?? 'train';
  checkSplit(split);
  if (name === 'mnist-bundled') return loadBundledMnist(split);
  if (name === 'folder') throw new RangeError('loadDatasetSync: the folder dataset decodes images asynchronously; use loadDataset');
  const spec = SPECS[name];
  const searched: string[] = [];
  const cacheFolder = join(options.cacheDir ?? defaultCacheDir(), name);
  const found = findIn([...(options.dataDir !== undefined ? [options.dataDir] : []), cacheFolder], name, spec, split, searched);
  if (found === null) throw new MissingDataError(missingMessage(name, spec, split, cacheFolder, searched), searched);
  return buildDataset(name, spec, found, split, options);
}

/** Downloads a dataset's files into `cacheFolder` (CIFAR: the archive, then its .bin files). */
async function downloadInto(cacheFolder: string, spec: IdxSpec | CifarSpec): Promise<void> {
  if (spec.kind === 'idx') {
    for (const remote of Object.values(spec.remote)) await downloadFile(remote, join(cacheFolder, remote.name));
    return;
  }
  const archive = await downloadFile(spec.remote, join(cacheFolder, spec.remote.name));
  await extractTarGzFolder(archive, spec.folder, cacheFolder);
  rmSync(archive, { force: true });
}

/**
 * Loads a dataset split: from dataDir, else the cache, else (download: true) downloads it into
 * the cache with checksum checks. 'mnist-bundled' needs no files.
 */
export async function loadDataset(name: Exclude<DatasetName, 'folder'>, options?: LoadOptions): Promise<ImageDataset>;
export async function loadDataset(name: DatasetName, options?: LoadOptions): Promise<SubsetDataset>;
export async function loadDataset(name: DatasetName, options: LoadOptions = {}): Promise<SubsetDataset> {
  if (name === 'folder') return loadFolder(options);
  try {
    return loadDatasetSync(name, options);
  } catch (e) {
    if (!(e instanceof MissingDataError) || !options.download) throw e;
    const spec = SPECS[name as Exclude<DatasetName, 'mnist-bundled' | 'folder'>];
    const split = options.split ?? 'train';
    const cacheFolder = join(options.cacheDir ?? defaultCacheDir(), name);
    try {
      await downloadInto(cacheFolder, spec);
    } catch (d) {
      throw new MissingDataError(missingMessage(name, spec, split, cacheFolder, e.searched, (d as Error).message), e.searched);
    }
    return loadDatasetSync(name, { ...options, dataDir: undefined });
  }
}

/** The folder dataset's split (see the file comment for the layouts). */
async function loadFolder(options: LoadOptions): Promise<FolderDataset> {
  const split = options.split ?? 'train';
  checkSplit(split);
  if (options.dataDir === undefined) throw new MissingDataError('the folder dataset needs --data-dir <root> (option dataDir): root/train/<class>/*.png|jpg and root/val/<class>/..., or root/<class>/...', []);
  const open = (root: string, name: string): Promise<FolderDataset> =>
    openImageFolder(root, { size: options.imageSize, channels: options.channels, strict: options.strict, warn: options.warn, name });
  const splits = folderSplits(options.dataDir);
  if (splits !== null) {
    const ds = await open(splits[split], `folder-${split}`);
    const trainClasses = scanImageFolder(splits.train).classNames;
    if (trainClasses.join('\0') !== ds.classNames.join('\0')) {
      throw new DataFormatError(splits.test, `class folders [${ds.classNames.join(', ')}] differ from train/'s [${trainClasses.join(', ')}]`);
    }
    return ds;
  }
  const all = await open(options.dataDir, 'folder');
  const parts = stratifiedSplit(all.labels, { valSize: options.folderTestFraction ?? 0.2, seed: options.folderSplitSeed ?? 0 });
  return all.subset(split === 'train' ? parts.train : parts.val, `folder-${split}`);
}
