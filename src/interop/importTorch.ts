// `normlab import`: a PyTorch checkpoint (.pt/.pth, torch.save's zip format) to a safetensors
// file with the same tensor names, dtypes, shapes and bytes, which safetensors.torch.load_file
// and normlab's loadSafetensors/loadStateDict read.
import { loadTorchFile, stateDictOf, type RawTensor } from './torchFile.js';
import { writeFileAtomic } from '../io/atomic.js';

/** safetensors bytes of raw tensors, in the given order: u64 LE header length, JSON header padded to 8 bytes, data. */
export function encodeRawSafetensors(tensors: Map<string, RawTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Buffer[] = [];
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    parts.push(t.bytes);
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...parts]);
}

export interface ImportSummary {
  tensors: number;
  elements: number;
  bytes: number;
  dtypes: Record<string, number>;
  skipped: string[];
}

/** Converts `input` (a torch.save file) to safetensors at `output`; `key` picks a sub-dict such as "model". */
export function importTorchCheckpoint(input: string, output: string, key?: string): ImportSummary {
  const file = loadTorchFile(input);
  const { tensors, skipped } = stateDictOf(file, key);
  if (tensors.size === 0) {
    throw new Error(`importTorchCheckpoint: '${input}' holds no tensors${key === undefined ? '' : ` under '${key}'`} (entries: ${skipped.slice(0, 8).join(', ') || 'none'})`);
  }
  const bytes = encodeRawSafetensors(tensors, { format: 'pt' });
  writeFileAtomic(output, bytes);
  const dtypes: Record<string, number> = {};
  let elements = 0;
  for (const t of tensors.values()) {
    dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
    elements += t.shape.reduce((a, c) => a * c, 1);
  }
  return { tensors: tensors.size, elements, bytes: bytes.length, dtypes, skipped };
}
