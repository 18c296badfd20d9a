import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runCli } from '../helpers/cli.js';
import { ensureSecondDevice } from '../helpers/device.js';
import { webgpuSkipReason } from '../helpers/webgpu.js';
import { main } from '../../src/cli/main.js';

/** Runs main() in this process (where the emulated WebGPU is registered), capturing stdout and stderr. */
async function inProcess(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const write = { stdout: process.stdout.write, stderr: process.stderr.write };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  // The CLI writes strings; the test runner's own events (binary, on stdout in a child process)
  // pass through, so a test that waits on the GPU does not swallow the runner's reports.
  const capture = (key: 'stdout' | 'stderr') => ((s: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof s !== 'string') return (write[key] as (...a: unknown[]) => boolean).call(process[key], s, ...rest);
    out[key] += s;
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  try {
    const code = await main(args);
    return { code, ...out };
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'normlab-cli-device-'));
const quick = ['--train-limit', '200', '--test-limit', '100', '--epochs', '1', '--progress', 'none'];

describe('normlab --device and normlab devices', () => {
  it('trains end to end with --device webgpu (the real WebGPU where this machine has one, else the emulated device)', async () => {
    ensureSecondDevice();
    const dir = tmp();
    const r = await inProcess(['train', '--device', 'webgpu', ...quick, '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^done: 1 epochs, final test accuracy \d+\.\d\d%/);
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).device, 'webgpu');
    for (const f of ['metrics.jsonl', 'results.json', 'last.safetensors', 'best.safetensors']) assert.ok(existsSync(join(dir, f)), f);
    assert.ok(readdirEvents(dir) > 0, 'a TensorBoard event file with the histograms');
  });

  it('takes the device from NORMLAB_DEVICE when --device is not given', async () => {
    ensureSecondDevice();
    const dir = tmp();
    const r = await inProcess(['train', ...quick, '--out', dir], { NORMLAB_DEVICE: 'webgpu' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).device, 'webgpu');
  });

  it('refuses a bad --device or NORMLAB_DEVICE with exit code 2, naming where the value came from', async () => {
    const bad = await inProcess(['train', '--device', 'gpu', ...quick, '--out', tmp()]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, "normlab: --device must be one of cpu, webgpu, auto, got 'gpu'\n");
    const env = await inProcess(['eval', '--checkpoint', join(tmp(), 'none.safetensors')], { NORMLAB_DEVICE: 'cuda' });
    assert.equal(env.code, 2);
    assert.equal(env.stderr, "normlab: NORMLAB_DEVICE (the default of --device) must be one of cpu, webgpu, auto, got 'cuda'\n");
  });

  it('lists the devices as text and as JSON, with the reason when WebGPU is unavailable', async () => {
    const json = await runCli(['devices', '--json']);
    assert.equal(json.status, 0, json.stderr);
    const r = JSON.parse(json.stdout) as { cpu: { threads: number; isa: string; isas: string[] }; webgpu: { available: boolean; reason: string | null; adapter: { device: string } | null } };
    assert.ok(r.cpu.threads >= 1 && r.cpu.isas.includes(r.cpu.isa));
    if (r.webgpu.available) assert.ok(r.webgpu.adapter !== null && r.webgpu.reason === null);
    else assert.ok(r.webgpu.adapter === null && typeof r.webgpu.reason === 'string' && r.webgpu.reason.length > 0);
    const text = await runCli(['devices']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^cpu {5}available: /);
    assert.match(text.stdout, r.webgpu.available ? /\nwebgpu  available: / : /\nwebgpu  unavailable: \S/);
  });

  it('falls back to the CPU with --device auto where WebGPU is unavailable and says why; --device webgpu fails there naming the reason', async (t) => {
    // Vulkan's loader is pointed at no driver, so Dawn (on Vulkan) offers no adapter.
    const noDriver = { VK_ICD_FILENAMES: '/nonexistent/none.json', VK_DRIVER_FILES: '/nonexistent/none.json' };
    const probe = JSON.parse((await runCli(['devices', '--json'], noDriver)).stdout) as { webgpu: { available: boolean; reason: string } };
    if (probe.webgpu.available) {
      t.skip('WebGPU stays available without a Vulkan driver here (not Dawn on Vulkan)');
      return;
    }
    const dir = tmp();
    const auto = await runCli(['train', '--device', 'auto', ...quick, '--out', dir], noDriver);
    assert.equal(auto.status, 0, auto.stderr);
    assert.match(auto.stderr, /^normlab: device: WebGPU is not available, using the CPU \(.+\)$/m);
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).device, 'cpu');
    const forced = await runCli(['train', '--device', 'webgpu', ...quick, '--out', tmp()], noDriver);
    assert.equal(forced.status, 1);
    assert.match(forced.stderr, /^normlab: --device webgpu: WebGPU is not available: WebGPU: .+$/m);
    // Dawn prints its own native warnings on stderr; no JavaScript stack follows normlab's message.
    assert.doesNotMatch(forced.stderr, /^\s+at .+\.js:\d+:\d+\)?$/m);
  });
});

function readdirEvents(dir: string): number {
  const tb = join(dir, 'tensorboard');
  return existsSync(tb) ? readFileSync(join(tb, readdirSyncFirst(tb))).length : 0;
}

function readdirSyncFirst(dir: string): string {
  return readdirSync(dir).find((f) => f.startsWith('events.out.tfevents.'))!;
}

describe('normlab run on the real WebGPU', { skip: webgpuSkipReason }, () => {
  it('runs fbn-mnist end to end with --device webgpu --quick, writing a report whose runs match the CPU run within float tolerance', async () => {
    const args = ['run', 'fbn-mnist', '--quick', '--seeds', '1', '--set', 'epochs=1', '--set', 'trainLimit=256', '--set', 'testLimit=128'];
    const [gpuDir, cpuDir] = [tmp(), tmp()];
    const g = await runCli([...args, '--device', 'webgpu', '--out', gpuDir]);
    assert.equal(g.status, 0, g.stderr);
    assert.match(g.stderr, /device webgpu/);
    const c = await runCli([...args, '--device', 'cpu', '--out', cpuDir]);
    assert.equal(c.status, 0, c.stderr);
    assert.ok(existsSync(join(gpuDir, 'fbn-mnist', 'report.html')));
    const runs = (dir: string): { group: string; final: { train_loss: number; test_loss: number } }[] =>
      JSON.parse(readFileSync(join(dir, 'fbn-mnist', 'results.json'), 'utf8')).runs;
    const [rg, rc] = [runs(gpuDir), runs(cpuDir)];
    assert.deepEqual(rg.map((r) => r.group), rc.map((r) => r.group));
    rg.forEach((r, i) => {
      for (const k of ['train_loss', 'test_loss'] as const) {
        assert.ok(Math.abs(r.final[k] - rc[i].final[k]) <= 1e-3 * Math.max(1, Math.abs(rc[i].final[k])), `${r.group} ${k}: webgpu ${r.final[k]}, cpu ${rc[i].final[k]}`);
      }
    });
  });
});
