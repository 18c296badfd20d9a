// safetensors files (the format of Hugging Face's `safetensors`, loadable with
// safetensors.torch.load_file): 8-byte little-endian header length, a JSON header mapping each
// name to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the data section),
// an optional "__metadata__" map of strings, then the raw little-endian data.
// Writes are atomic: a temp file in the same folder, then rename.
import { readFileSync } from 'node:fs';
import { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
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
    let bytes: Buffer;
    if (asInt) {
      const ints = new BigInt64Array(t.size);
      for (let i = 0; i < t.size; i++) ints[i] = BigInt(Math.round(t.buffer[i]));
      bytes = Buffer.from(ints.buffer);
    } else {
      bytes = Buffer.from(t.buffer.buffer, t.buffer.byteOffset, t.buffer.byteLength);
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

export function decodeSafetensors(buf: Buffer, what = 'safetensors data'): SafetensorsFile {
  if (buf.length < 8) throw new Error(`loadSafetensors: ${what} is ${buf.length} bytes, too short for a safetensors header`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n > buf.length - 8) throw new Error(`loadSafetensors: ${what} declares a ${n}-byte header but has only ${buf.length - 8} bytes after the length`);
  let header: Record<string, { dtype: Dtype; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch (err) {
    throw new Error(`loadSafetensors: ${what} has a malformed JSON header (${(err as Error).message})`);
  }
  const data = buf.subarray(8 + n);
  const tensors: Record<string, Tensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [b, e] } = info as { dtype: Dtype; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw new Error(`loadSafetensors: ${what}: tensor '${name}' has unsupported dtype ${dtype}`);
    const count = numelOf(shape);
    if (e - b !== count * BYTES[dtype] || e > data.length) {
      throw new Error(`loadSafetensors: ${what}: tensor '${name}' (${dtype} ${formatShape(shape)}) has ${e - b} bytes at [${b}, ${e}), data section is ${data.length} bytes`);
    }
    const raw = data.subarray(b, e);
    const out = new Float32Array(count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (dtype === 'F32') new Uint8Array(out.buffer).set(raw);
    else if (dtype === 'F16') {
      // A 64K-entry table: a PyTorch F16 checkpoint of ResNet-18 (11M values) decodes in ~50 ms.
      const table = halfTable();
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)];
    } else for (let i = 0; i < count; i++) out[i] = readAs(view, dtype, i);
    tensors[name] = new Tensor(out, shape);
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
