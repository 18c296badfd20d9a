#!/usr/bin/env node
// Where a training step's time goes, per native kernel: wraps every kernel of the backend with a
// CPU-time timer (process.cpuUsage, so time spent waiting for a core on a loaded machine is not
// counted), runs SGD steps of a model on a fixed random batch and prints each kernel's CPU ms per
// step and share; the rest of the step's CPU time is JS (autograd, allocation, glue, GC).
//   npm run build && node scripts/profile-step.js [network=fbn-mnist] [batch=64] [threads=1] [steps=100]
// NORM=<spec> picks the model's normalization (default bn); NORM=none gives bench/train_step's LeNet-5.
// Networks: any createModel name; resnet*, vgg*, alexnet, cifar-cnn take 3x32x32, the rest 1x28x28.
import { backend } from '../dist/src/backend/index.js';
import * as nl from '../dist/src/index.js';

const [net = 'fbn-mnist', batchArg = '64', threadsArg = '1', stepsArg = '100'] = process.argv.slice(2);
const batch = Number(batchArg);
const steps = Number(stepsArg);
const stats = new Map();
let timing = false;
for (const name of Object.keys(backend)) {
  const fn = backend[name];
  if (typeof fn !== 'function' || /NumThreads|Isa/.test(name)) continue;
  backend[name] = (...args) => {
    if (!timing) return fn(...args);
    const c0 = process.cpuUsage();
    const r = fn(...args);
    const c = process.cpuUsage(c0);
    const s = stats.get(name) ?? { us: 0, calls: 0 };
    s.us += c.user + c.system;
    s.calls++;
    stats.set(name, s);
    return r;
  };
}
nl.setNumThreads(Number(threadsArg));
const cifar = /^(resnet|vgg|alexnet|cifar)/.test(net);
const model = nl.models.createModel(net, { norm: process.env.NORM ?? 'bn' });
model.train();
const opt = new nl.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.5 });
const x = nl.randn(cifar ? [batch, 3, 32, 32] : [batch, 1, 28, 28], { seed: 1 });
const y = Int32Array.from({ length: batch }, (_, i) => i % 10);
const step = () => {
  opt.zeroGrad();
  nl.functional.crossEntropy(model.call(x), y).backward();
  opt.step();
};
for (let i = 0; i < Math.min(5, Math.max(1, steps >> 2)); i++) step();
timing = true;
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 0; i < steps; i++) step();
const wallMs = Number(process.hrtime.bigint() - t0) / 1e6 / steps;
const c = process.cpuUsage(c0);
const cpuMs = (c.user + c.system) / 1e3 / steps;
const rows = [...stats].map(([name, s]) => ({ name, ms: s.us / 1e3 / steps, calls: s.calls / steps })).sort((a, b) => b.ms - a.ms);
const kernels = rows.reduce((a, r) => a + r.ms, 0);
const line = (label, ms, extra = '') => console.log(`  ${label.padEnd(28)} ${ms.toFixed(3).padStart(10)} ms ${((100 * ms) / cpuMs).toFixed(1).padStart(5)}%${extra}`);
console.log(`${net} batch ${batch} threads ${threadsArg}: ${wallMs.toFixed(2)} ms/step wall, ${cpuMs.toFixed(2)} ms/step CPU (shares are of CPU)`);
for (const r of rows) line(r.name, r.ms, `  ${r.calls} calls/step`);
line('kernels', kernels);
line('outside kernels (JS)', cpuMs - kernels);
