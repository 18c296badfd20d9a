// normlab data: datasets (MNIST, Fashion-MNIST, CIFAR-10/100, a bundled MNIST subset), download
// and cache, transforms, stratified splits and the seeded DataLoader. Public as `data`.
export { type Dataset, type SubsetDataset, type ImageDatasetInit, type WorkerSource, ImageDataset, fromArrays, channelStats } from './dataset.js';
export { DataFormatError, MissingDataError } from './errors.js';
export { type IdxArray, parseIdx, readIdx, encodeIdx, idxMagic } from './idx.js';
export { type CifarVariant, type CifarRecords, parseCifar, readCifarFiles, encodeCifar, CIFAR_IMAGE_BYTES } from './cifar.js';
export { type Split, type IdxSplitFiles, findIdxFiles, readIdxDataset } from './mnist.js';
export { loadBundledMnist, loadBundledMnistAll, readBundledMnist, bundledMnistCacheFile, decodeDigitsFile, BUNDLED_MNIST_SIZE, BUNDLED_MNIST_TEST_SIZE, BUNDLED_MNIST_SPLIT_SEED } from './bundled.js';
export { defaultCacheDir, downloadFile, hashFile } from './download.js';
export { type TarEntry, readTar, extractTarGzFolder } from './tar.js';
export * as sources from './sources.js';
export { type Checksum, type RemoteFile } from './sources.js';
export { type DatasetName, type LoadOptions, DATASET_NAMES, loadDataset, loadDatasetSync } from './load.js';
export { type DatasetCacheStats, DATASET_CACHE_ENTRIES, loadDatasetCached, datasetCacheStats, clearDatasetCache } from './cache.js';
export {
  type Image, type Transform, type TransformSpec, transformFromSpec, type AffineParams, type RandomAffineOptions,
  flipHorizontal, padImage, cropImage, resizeBilinear, normalizeImage, affineImage,
  randomHorizontalFlip, randomCrop, randomAffine, randomShear, randomZoom, resize, normalize, compose, applyToBatch,
  centerCrop, resizeShorter, randomResizedCrop, type RandomResizedCropOptions,
} from './transforms.js';
export { type SplitOptions, type SplitIndices, stratifiedSplit, splitDataset, shuffleInPlace } from './split.js';
export { type Batch, type DataLoaderOptions, type LoaderState, DataLoader } from './loader.js';
export { LoaderWorkerError } from './workers.js';
export { type ImageFolderOptions, FolderDataset, openImageFolder, scanImageFolder, folderSplits, decodeImageFile } from './imagefolder.js';
