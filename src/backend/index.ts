// Backends by device, the default device, and the choice of backend for an op's inputs.
import { cpu } from './cpu.js';
import type { Backend } from './backend.js';
import type { Isa } from './kernels/runtime.js';
import { checkDevice, DEVICES, type Device, type Storage } from './storage.js';

export type { Backend, Kernels } from './backend.js';
export type { Isa } from './kernels/runtime.js';
export type { Device, Storage } from './storage.js';
export { DEVICES, checkDevice } from './storage.js';

/** The CPU backend (the native addon). */
export const backend: Backend = cpu;

const backends = new Map<Device, Backend>([['cpu', cpu]]);

/**
 * Makes `be` the backend of `device` (the WebGPU backend registers itself when it loads).
 * Replacing the CPU backend is not allowed.
 */
export function registerBackend(device: Device, be: Backend): void {
  checkDevice('registerBackend', 'device', device);
  if (device === 'cpu') throw new Error("registerBackend: the 'cpu' backend is built in and cannot be replaced");
  if (be.device !== device) throw new Error(`registerBackend: the backend says it is for device '${be.device}', not '${device}'`);
  backends.set(device, be);
}

/** Removes a registered backend (tests, and a device that was lost). */
export function unregisterBackend(device: Device): void {
  if (device !== 'cpu') backends.delete(device);
}

/** The devices with a backend now. */
export function availableDevices(): Device[] {
  return DEVICES.filter((d) => backends.has(d));
}

/** The backend of `device`; throws naming the function when the device has none. */
export function backendOn(device: Device, fn = 'backendOn'): Backend {
  const be = backends.get(device);
  if (be === undefined) {
    checkDevice(fn, 'device', device);
    throw new Error(
      `${fn}: device '${device}' is not available (available: ${availableDevices().map((d) => `'${d}'`).join(', ')}); ` +
        (device === 'webgpu' ? "register it with 'await enableWebgpu()' (exported by normlab) on a machine with a WebGPU adapter" : 'no backend is registered for it'),
    );
  }
  return be;
}

let defaultDevice: Device = 'cpu';

/** Where tensor(), zeros(), randn() and the layers' parameters are created unless told. */
export function setDefaultDevice(device: Device): void {
  backendOn(checkDevice('setDefaultDevice', 'device', device), 'setDefaultDevice');
  defaultDevice = device;
}

export function getDefaultDevice(): Device {
  return defaultDevice;
}

/** Anything with storage on a device (a Tensor). */
interface OnDevice {
  readonly storage: Storage;
}

/**
 * The backend that runs `op` on these inputs (null and undefined are skipped). All inputs must
 * be on one device; otherwise the error names the op and both devices, as PyTorch's does.
 */
export function backendFor(op: string, ...inputs: (OnDevice | null | undefined)[]): Backend {
  let device: Device | null = null;
  for (const t of inputs) {
    if (t == null) continue;
    const d = t.storage.device;
    if (device === null) device = d;
    else if (d !== device) {
      throw new Error(`${op}: expected all tensors on one device, but found tensors on '${device}' and '${d}'; move them with .to('${device}') or .to('${d}')`);
    }
  }
  return device === null || device === 'cpu' ? cpu : backendOn(device, op);
}

/** Sets the native thread-pool size (default: number of cores, or NORMLAB_NUM_THREADS). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: n must be an integer >= 1, got ${n}`);
  backend.setNumThreads(n);
}
export function getNumThreads(): number {
  return backend.getNumThreads();
}
/** Forces an instruction-set path (as NORMLAB_ISA does); throws if the CPU lacks it. */
export function setIsa(isa: Isa): void {
  backend.setIsa(isa);
}
export function getIsa(): Isa {
  return backend.getIsa();
}
export function supportedIsas(): Isa[] {
  return backend.supportedIsas();
}
