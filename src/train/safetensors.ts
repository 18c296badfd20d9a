// safetensors files (the format of Hugging Face's `safetensors`, loadable with
// safetensors.torch.load_file): 8-byte little-endian header length, a JSON header mapping each
// name to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the data section),
// an optional "__metadata__" map of strings, then the raw little-endian data.
// Writes are atomic: a temp file in the same folder, then rename.
import { readFileSync } from 'node:fs';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import { writeFileAtomic } from '../io/atomic.js';
import { formatShape, numelOf } from '../tensor/shape.js';

type Dtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
const BYTES: Record<Dtype, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Serialises tensors. Keys named like `*num_batches_tracked` are written as I64 (PyTorch's
 * dtype for that buffer) so that torch's load_state_dict accepts them; the rest as F32.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Buffer[] = [];
  for (const name of names) {
    const t = tensors[name];
    const asInt = name.endsWith('num_batches_tracked');
    // Checkpoint write: the tensor's values come to the host here (a copy; CPU tensors).
    const values = t.data();
    let bytes: Buffer;
    if (asInt) {
      const ints = new BigInt64Array(t.size);
      for (let i = 0; i < t.size; i++) ints[i] = BigInt(Math.round(values[i]));
      bytes = Buffer.from(ints.buffer);
    } else {
      bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    }
    header[name] = { dtype: asInt ? 'I64' : 'F32', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data section starts 8-byte aligned.
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...parts]);
}

export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** The safetensors reference implementation's limit on the JSON header (100 MB). */
const MAX_HEADER = 100_000_000;

interface TensorEntry {
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Why buf is not safetensors but another format a user may hand over instead, or null. */
function otherFormat(buf: Buffer): string | null {
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x504b0304) {
    return 'is a zip archive: a PyTorch checkpoint (.pt/.pth, torch.save), whose pickle normlab does not run. Convert it in Python: ' +
      "import torch; from safetensors.torch import save_file; save_file(torch.load('model.pt', map_location='cpu'), 'model.safetensors') " +
      '(a state dict of tensors; for a whole model save model.state_dict())';
  }
  if (buf.length >= 2 && buf[0] === 0x80 && buf[1] >= 2 && buf[1] <= 5) {
    return 'is a Python pickle (a legacy PyTorch .pt/.pth checkpoint), which normlab does not run. Convert it in Python: ' +
      "import torch; from safetensors.torch import save_file; save_file(torch.load('model.pt', map_location='cpu'), 'model.safetensors')";
  }
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x46554747) return 'is a GGUF file, not safetensors';
  if (buf.length >= 6 && buf.subarray(0, 6).toString('latin1') === '\x93NUMPY') return 'is a NumPy .npy file, not safetensors';
  return null;
}

/**
 * Parses a safetensors buffer. Everything in the header is checked before any data is read:
 * the header length against the file, each entry's dtype, shape (non-negative integers) and
 * data_offsets (integers, begin <= end <= data section, end - begin = elements x dtype size),
 * no two tensors sharing bytes and no byte of the data section left over (as the reference
 * implementation requires). Errors name `what` (the file), the tensor and the values found.
 */
