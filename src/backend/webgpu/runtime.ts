/// <reference types="@webgpu/types" />
// The WebGPU runtime: a pool of GPUBuffers, compute pipelines compiled once per kernel spec,
// and command batching. Kernels are encoded into one open command encoder and submitted
// together when a host read needs them, when the batch's parameter slots are used up, or on
// flush(); nothing waits for the GPU except download().
//
// Ordering rule: everything that touches device memory goes through the encoder (dispatches,
// clears, copies, uploads as staged copies), so it runs in the order the ops were issued.
// queue.writeBuffer is used only for the batch's own parameter buffer, written just before the
// batch is submitted.
import { GpuAllocation, GpuStorage, gpuStorage } from './storage.js';
import type { Storage } from '../storage.js';

/** Element type of a storage binding in WGSL. */
export type WgslElement = 'f32' | 'i32' | 'u32' | 'atomic<u32>' | 'atomic<i32>';

/** A storage binding of a kernel: `var<storage, access> name: array<type>`. */
export interface StorageBinding {
  name: string;
  type: WgslElement;
  /** 'read' for inputs, 'read_write' for outputs (and in-place inputs). */
  access: 'read' | 'read_write';
  /** The binding may be given null (an optional input such as a bias): a 1-element dummy is bound. */
  optional?: boolean;
}

/** A uniform parameter: a scalar, or a u32 array of `count` entries (count a multiple of 4). */
export interface ParamDecl {
  name: string;
  type: 'u32' | 'i32' | 'f32';
  /** For arrays (shapes, strides): number of u32 entries, a multiple of 4; read as name[i / 4u][i % 4u]. */
  count?: number;
}

/**
 * One WGSL compute kernel. The runtime writes the module: a uniform struct `P` holding
 * `<storage>_off` (the element offset of each storage handle) and then the declared params,
 * the storage bindings, `moduleScope` (constants, workgroup memory, functions) and an entry
 * point `main` with the builtins gid, lid, wid, nwg and lidx, whose body is `body`.
 * `let gi = linear_id(gid, nwg);` gives a 1-D invocation index for grids from grid1d().
 */
export interface KernelSpec {
  name: string;
  storages: readonly StorageBinding[];
  params: readonly ParamDecl[];
  workgroupSize: readonly [number, number?, number?];
  moduleScope?: string;
  body: string;
}

/** Parameter values by name; arrays are padded with zeros to their declared count. */
export type ParamValues = Record<string, number | readonly number[] | boolean>;

/** Workgroups to dispatch in x, y, z. */
export type Grid = readonly [number, number, number];

/** Bytes of uniform parameters one dispatch may use (the binding size). */
const PARAM_SLOT_BYTES = 256;
/** Dispatches per submitted batch. */
const SLOTS_PER_BATCH = 1024;
/** Free pooled bytes kept for reuse before buffers are destroyed instead. */
const POOL_KEEP_BYTES = 2 ** 31;

interface ParamLayout {
  /** Byte offset of each field, by name. */
  offsets: Map<string, { offset: number; type: 'u32' | 'i32' | 'f32'; count: number }>;
  wgsl: string;
  bytes: number;
}

function paramLayout(spec: KernelSpec): ParamLayout {
  const offsets: ParamLayout['offsets'] = new Map();
  const fields: string[] = [];
  let at = 0;
  const scalars: ParamDecl[] = [
    ...spec.storages.map((s) => ({ name: `${s.name}_off`, type: 'u32' as const })),
    ...spec.params.filter((p) => p.count === undefined),
  ];
  for (const p of scalars) {
    offsets.set(p.name, { offset: at, type: p.type, count: 1 });
    fields.push(`${p.name}: ${p.type},`);
    at += 4;
  }
  for (const p of spec.params.filter((q) => q.count !== undefined)) {
    const count = p.count as number;
    if (count % 4 !== 0 || p.type !== 'u32') throw new Error(`kernel ${spec.name}: array param ${p.name} must be u32 with a count that is a multiple of 4`);
    while (at % 16 !== 0) {
      fields.push(`pad${at}: u32,`);
      at += 4;
    }
    offsets.set(p.name, { offset: at, type: 'u32', count });
    fields.push(`${p.name}: array<vec4<u32>, ${count / 4}>,`);
    at += count * 4;
  }
  if (at === 0) {
    fields.push('unused: u32,');
    at = 4;
  }
  if (at > PARAM_SLOT_BYTES) throw new Error(`kernel ${spec.name}: ${at} bytes of parameters exceed ${PARAM_SLOT_BYTES}`);
  return { offsets, wgsl: `struct Params {\n  ${fields.join('\n  ')}\n}`, bytes: at };
}

