// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte magic
// number 00 00 <type> <ndim>, then ndim big-endian uint32 dimension sizes, then the values in
// row-major order. Images are type 0x08 (unsigned byte) with 3 dimensions (magic 0x00000803),
// labels are unsigned bytes with 1 dimension (magic 0x00000801).
import { DataFormatError } from './errors.js';
import { readMaybeGzip } from './gzip.js';

export interface IdxArray {
  /** Dimension sizes from the header. */
  dims: number[];
  /** The unsigned-byte values (a view of the file's bytes). */
  data: Uint8Array;
}

/** Magic number of an unsigned-byte IDX array with the given number of dimensions. */
export function idxMagic(ndim: number): number {
  return 0x00000800 | ndim;
}

const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

/** Parses unsigned-byte IDX data with `ndim` dimensions; errors name `file`. */
export function parseIdx(bytes: Uint8Array, ndim: number, file: string): IdxArray {
  const what = ndim === 1 ? 'IDX unsigned-byte labels, 1 dimension' : `IDX unsigned-byte array, ${ndim} dimensions`;
  if (bytes.length < 4) {
    throw new DataFormatError(file, `truncated: ${bytes.length} bytes, too short for the 4-byte IDX magic number`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const expected = idxMagic(ndim);
  if (magic !== expected) {
    throw new DataFormatError(file, `wrong magic number: expected ${hex(expected)} (${what}), got ${hex(magic)}`);
  }
  const headerSize = 4 + 4 * ndim;
  if (bytes.length < headerSize) {
    throw new DataFormatError(file, `truncated: ${bytes.length} bytes, shorter than the ${headerSize}-byte header`);
  }
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expectedSize = headerSize + count;
  if (bytes.length !== expectedSize) {
    const problem = bytes.length < expectedSize ? 'truncated' : 'wrong size';
    throw new DataFormatError(
      file,
      `${problem}: header says ${dims.join('x')} values, so expected ${expectedSize} bytes (${headerSize}-byte header + ${count}), got ${bytes.length}`,
    );
  }
  return { dims, data: bytes.subarray(headerSize) };
}

/** Reads an IDX file (raw or gzip) with `ndim` dimensions. */
export function readIdx(file: string, ndim: number): IdxArray {
  return parseIdx(readMaybeGzip(file), ndim, file);
}

/** Encodes unsigned bytes as IDX (for tests and for writing subsets). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new RangeError(`encodeIdx: dims ${dims.join('x')} need ${count} values, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + count);
  const view = new DataView(out.buffer);
  view.setUint32(0, idxMagic(dims.length), false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