export function decodeSafetensors(buf: Buffer, what = 'safetensors data'): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new Error(`loadSafetensors: ${what}${msg.startsWith(':') ? '' : ' '}${msg}`);
  };
  const other = otherFormat(buf);
  if (other !== null) fail(other);
  if (buf.length < 8) fail(`is ${buf.length} bytes, too short for a safetensors header (8-byte length, then JSON)`);
  const n64 = buf.readBigUInt64LE(0);
  if (n64 > BigInt(MAX_HEADER)) fail(`is not a safetensors file: its first 8 bytes declare a ${n64}-byte header (at most ${MAX_HEADER} allowed)`);
  const n = Number(n64);
  if (n > buf.length - 8) fail(`declares a ${n}-byte header but has only ${buf.length - 8} bytes after the length (a truncated file?)`);
  if (n < 2 || buf[8] !== 0x7b) fail(`is not a safetensors file: the header does not start with '{' (found ${JSON.stringify(buf.subarray(8, 8 + Math.min(n, 16)).toString('latin1'))})`);
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch (err) {
    fail(`has a malformed JSON header (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('has a header that is not a JSON object');
  const data = buf.subarray(8 + n);
  let metadata: Record<string, string> = {};
  const entries: [string, TensorEntry][] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info) || Object.values(info).some((v) => typeof v !== 'string')) {
        fail('has a __metadata__ entry that is not a map of strings');
      }
      metadata = info as Record<string, string>;
      continue;
    }
    const t = `tensor '${name}'`;
    if (info === null || typeof info !== 'object') fail(`: ${t} has no {dtype, shape, data_offsets} entry (found ${JSON.stringify(info)})`);
    const { dtype, shape, data_offsets: offsets } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in BYTES)) fail(`: ${t} has dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(BYTES).join(', ')}`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) fail(`: ${t} has shape ${JSON.stringify(shape)}; expected a list of integers >= 0`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || (o as number) < 0)) {
      fail(`: ${t} has data_offsets ${JSON.stringify(offsets)}; expected [begin, end], integers >= 0`);
    }
    const [b, e] = offsets as [number, number];
    const dims = shape as number[];
    const bytes = numelOf(dims) * BYTES[dtype as Dtype];
    if (e < b || e > data.length) fail(`: ${t} (${dtype} ${formatShape(dims)}) has data_offsets [${b}, ${e}] outside the ${data.length}-byte data section`);
    if (e - b !== bytes) fail(`: ${t} (${dtype} ${formatShape(dims)}) needs ${bytes} bytes but data_offsets [${b}, ${e}] hold ${e - b}`);
    entries.push([name, { dtype: dtype as Dtype, shape: dims, begin: b, end: e }]);
  }
  const byOffset = [...entries].sort((x, y) => x[1].begin - y[1].begin || x[1].end - y[1].end);
  let covered = 0;
  for (let i = 0; i < byOffset.length; i++) {
    const [name, { begin, end }] = byOffset[i];
    if (begin < covered) fail(`: tensor '${name}' at [${begin}, ${end}] overlaps tensor '${byOffset[i - 1][0]}' (ending at ${covered})`);
    if (begin > covered) fail(`: bytes [${covered}, ${begin}] of the data section belong to no tensor (before tensor '${name}')`);
    covered = end;
  }
  if (covered !== data.length) fail(`: the data section has ${data.length} bytes but its tensors end at byte ${covered}`);
  const tensors: Record<string, Tensor> = {};
  for (const [name, { dtype, shape, begin, end }] of entries) {
    const count = numelOf(shape);
    const raw = data.subarray(begin, end);
    const out = new Float32Array(count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (dtype === 'F32') new Uint8Array(out.buffer).set(raw);
    else if (dtype === 'F16') {
      // A 64K-entry table: a PyTorch F16 checkpoint of ResNet-18 (11M values) decodes in ~50 ms.
      const table = halfTable();
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)];
    } else for (let i = 0; i < count; i++) out[i] = readAs(view, dtype, i);
    // Checkpoint read: the file's values become CPU tensors (loadStateDict moves them to the model's device).
    tensors[name] = tensor(out, shape, { device: 'cpu' });
  }
  return { tensors, metadata };
}

export function loadSafetensors(path: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new Error(`loadSafetensors: cannot read '${path}': ${(err as Error).message}`);
  }
  return decodeSafetensors(buf, `'${path}'`);
}

function readAs(v: DataView, dtype: Dtype, i: number): number {
  switch (dtype) {
    case 'F32': return v.getFloat32(i * 4, true);
    case 'F64': return v.getFloat64(i * 8, true);
    case 'F16': return halfToFloat(v.getUint16(i * 2, true));
    case 'BF16': return new Float32Array(new Uint32Array([v.getUint16(i * 2, true) << 16]).buffer)[0];
    case 'I64': return Number(v.getBigInt64(i * 8, true));
    case 'I32': return v.getInt32(i * 4, true);
    case 'I16': return v.getInt16(i * 2, true);
    case 'I8': return v.getInt8(i);
    default: return v.getUint8(i);
  }
}

let halfValues: Float32Array | null = null;

/** Every F16 bit pattern as a float32. */
function halfTable(): Float32Array {
  if (halfValues === null) {
    halfValues = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfValues[h] = halfToFloat(h);
  }
  return halfValues;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}