function kernelSource(spec: KernelSpec, layout: ParamLayout): string {
  const [x, y = 1, z = 1] = spec.workgroupSize;
  const bindings = spec.storages.map(
    (s, i) => `@group(0) @binding(${i + 1}) var<storage, ${s.access}> ${s.name}: array<${s.type}>;`,
  );
  return [
    layout.wgsl,
    '@group(0) @binding(0) var<uniform> P: Params;',
    ...bindings,
    `const WGX: u32 = ${x}u;`,
    'fn linear_id(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * WGX; }',
    spec.moduleScope ?? '',
    `@compute @workgroup_size(${x}, ${y}, ${z})`,
    'fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,',
    '        @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {',
    spec.body,
    '}',
  ].join('\n');
}

interface CompiledKernel {
  pipeline: GPUComputePipeline;
  bindGroupLayout: GPUBindGroupLayout;
  layout: ParamLayout;
}

/** Bytes of the pooled buffer serving `bytes`: 16-byte minimum, then eight size classes per power of two. */
function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 4096) return b;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

export class GpuRuntime {
  private readonly kernels = new WeakMap<KernelSpec, CompiledKernel>();
  private readonly free = new Map<number, GPUBuffer[]>();
  private freeBytes = 0;
  private encoder: GPUCommandEncoder | null = null;
  private slotsUsed = 0;
  private readonly paramHost = new ArrayBuffer(PARAM_SLOT_BYTES * SLOTS_PER_BATCH);
  private readonly paramU32 = new Uint32Array(this.paramHost);
  private readonly paramI32 = new Int32Array(this.paramHost);
  private readonly paramF32 = new Float32Array(this.paramHost);
  private readonly paramBuffer: GPUBuffer;
  /** Buffers to destroy once the batch that uses them is submitted (upload staging). */
  private afterSubmit: GPUBuffer[] = [];
  /** One 16-byte buffer per binding slot for absent optional storages (two written slots may not share one). */
  private readonly dummies: GPUBuffer[] = [];
  /** The first validation or out-of-memory error the device reported; thrown by the next read. */
  private deviceError: string | null = null;
  /**
   * Checks of values that only the device has (class targets): small int32 storages that a kernel
   * fills, read back with the next download or sync, whose `describe` returns an error message
   * (thrown there) or null.
   */
  private checks: { s: GpuStorage; describe: (words: Int32Array) => string | null }[] = [];
  /** Dispatches submitted so far (for tests and benchmarks). */
  dispatches = 0;
  /**
   * Buffers of allocations that became unreachable without release() (a forward activation the
   * autograd graph held, a tensor the user dropped) go back to the pool when V8 collects their
   * allocation: no kernel can be encoded with them any more, and every kernel already encoded
   * runs before the buffer's next use in queue order.
   */
  private readonly finalizer = new FinalizationRegistry<GPUBuffer>((buffer) => this.recycle(buffer));

