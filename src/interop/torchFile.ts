// Reading a PyTorch checkpoint (torch.save's zip format, PyTorch >= 1.6) without running it.
// The archive holds <prefix>/data.pkl (the pickled object), <prefix>/data/<key> (one raw
// little-endian storage per key) and <prefix>/byteorder (absent before 1.10, "little" or "big").
// data.pkl is read by src/interop/pickle.ts with only these names allowed:
//   torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
//   torch._utils._rebuild_parameter(tensor, requires_grad, hooks)
//   collections.OrderedDict(), and the storage classes torch.FloatStorage ... torch.BoolStorage,
// and storages arrive as persistent ids ('storage', <class>, key, location, numel).
// A tensor's element (i0, i1, ...) is storage[offset + Σ i_k·stride_k]; the importer copies it
// out in row-major order, so views, transposes and stride-0 expansions all come out contiguous.
import { basename } from 'node:path';
import { readFileSync } from 'node:fs';
import { ZipArchive } from './zip.js';
import { unpickle } from './pickle.js';

export type SafetensorsDtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const STORAGES: Record<string, { dtype: SafetensorsDtype; bytes: number }> = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  DoubleStorage: { dtype: 'F64', bytes: 8 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  LongStorage: { dtype: 'I64', bytes: 8 },
  IntStorage: { dtype: 'I32', bytes: 4 },
  ShortStorage: { dtype: 'I16', bytes: 2 },
  CharStorage: { dtype: 'I8', bytes: 1 },
  ByteStorage: { dtype: 'U8', bytes: 1 },
  BoolStorage: { dtype: 'BOOL', bytes: 1 },
};

/** A tensor as raw contiguous little-endian bytes with its safetensors dtype. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: Buffer;
}

class StorageRef {
  constructor(readonly key: string, readonly dtype: SafetensorsDtype, readonly itemBytes: number, readonly numel: number) {}
}

export class TorchTensor implements RawTensor {
  constructor(readonly dtype: SafetensorsDtype, readonly shape: number[], readonly bytes: Buffer) {}
}

export interface TorchFile {
  /** The unpickled object: Maps, arrays, numbers, strings and TorchTensors. */
  root: unknown;
  prefix: string;
}

function isIntList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0);
}

