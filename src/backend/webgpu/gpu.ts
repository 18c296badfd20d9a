/// <reference types="@webgpu/types" />
// Finding a WebGPU device in Node: the optional npm package `webgpu` (Google's Dawn, prebuilt
// dawn.node) provides navigator.gpu's API. Every way this can fail has a reason a user can act on:
// the package is not installed, no Vulkan/Metal/D3D driver is present, or no adapter was offered.
import { existsSync, readdirSync } from 'node:fs';

/** What `normlab devices` prints about the WebGPU adapter. */
export interface WebgpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for a software rasteriser (Mesa's lavapipe, SwiftShader): correct but not fast. */
  software: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface WebgpuProbe {
  available: boolean;
  /** Why WebGPU is not available (null when it is). */
  reason: string | null;
  adapter: WebgpuAdapterInfo | null;
}

interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

/** The GPU object must outlive every device made from it (the package's documented rule). */
let gpuRoot: GPU | null = null;

async function loadDawn(): Promise<DawnModule> {
  try {
    // A variable specifier keeps TypeScript from requiring the optional package at build time.
    const name = 'webgpu';
    return (await import(name)) as DawnModule;
  } catch (e) {
    throw new Error(
      "WebGPU: the optional package 'webgpu' is not installed (an optional peer dependency of normlab, about 130 MB, left out of CPU-only installs); " +
        `install it with 'npm install webgpu' (${(e as Error).message.split('\n')[0]})`,
    );
  }
}

/** On Linux, Dawn uses Vulkan: without an installable client driver (ICD) it offers no adapter. */
function vulkanDriverHint(): string {
  if (process.platform !== 'linux') return '';
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  const icds = dirs.filter((d) => existsSync(d)).flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.json')));
  if (icds.length === 0) {
    return '; no Vulkan driver is installed (no ICD file in /usr/share/vulkan/icd.d): install your GPU vendor\'s Vulkan driver, or Mesa\'s software driver lavapipe (Debian 12: mesa-vulkan-drivers from bookworm-backports; the stock Mesa 22.3 is too old for Dawn)';
  }
  return `; Vulkan drivers found: ${icds.join(', ')} (Dawn needs Vulkan 1.1 or newer; Debian 12's stock Mesa 22.3 lavapipe is rejected, Mesa 25 from bookworm-backports works)`;
}

function adapterInfo(adapter: GPUAdapter): WebgpuAdapterInfo {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const key of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupsPerDimension', 'minStorageBufferOffsetAlignment'] as const) {
    limits[key] = adapter.limits[key];
  }
  const description = info.description ?? '';
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description,
    software: /llvmpipe|lavapipe|swiftshader/i.test(`${description} ${info.device ?? ''}`),
    features: [...adapter.features].sort(),
    limits,
  };
}

async function requestAdapter(): Promise<GPUAdapter> {
  const dawn = await loadDawn();
  Object.assign(globalThis, dawn.globals);
  gpuRoot ??= dawn.create([]);
  const adapter = await gpuRoot.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) throw new Error(`WebGPU: no adapter was offered${vulkanDriverHint()}`);
  return adapter;
}

/** Looks for a WebGPU adapter; never throws. */
export async function probeWebgpu(): Promise<WebgpuProbe> {
  try {
    const adapter = await requestAdapter();
    return { available: true, reason: null, adapter: adapterInfo(adapter) };
  } catch (e) {
    return { available: false, reason: (e as Error).message, adapter: null };
  }
}

/** A device with the adapter's largest buffer limits and the optional features normlab uses. */
export async function requestGpuDevice(): Promise<{ device: GPUDevice; info: WebgpuAdapterInfo }> {
  const adapter = await requestAdapter();
  const want: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = want.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    },
  });
  return { device, info: adapterInfo(adapter) };
}