  constructor(readonly device: GPUDevice) {
    this.paramBuffer = device.createBuffer({ size: PARAM_SLOT_BYTES * SLOTS_PER_BATCH, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.deviceError ??= ev.error.message;
    };
    void device.lost.then((info) => {
      this.deviceError ??= `the WebGPU device was lost (${info.reason}): ${info.message}`;
    });
  }

  // ---- memory ----

  /** A pooled allocation of n elements (float32 or int32). */
  allocate(n: number, dtype: 'float32' | 'int32'): GpuStorage {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`webgpu allocate: n must be an integer >= 0, got ${n}`);
    const limit = Math.min(this.device.limits.maxBufferSize, this.device.limits.maxStorageBufferBindingSize);
    if (n * 4 > limit) {
      throw new RangeError(`webgpu allocate: ${n} values (${n * 4} bytes) exceed this device's largest storage binding (${limit} bytes)`);
    }
    const size = Math.min(sizeClass(n * 4), Math.max(16, Math.ceil((n * 4) / 16) * 16, limit - (limit % 16)));
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer !== undefined) this.freeBytes -= size;
    else {
      buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    }
    const alloc = new GpuAllocation(buffer, n);
    this.finalizer.register(alloc, buffer, alloc);
    return new GpuStorage(dtype, alloc, 0, n);
  }

  /**
   * Returns a whole allocation's buffer to the pool. Kernels already encoded keep using it
   * safely: anything later that reuses the buffer runs after them in queue order.
   */
  release(s: Storage): void {
    if (!(s instanceof GpuStorage) || s.alloc.freed) return;
    if (!s.whole) return;
    s.alloc.freed = true;
    this.finalizer.unregister(s.alloc);
    this.recycle(s.alloc.buffer);
  }

  private recycle(buffer: GPUBuffer): void {
    if (this.freeBytes + buffer.size > POOL_KEEP_BYTES) {
      this.afterSubmit.push(buffer);
      return;
    }
    const list = this.free.get(buffer.size);
    if (list === undefined) this.free.set(buffer.size, [buffer]);
    else list.push(buffer);
    this.freeBytes += buffer.size;
  }

  private open(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Writes host values into dst (same length) through a staging buffer, in command order. */
  write(dst: GpuStorage, values: Float32Array | Int32Array): void {
    if (values.length !== dst.length) throw new RangeError(`write: dst has ${dst.length} values, got ${values.length}`);
    if (values.length === 0) return;
    const bytes = values.length * 4;
    const staging = this.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    const Ctor = values instanceof Int32Array ? Int32Array : Float32Array;
    new Ctor(staging.getMappedRange()).set(values);
    staging.unmap();
    this.open().copyBufferToBuffer(staging, 0, dst.alloc.buffer, dst.offset * 4, bytes);
    this.afterSubmit.push(staging);
  }

  /** Zeros the handle's values. */
  clear(s: GpuStorage): void {
    if (s.length === 0) return;
    this.open().clearBuffer(s.alloc.buffer, s.offset * 4, s.length * 4);
  }

  /** dst = src, same length (through a temporary when both are in one buffer). */
  copy(src: GpuStorage, dst: GpuStorage): void {
    if (src.length !== dst.length) throw new RangeError(`copy: src has ${src.length} values, dst ${dst.length}`);
    if (src.length === 0 || (src.alloc === dst.alloc && src.offset === dst.offset)) return;
    const enc = this.open();
    const bytes = src.length * 4;
    if (src.alloc.buffer === dst.alloc.buffer) {
      const tmp = this.allocate(src.length, src.dtype);
      enc.copyBufferToBuffer(src.alloc.buffer, src.offset * 4, tmp.alloc.buffer, 0, bytes);
      enc.copyBufferToBuffer(tmp.alloc.buffer, 0, dst.alloc.buffer, dst.offset * 4, bytes);
      this.release(tmp);
      return;
    }
    enc.copyBufferToBuffer(src.alloc.buffer, src.offset * 4, dst.alloc.buffer, dst.offset * 4, bytes);
  }

  /** Registers a check read back (and thrown if it fails) by the next read() or sync(). */
  deferCheck(s: GpuStorage, describe: (words: Int32Array) => string | null): void {
    this.checks.push({ s, describe });
  }

  /** Encodes copies of the pending checks into mappable buffers. */
  private encodeChecks(): { staging: GPUBuffer; describe: (words: Int32Array) => string | null }[] {
    const out = this.checks.map(({ s, describe }) => {
      const staging = this.device.createBuffer({ size: s.length * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.open().copyBufferToBuffer(s.alloc.buffer, s.offset * 4, staging, 0, s.length * 4);
      this.release(s);
      return { staging, describe };
    });
    this.checks = [];
    return out;
  }

  /** Maps the checks' copies and throws the first failure. */
  private async finishChecks(pending: { staging: GPUBuffer; describe: (words: Int32Array) => string | null }[]): Promise<void> {
    let message: string | null = null;
    for (const { staging, describe } of pending) {
      try {
        await staging.mapAsync(GPUMapMode.READ);
        message ??= describe(new Int32Array(staging.getMappedRange().slice(0)));
      } finally {
        staging.destroy();
      }
    }
    if (message !== null) throw new RangeError(message);
  }

  /** The handle's bytes on the host, after every queued kernel has run. */
  async read(s: GpuStorage): Promise<ArrayBuffer> {
    const bytes = s.length * 4;
    const staging = bytes === 0 ? null : this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    if (staging !== null) this.open().copyBufferToBuffer(s.alloc.buffer, s.offset * 4, staging, 0, bytes);
    const checks = this.encodeChecks();
    this.flush();
    try {
      if (staging !== null) await staging.mapAsync(GPUMapMode.READ);
      this.throwDeviceError();
      await this.finishChecks(checks);
      return staging === null ? new ArrayBuffer(0) : staging.getMappedRange().slice(0);
    } catch (e) {
      this.throwDeviceError();
      throw e;
    } finally {
      staging?.destroy();
    }
  }

  /** Resolves once every submitted kernel has finished; throws the device's first error, or a failed check, if any. */
  async sync(): Promise<void> {
    const checks = this.encodeChecks();
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.throwDeviceError();
    await this.finishChecks(checks);
  }

  private throwDeviceError(): void {
    if (this.deviceError !== null) {
      const message = this.deviceError;
      this.deviceError = null;
      throw new Error(`WebGPU: ${message}`);
    }
  }

  // ---- kernels ----

  private compile(spec: KernelSpec): CompiledKernel {
    let k = this.kernels.get(spec);
    if (k === undefined) {
      const params = paramLayout(spec);
      const module = this.device.createShaderModule({ label: spec.name, code: kernelSource(spec, params) });
      // An explicit layout: 'auto' would drop bindings the shader does not reference (an
      // optional input a variant ignores), and binding them would then fail.
      const bindGroupLayout = this.device.createBindGroupLayout({
        label: spec.name,
        entries: [
          { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
          ...spec.storages.map((s, i): GPUBindGroupLayoutEntry => ({
            binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: s.access === 'read' ? 'read-only-storage' : 'storage' },
          })),
        ],
      });
      const layout = this.device.createPipelineLayout({ label: spec.name, bindGroupLayouts: [bindGroupLayout] });
      const pipeline = this.device.createComputePipeline({ label: spec.name, layout, compute: { module, entryPoint: 'main' } });
      k = { pipeline, bindGroupLayout, layout: params };
      this.kernels.set(spec, k);
    }
    return k;
  }

  /** The WGSL the runtime builds for a spec (for error messages and tests). */
  source(spec: KernelSpec): string {
    return kernelSource(spec, paramLayout(spec));
  }

  /**
   * Encodes one dispatch of `spec` over `grid` workgroups. `storages` follow spec.storages in
   * order (null only where the binding is optional). A read-only input sharing its buffer with
   * a written binding (an in-place op) is read from a copy, as WebGPU forbids that aliasing.
   */
  run(spec: KernelSpec, storages: readonly (Storage | null | undefined)[], params: ParamValues, grid: Grid): void {
    if (storages.length !== spec.storages.length) {
      throw new Error(`kernel ${spec.name}: expected ${spec.storages.length} storages, got ${storages.length}`);
    }
    // Every handle is checked (device, dtype, not released) even when the grid is empty.
    const gpu: (GpuStorage | null)[] = storages.map((s, i) => {
      const b = spec.storages[i];
      if (s == null) {
        if (!b.optional) throw new TypeError(`kernel ${spec.name}: storage '${b.name}' is required`);
        return null;
      }
      const dtype = b.type === 'f32' ? 'float32' : 'int32';
      return gpuStorage(s, `kernel ${spec.name} (${b.name})`, b.type === 'f32' || b.type === 'i32' || b.type === 'u32' ? dtype : s.dtype);
    });
    for (const p of spec.params) {
      const v = params[p.name];
      if (v === undefined || (typeof v === 'number' && p.type !== 'f32' && !Number.isFinite(v))) {
        throw new TypeError(`kernel ${spec.name}: param '${p.name}' (${p.type}) must be given a ${p.type === 'f32' ? 'number' : 'finite integer'}, got ${String(v)}`);
      }
    }
    if (grid.some((g) => !Number.isInteger(g) || g < 0 || g > this.device.limits.maxComputeWorkgroupsPerDimension)) {
      throw new RangeError(`kernel ${spec.name}: grid [${grid.join(', ')}] must hold integers in [0, ${this.device.limits.maxComputeWorkgroupsPerDimension}]`);
    }
    if (grid[0] === 0 || grid[1] === 0 || grid[2] === 0) return;
    const k = this.compile(spec);
    if (this.slotsUsed === SLOTS_PER_BATCH) this.flush();
    const slot = this.slotsUsed++;
    const base = (slot * PARAM_SLOT_BYTES) / 4;
    this.paramU32.fill(0, base, base + PARAM_SLOT_BYTES / 4);

    const temps: GpuStorage[] = [];
    const written = new Set(gpu.filter((s, i) => s !== null && spec.storages[i].access === 'read_write').map((s) => (s as GpuStorage).alloc.buffer));
    for (let i = 0; i < gpu.length; i++) {
      const s = gpu[i];
      if (s === null || spec.storages[i].access !== 'read' || !written.has(s.alloc.buffer)) continue;
      const tmp = this.allocate(s.length, s.dtype);
      this.copy(s, tmp);
      temps.push(tmp);
      gpu[i] = tmp;
    }
    const seenWritten = new Set<GPUBuffer>();
    for (let i = 0; i < gpu.length; i++) {
      const s = gpu[i];
      if (s === null || spec.storages[i].access !== 'read_write') continue;
      if (seenWritten.has(s.alloc.buffer)) throw new Error(`kernel ${spec.name}: two written storages share one buffer ('${spec.storages[i].name}')`);
      seenWritten.add(s.alloc.buffer);
    }

    for (let i = 0; i < gpu.length; i++) {
      const f = k.layout.offsets.get(`${spec.storages[i].name}_off`);
      if (f !== undefined) this.paramU32[base + f.offset / 4] = gpu[i]?.offset ?? 0;
    }
    for (const [name, value] of Object.entries(params)) {
      const f = k.layout.offsets.get(name);
      if (f === undefined) throw new Error(`kernel ${spec.name}: unknown param '${name}'`);
      const at = base + f.offset / 4;
      if (typeof value === 'object') {
        if (value.length > f.count) throw new RangeError(`kernel ${spec.name}: param '${name}' holds ${f.count} values, got ${value.length}`);
        for (let j = 0; j < value.length; j++) this.paramU32[at + j] = value[j];
      } else {
        const v = typeof value === 'boolean' ? Number(value) : value;
        if (f.type === 'f32') this.paramF32[at] = v;
        else if (f.type === 'i32') this.paramI32[at] = v;
        else this.paramU32[at] = v;
      }
    }

    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.paramBuffer, offset: slot * PARAM_SLOT_BYTES, size: PARAM_SLOT_BYTES } }];
    for (let i = 0; i < gpu.length; i++) entries.push({ binding: i + 1, resource: { buffer: gpu[i]?.alloc.buffer ?? this.dummy(i) } });
    const bindGroup = this.device.createBindGroup({ layout: k.bindGroupLayout, entries });
    const pass = this.open().beginComputePass();
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    pass.end();
    this.dispatches++;
    for (const t of temps) this.release(t);
  }

  private dummy(slot: number): GPUBuffer {
    this.dummies[slot] ??= this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    return this.dummies[slot];
  }

  /** Submits the open batch (parameters first, then its commands). */
  flush(): void {
    if (this.encoder === null) return;
    if (this.slotsUsed > 0) this.device.queue.writeBuffer(this.paramBuffer, 0, this.paramHost, 0, this.slotsUsed * PARAM_SLOT_BYTES);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.slotsUsed = 0;
    for (const b of this.afterSubmit) b.destroy();
    this.afterSubmit = [];
  }
}

/** Workgroups covering n invocations of a 1-D kernel with workgroup size wg (x up to 65535, then y). */
export function grid1d(n: number, wg: number): Grid {
  const groups = Math.ceil(n / wg);
  if (groups <= 65535) return [groups, 1, 1];
  const x = 65535;
  return [x, Math.ceil(groups / x), 1];
}
