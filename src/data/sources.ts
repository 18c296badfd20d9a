// Where each dataset comes from: official URLs, file names and checksums, class names.
//
// Checksums: these are MD5 digests, not SHA-256. They are the digests the dataset authors
// publish (CIFAR page, Fashion-MNIST README) and torchvision checks (MNIST); no SHA-256 is
// published by the authors, and none is stored here that could not be checked against a
// published value. `Checksum` also accepts SHA-256 for files that have one.

export interface Checksum {
  algorithm: 'md5' | 'sha256';
  hex: string;
}

export interface RemoteFile {
  /** File name in the cache folder. */
  name: string;
  /** URLs tried in order (mirrors). */
  urls: string[];
  checksum: Checksum;
}

const md5 = (hex: string): Checksum => ({ algorithm: 'md5', hex });

/** MNIST: the authors' site is often unreachable; torchvision's S3 mirror comes first. */
const MNIST_MIRRORS = ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'];
const FASHION_MIRRORS = ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'];

export type IdxRole = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

/** IDX file base names (without .gz), as published for both MNIST and Fashion-MNIST. */
export const IDX_FILES: Record<IdxRole, string> = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

function idxRemotes(mirrors: string[], digests: Record<IdxRole, string>): Record<IdxRole, RemoteFile> {
  const out = {} as Record<IdxRole, RemoteFile>;
  for (const role of Object.keys(IDX_FILES) as IdxRole[]) {
    const name = `${IDX_FILES[role]}.gz`;
    out[role] = { name, urls: mirrors.map((m) => m + name), checksum: md5(digests[role]) };
  }
  return out;
}

export const MNIST_REMOTE = idxRemotes(MNIST_MIRRORS, {
  trainImages: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
  trainLabels: 'd53e105ee54ea40749a09fcbcd1e9432',
  testImages: '9fb629c4189551a2d022fa330f9573f3',
  testLabels: 'ec29112dd5afa0611ce80d1b7f02629c',
});

export const FASHION_MNIST_REMOTE = idxRemotes(FASHION_MIRRORS, {
  trainImages: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
  trainLabels: '25c81989df183df01b3e8a0aad5dffbe',
  testImages: 'bef4ecab320f06d8554ea6380940ec79',
  testLabels: 'bb300cfdad3c16e7a12a480ee83cd310',
});

/** The CIFAR "binary version" archives (https://www.cs.toronto.edu/~kriz/cifar.html). */
export const CIFAR10_REMOTE: RemoteFile = {
  name: 'cifar-10-binary.tar.gz',
  urls: ['https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'],
  checksum: md5('c32a1d4ab5d03f1284b67883e8d87530'),
};

export const CIFAR100_REMOTE: RemoteFile = {
  name: 'cifar-100-binary.tar.gz',
  urls: ['https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz'],
  checksum: md5('03b5dce01913d631647c71ecec9e9cb8'),
};

/** Folders inside the CIFAR archives and the files the readers need from them. */
export const CIFAR10_FOLDER = 'cifar-10-batches-bin';
export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILES = ['test_batch.bin'];
export const CIFAR100_FOLDER = 'cifar-100-binary';
export const CIFAR100_TRAIN_FILES = ['train.bin'];
export const CIFAR100_TEST_FILES = ['test.bin'];

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** CIFAR-100 fine labels in label order (fine_label_names.txt of the binary archive). */
export const CIFAR100_FINE_CLASSES = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
];

/** CIFAR-100 coarse labels (superclasses) in label order (coarse_label_names.txt). */
export const CIFAR100_COARSE_CLASSES = [
  'aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables',
  'household_electrical_devices', 'household_furniture', 'insects', 'large_carnivores',
  'large_man-made_outdoor_things', 'large_natural_outdoor_scenes', 'large_omnivores_and_herbivores',
  'medium_mammals', 'non-insect_invertebrates', 'people', 'reptiles', 'small_mammals', 'trees',
  'vehicles_1', 'vehicles_2',
];
