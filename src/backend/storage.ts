// Storage handles: float32 memory owned by a Backend. A Tensor holds one of these (never the
// memory itself); ops pass them to kernels, and only the Backend that made a handle can read or
// write what it refers to. A view (reshape, a leading-dimension slice) is a handle on part of an
// allocation: every view of one allocation has the same `block`.

/** The devices a tensor can live on. */
export const DEVICES = ['cpu', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];

export interface Storage {
  /** The device whose Backend owns the memory. */
  readonly device: Device;
  /** float32 for tensor values; int32 for index arrays (class targets, argmax, pooling indices). */
  readonly dtype: 'float32' | 'int32';
  /** Number of float32 values this handle covers. */
  readonly length: number;
  /** Identity of the allocation this handle views (shared by every view of it). */
  readonly block: object;
  /** True when this handle covers its whole allocation (not a view into a larger one). */
  readonly whole: boolean;
  /** Set by Backend.release: the memory may belong to another tensor now. */
  readonly released: boolean;
}

/** Throws unless `value` names a device. */
export function checkDevice(fn: string, arg: string, value: unknown): Device {
  if (typeof value !== 'string' || !(DEVICES as readonly string[]).includes(value)) {
    throw new RangeError(`${fn}: ${arg} must be one of ${DEVICES.map((d) => `'${d}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as Device;
}