/** Parses a torch.save file; `what` names it in errors. */
export function readTorchFile(bytes: Buffer, what: string): TorchFile {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] === 0x02) {
    throw new Error(`readTorchFile: ${what} is in PyTorch's legacy (pre-1.6, non-zip) format; load it in PyTorch and save it again with torch.save (the zip format is the default since 1.6)`);
  }
  if (bytes.length < 4 || bytes.readUInt32LE(0) !== 0x04034b50) {
    throw new Error(`readTorchFile: ${what} is not a PyTorch checkpoint (expected a zip archive written by torch.save, first bytes ${[...bytes.subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join(' ') || 'none'})`);
  }
  const zip = new ZipArchive(bytes, what);
  const pkl = [...zip.entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl === undefined) throw new Error(`readTorchFile: ${what} is a zip archive without <name>/data.pkl, so not a torch.save file (entries: ${[...zip.entries.keys()].slice(0, 5).join(', ')})`);
  const prefix = pkl.slice(0, -'/data.pkl'.length);
  const order = zip.entries.has(`${prefix}/byteorder`) ? zip.read(`${prefix}/byteorder`).toString('utf8').trim() : 'little';
  if (order !== 'little') throw new Error(`readTorchFile: ${what} was written on a ${order}-endian machine; only little-endian files are supported`);

  const storages = new Map<string, Buffer>();
  const storageBytes = (ref: StorageRef): Buffer => {
    let s = storages.get(ref.key);
    if (s === undefined) {
      s = zip.read(`${prefix}/data/${ref.key}`);
      if (s.length < ref.numel * ref.itemBytes) throw new Error(`readTorchFile: ${what}: storage ${ref.key} has ${s.length} bytes, the pickle says ${ref.numel} ${ref.dtype} elements (${ref.numel * ref.itemBytes} bytes)`);
      storages.set(ref.key, s);
    }
    return s;
  };

  const rebuildTensor = (...args: unknown[]): TorchTensor => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef) || !Number.isInteger(offset) || !isIntList(size) || !isIntList(stride) || size.length !== stride.length) {
      throw new Error(`readTorchFile: ${what}: _rebuild_tensor_v2 called with (${args.slice(0, 4).map((a) => JSON.stringify(a instanceof StorageRef ? 'storage' : a)).join(', ')}), expected (storage, offset, size, stride)`);
    }
    const data = storageBytes(storage);
    const n = size.reduce((a, c) => a * c, 1);
    const item = storage.itemBytes;
    const out = Buffer.alloc(n * item);
    // Bounds: the largest element index must lie in the storage.
    const last = (offset as number) + size.reduce((a, c, k) => a + (c > 0 ? (c - 1) * stride[k] : 0), 0);
    if (n > 0 && last >= storage.numel) throw new Error(`readTorchFile: ${what}: a tensor of size [${size.join(', ')}], stride [${stride.join(', ')}], offset ${offset as number} reaches element ${last} of a ${storage.numel}-element storage`);
    const idx = new Array<number>(size.length).fill(0);
    let src = offset as number;
    for (let i = 0; i < n; i++) {
      data.copy(out, i * item, src * item, (src + 1) * item);
      for (let d = size.length - 1; d >= 0; d--) {
        idx[d]++;
        src += stride[d];
        if (idx[d] < size[d]) break;
        src -= idx[d] * stride[d];
        idx[d] = 0;
      }
    }
    return new TorchTensor(storage.dtype, size.slice(), out);
  };

  const globals: Record<string, (...args: unknown[]) => unknown> = {
    'torch._utils._rebuild_tensor_v2': rebuildTensor,
    'torch._utils._rebuild_parameter': (t: unknown) => {
      if (!(t instanceof TorchTensor)) throw new Error(`readTorchFile: ${what}: _rebuild_parameter of something that is not a tensor`);
      return t;
    },
    'collections.OrderedDict': (...args: unknown[]) => {
      if (args.length > 0) throw new Error(`readTorchFile: ${what}: OrderedDict called with arguments; torch.save writes it empty and fills it after`);
      return new Map();
    },
  };
  // The storage classes appear only as the second item of a persistent id, never called.
  for (const name of Object.keys(STORAGES)) {
    globals[`torch.${name}`] = () => {
      throw new Error(`readTorchFile: ${what}: torch.${name} is called; a state dict only names it in a storage id`);
    };
  }
  const storageName = (v: unknown): string | undefined => {
    const q = (v as { qualified?: unknown } | null)?.qualified;
    return typeof q === 'string' && q.startsWith('torch.') && q.slice(6) in STORAGES ? q.slice(6) : undefined;
  };

  const root = unpickle(zip.read(pkl), {
    what: `${what} (${pkl})`,
    globals,
    persistentLoad: (pid) => {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5) throw new Error(`readTorchFile: ${what}: persistent id ${JSON.stringify(pid)} is not a ('storage', class, key, location, numel) tuple`);
      const cls = storageName(pid[1]);
      if (cls === undefined) throw new Error(`readTorchFile: ${what}: storage ${String(pid[2])} has an unknown storage class`);
      const { dtype, bytes: itemBytes } = STORAGES[cls];
      return new StorageRef(String(pid[2]), dtype, itemBytes, Number(pid[4]));
    },
    // OrderedDict's BUILD state is the state dict's `_metadata` (module versions): not needed.
    build: (obj) => obj,
  });
  return { root, prefix };
}

export function loadTorchFile(path: string): TorchFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`readTorchFile: cannot read '${path}': ${(e as Error).message}`);
  }
  return readTorchFile(bytes, `'${basename(path)}'`);
}

/**
 * The tensors of a checkpoint under their PyTorch names. `key` selects a sub-dict (e.g. "model"
 * or "state_dict" of a training checkpoint; dots descend further). Without it, nested dicts are
 * flattened with dotted names, as in a module's state_dict. Non-tensor values are counted in
 * `skipped` (e.g. an epoch number or optimizer hyper-parameters).
 */
export function stateDictOf(file: TorchFile, key?: string): { tensors: Map<string, TorchTensor>; skipped: string[] } {
  let node = file.root;
  if (key !== undefined) {
    for (const part of key.split('.')) {
      if (!(node instanceof Map) || !node.has(part)) {
        const keys = node instanceof Map ? [...node.keys()].map(String).join(', ') : 'none (not a dict)';
        throw new Error(`stateDictOf: the checkpoint has no entry '${key}' (stopped at '${part}'; keys there: ${keys})`);
      }
      node = node.get(part);
    }
  }
  if (!(node instanceof Map)) throw new Error(`stateDictOf: the checkpoint${key === undefined ? '' : `'s '${key}'`} is not a dict of tensors but a ${Array.isArray(node) ? 'list' : typeof node}`);
  const tensors = new Map<string, TorchTensor>();
  const skipped: string[] = [];
  const walk = (m: Map<unknown, unknown>, prefix: string): void => {
    for (const [k, v] of m) {
      const name = prefix + String(k);
      if (v instanceof TorchTensor) tensors.set(name, v);
      else if (v instanceof Map) walk(v, name + '.');
      else if (Array.isArray(v) && v.some((x) => x instanceof TorchTensor || x instanceof Map)) walk(new Map(v.map((x, i) => [i, x])), name + '.');
      else skipped.push(name);
    }
  };
  walk(node, '');
  return { tensors, skipped };
}
