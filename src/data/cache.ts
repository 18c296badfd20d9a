// A process-wide cache of loaded dataset splits, for processes that train many runs one after
// another: the local pool's run processes and the sweep workers' run processes. Without it every
// run of a sweep reads, decodes and copies the same split again (MNIST: 47 MB of IDX; CIFAR:
// 150 MB; a folder dataset: every image decoded), which for a short run costs as much as the
// training. Datasets are read-only after construction (readonly fields, `subset` copies), so
// runs can share one instance.
//
// The key is the dataset name plus every load option that changes what is loaded, and the cache
// root in effect (NORMLAB_DATA), so a run with another --data-dir or image size loads its own.
// Files changed on disk while a process runs are not noticed: a process sees the dataset as it
// was when its first run loaded it.
import { loadDataset, type DatasetName, type LoadOptions } from './load.js';
import type { SubsetDataset } from './dataset.js';
import { defaultCacheDir } from './download.js';

export interface DatasetCacheStats {
  /** Loads that went to disk (or the bundled package). */
  loaded: number;
  /** Loads answered from the cache. */
  reused: number;
  /** Splits held now. */
  held: number;
}

/**
 * Splits kept, least recently used dropped first. Four holds the train and test splits of two
 * datasets: a sweep normally uses one dataset, and a bound keeps a process that trains on many
 * (CIFAR-100 train alone is 150 MB) from holding them all.
 */
export const DATASET_CACHE_ENTRIES = 4;

const entries = new Map<string, Promise<SubsetDataset>>();
const counts = { loaded: 0, reused: 0 };

function cacheKey(name: DatasetName, o: LoadOptions): string {
  return JSON.stringify([
    name, o.split ?? 'train', o.dataDir ?? null, o.cacheDir ?? defaultCacheDir(), o.cifar100Labels ?? 'fine', o.imageSize ?? null,
    o.channels ?? null, o.strict ?? false, o.folderTestFraction ?? null, o.folderSplitSeed ?? null,
  ]);
}

/**
 * loadDataset through the process-wide cache: the first call for a (dataset, options) pair loads
 * it, later calls return the same instance. A failed load is not kept, so the next call retries
 * (after a download, say). `download` is not part of the key: it only says how to get the files.
 */
export function loadDatasetCached(name: DatasetName, options: LoadOptions = {}): Promise<SubsetDataset> {
  const key = cacheKey(name, options);
  const hit = entries.get(key);
  if (hit !== undefined) {
    counts.reused++;
    entries.delete(key);
    entries.set(key, hit);
    return hit;
  }
  counts.loaded++;
  const p = loadDataset(name, options);
  entries.set(key, p);
  p.catch(() => {
    if (entries.get(key) === p) entries.delete(key);
  });
  while (entries.size > DATASET_CACHE_ENTRIES) entries.delete(entries.keys().next().value!);
  return p;
}

/** How often this process loaded and reused dataset splits. */
export function datasetCacheStats(): DatasetCacheStats {
  return { ...counts, held: entries.size };
}

/** Drops every cached split and resets the counts. */
export function clearDatasetCache(): void {
  entries.clear();
  counts.loaded = 0;
  counts.reused = 0;
}
