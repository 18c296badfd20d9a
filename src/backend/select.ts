// Choosing the device a command trains or evaluates on: `--device cpu|webgpu|auto`, whose default
// comes from NORMLAB_DEVICE (else 'cpu'). 'webgpu' enables the WebGPU backend or fails naming why;
// 'auto' takes WebGPU when it can be enabled and otherwise the CPU, saying so in one line with the
// reason. describeDevices() is what `normlab devices` prints.
import { availableDevices, getIsa, getNumThreads, supportedIsas, type Device, type Isa } from './index.js';
import { enableWebgpu, probeWebgpu, type WebgpuAdapterInfo, type WebgpuProbe } from './webgpu.js';

export type DeviceChoice = 'cpu' | 'webgpu' | 'auto';
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['cpu', 'webgpu', 'auto'];

/** A --device or NORMLAB_DEVICE value that is not one of DEVICE_CHOICES. */
export class DeviceChoiceError extends RangeError {}

/**
 * The requested device: the flag's value when given, else NORMLAB_DEVICE when set and non-empty,
 * else 'cpu'. A bad value is an error naming where it came from, what is allowed and what was found.
 */
export function parseDeviceChoice(flag: string | undefined, env: string | undefined = process.env.NORMLAB_DEVICE): DeviceChoice {
  const list = DEVICE_CHOICES.join(', ');
  if (flag !== undefined) {
    if ((DEVICE_CHOICES as readonly string[]).includes(flag)) return flag as DeviceChoice;
    throw new DeviceChoiceError(`--device must be one of ${list}, got '${flag}'`);
  }
  if (env !== undefined && env.trim() !== '') {
    const v = env.trim();
    if ((DEVICE_CHOICES as readonly string[]).includes(v)) return v as DeviceChoice;
    throw new DeviceChoiceError(`NORMLAB_DEVICE (the default of --device) must be one of ${list}, got '${env}'`);
  }
  return 'cpu';
}

export interface ResolveDeviceOptions {
  /** Registers the WebGPU backend or throws naming the reason (default: enableWebgpu). */
  enable?: () => Promise<unknown>;
}

/**
 * The device to use for `requested`. A 'webgpu' backend that is already registered is used as it
 * is; otherwise 'webgpu' enables one and throws `--device webgpu: WebGPU is not available: <reason>`
 * when that fails, and 'auto' falls back to the CPU and logs one line with the reason.
 */
export async function resolveDevice(requested: DeviceChoice, log: (line: string) => void, options: ResolveDeviceOptions = {}): Promise<Device> {
  if (!(DEVICE_CHOICES as readonly string[]).includes(requested)) {
    throw new DeviceChoiceError(`resolveDevice: requested must be one of ${DEVICE_CHOICES.join(', ')}, got '${String(requested)}'`);
  }
  if (requested === 'cpu') return 'cpu';
  if (availableDevices().includes('webgpu')) return 'webgpu';
  const enable = options.enable ?? enableWebgpu;
  try {
    await enable();
  } catch (e) {
    const reason = firstLine(e);
    if (requested === 'webgpu') throw new Error(`--device webgpu: WebGPU is not available: ${reason}`);
    log(`device: WebGPU is not available, using the CPU (${reason})`);
    return 'cpu';
  }
  if (!availableDevices().includes('webgpu')) {
    const reason = 'enabling it registered no backend';
    if (requested === 'webgpu') throw new Error(`--device webgpu: WebGPU is not available: ${reason}`);
    log(`device: WebGPU is not available, using the CPU (${reason})`);
    return 'cpu';
  }
  return 'webgpu';
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

export interface DevicesReport {
  cpu: { available: true; threads: number; isa: Isa; isas: Isa[] };
  webgpu: { available: boolean; reason: string | null; adapter: WebgpuAdapterInfo | null };
}

/** What this machine offers: the CPU engine's threads and instruction-set paths, and WebGPU's adapter or why there is none. */
export async function describeDevices(probe: () => Promise<WebgpuProbe> = probeWebgpu): Promise<DevicesReport> {
  const gpu = await probe();
  return {
    cpu: { available: true, threads: getNumThreads(), isa: getIsa(), isas: supportedIsas() },
    webgpu: { available: gpu.available, reason: gpu.available ? null : gpu.reason, adapter: gpu.adapter },
  };
}

/** The report as lines of text. */
export function formatDevices(r: DevicesReport): string {
  const lines = [`cpu     available: ${r.cpu.threads} thread(s), instruction set ${r.cpu.isa} (supported: ${r.cpu.isas.join(', ')})`];
  const a = r.webgpu.adapter;
  if (!r.webgpu.available || a === null) {
    lines.push(`webgpu  unavailable: ${r.webgpu.reason ?? 'no adapter'}`);
    return lines.join('\n');
  }
  const name = [a.vendor, a.architecture, a.device].filter((s) => s !== '').join(' ') || 'unnamed adapter';
  lines.push(`webgpu  available: ${name}${a.software ? ' (software rasteriser: correct but slow)' : ''}`);
  if (a.description !== '') lines.push(`        driver: ${a.description}`);
  const limits = Object.entries(a.limits).map(([k, v]) => `${k} ${v}`).join(', ');
  if (limits !== '') lines.push(`        limits: ${limits}`);
  lines.push(`        features: ${a.features.length > 0 ? a.features.join(', ') : 'none'}`);
  return lines.join('\n');
}
