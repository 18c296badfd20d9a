// Device-parameterised tests. `forEachDevice(title, fn)` runs a suite once per device under test:
// 'cpu', and 'webgpu' — the real WebGPU backend where one is registered, else a WebGPU emulated in
// host memory: the CPU kernels behind storage handles that say 'webgpu' and cannot be read
// synchronously. An op that reached into host memory instead of going through its backend fails
// there (Tensor.buffer and data() throw for it), so the emulation checks the plumbing a GPU
// backend relies on, and a real backend runs the same suites by being registered.
import { describe } from 'node:test';
import { backend as cpu, backendOn, availableDevices, registerBackend, type Backend, type Device } from '../../src/backend/index.js';
import { HostIndexStorage, HostStorage, hostArray, hostIndexArray } from '../../src/backend/cpu/storage.js';
import { emptyFloats, zeroFloats } from '../../src/backend/cpu/alloc.js';
import { tensor } from '../../src/tensor/create.js';
import type { Tensor } from '../../src/tensor/tensor.js';

/** A backend for device 'webgpu' that runs the CPU kernels on host memory and only reads asynchronously. */
export function emulatedWebgpu(): Backend {
  const wrap = (a: Float32Array): HostStorage => new HostStorage(a, 'webgpu');
  return {
    ...cpu,
    device: 'webgpu',
    empty: (n) => wrap(emptyFloats(n)),
    zeros: (n) => wrap(zeroFloats(n)),
    full: (n, v) => wrap(new Float32Array(n).fill(v)),
    upload: (values) => wrap(Float32Array.from(values)),
    download: async (s) => hostArray(s, 'download').slice(),
    downloadSync: () => {
      throw new Error("downloadSync: device 'webgpu' cannot be read synchronously; use download()");
    },
    view: (s, offset, length) => wrap(hostArray(s, 'view').subarray(offset, offset + length)),
    emptyIndex: (n) => new HostIndexStorage(new Int32Array(n), 'webgpu'),
    uploadIndex: (values) => new HostIndexStorage(Int32Array.from(values), 'webgpu'),
    downloadIndex: async (s) => hostIndexArray(s, 'downloadIndex').slice(),
    downloadIndexSync: () => {
      throw new Error("downloadIndexSync: device 'webgpu' cannot be read synchronously; use downloadIndex()");
    },
  };
}

// NORMLAB_TEST_WEBGPU: 'real' runs the device suites on the real WebGPU backend (failing when there
// is none), 'emulated' on the host-memory emulation, and by default ('auto') on the real backend
// where an adapter exists, else on the emulation (scripts/run-tests.js says which and why).
// NORMLAB_REQUIRE_WEBGPU=1 (CI) makes a missing adapter a failure.
const webgpuMode = process.env.NORMLAB_TEST_WEBGPU ?? 'auto';
if (webgpuMode !== 'emulated') {
  const { enableWebgpu } = await import('../../src/backend/webgpu.js');
  try {
    await enableWebgpu();
  } catch (e) {
    if (webgpuMode === 'real' || process.env.NORMLAB_REQUIRE_WEBGPU === '1') throw e;
  }
}

/** Registers the emulated WebGPU unless a real one is registered; returns the device name. */
export function ensureSecondDevice(): Device {
  if (!availableDevices().includes('webgpu')) registerBackend('webgpu', emulatedWebgpu());
  return 'webgpu';
}

/** The devices op and layer suites run on (NORMLAB_TEST_DEVICES=cpu narrows it). */
export function devicesUnderTest(): Device[] {
  const only = process.env.NORMLAB_TEST_DEVICES;
  if (only !== undefined && only !== '') return only.split(',').map((d) => d.trim() as Device);
  ensureSecondDevice();
  return ['cpu', 'webgpu'];
}

/** Runs `fn` in a describe block per device, titled `${title} on ${device}`. */
export function forEachDevice(title: string, fn: (device: Device, on: DeviceTools) => void): void {
  for (const device of devicesUnderTest()) {
    if (device !== 'cpu') backendOn(device);
    describe(`${title} on ${device}`, () => fn(device, toolsFor(device)));
  }
}

export interface DeviceTools {
  /** tensor(data, shape, { device, requiresGrad }). */
  t(data: ArrayLike<number> | unknown[], shape?: readonly number[], requiresGrad?: boolean): Tensor;
  /** The tensor's values on the host (await x.read()). */
  read(x: Tensor): Promise<Float32Array>;
}

function toolsFor(device: Device): DeviceTools {
  return {
    t: (data, shape, requiresGrad = false) => tensor(data as number[], shape, { device, requiresGrad }),
    read: (x) => x.read(),
  };
}

/** True where `device` runs the CPU's own kernels (the CPU, and the emulated 'webgpu'), so results are bit-identical to the CPU's. */
export function runsCpuKernels(device: Device): boolean {
  return device === 'cpu' || !('runtime' in backendOn(device));
}
