// One CPU workload of the A/B comparison, timed against the normlab package at argv[2] (a
// checkout with dist/ built). Only the public API is used, so any two versions can be compared.
//   node bench/ab/workload.mjs <root> <workload> <threads> <reps>
// Prints one JSON line {workload, threads, ms} with the median wall time of `reps` runs.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [root, workload, threadsArg, repsArg] = process.argv.slice(2);
const nl = await import(pathToFileURL(join(root, 'dist/src/index.js')).href);
const { nn, optim, randn, functional: F, models } = nl;
const threads = Number(threadsArg);
const reps = Number(repsArg);
nl.setNumThreads(threads);

function labels(n) {
  return Int32Array.from({ length: n }, (_, i) => i % 10);
}

function trainStep(model, x, y, lr) {
  model.train();
  const opt = new optim.SGD(model.parameters(), { lr, momentum: 0.9 });
  return () => {
    opt.zeroGrad();
    F.crossEntropy(model.call(x), y).backward();
    opt.step();
  };
}

function normStep(layer) {
  const x = randn([128, 64, 32, 32], { seed: 1, requiresGrad: true });
  const g = randn([128, 64, 32, 32], { seed: 2 });
  layer.train();
  return () => {
    x.zeroGrad();
    layer.call(x).backward(g);
  };
}

const workloads = {
  'lenet5-step': () => {
    const model = new nn.Sequential(
      new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(6, 16, 5), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(),
      new nn.Linear(400, 120), new nn.ReLU(), new nn.Linear(120, 84), new nn.ReLU(), new nn.Linear(84, 10),
    );
    return trainStep(model, randn([64, 1, 28, 28], { seed: 1 }), labels(64), 0.01);
  },
  'fbn-mnist-step': () => trainStep(models.createModel('fbn-mnist', { norm: 'fbn' }), randn([64, 1, 28, 28], { seed: 1 }), labels(64), 0.01),
  'bn2d-fwd-bwd': () => normStep(new nn.BatchNorm2d(64)),
  'fbn2d-fwd-bwd': () => normStep(new nn.FilteredBatchNorm2d(64)),
  'conv64-fwd-bwd': () => {
    const conv = new nn.Conv2d(64, 64, 3, { padding: 1 });
    const x = randn([128, 64, 32, 32], { seed: 1, requiresGrad: true });
    const g = randn([128, 64, 32, 32], { seed: 2 });
    return () => {
      x.zeroGrad();
      conv.zeroGrad();
      conv.call(x).backward(g);
    };
  },
  'resnet18-step': () => trainStep(models.createModel('resnet18'), randn([128, 3, 32, 32], { seed: 1 }), labels(128), 0.1),
};

const make = workloads[workload];
if (make === undefined) throw new Error(`workload: unknown workload '${workload}' (known: ${Object.keys(workloads).join(', ')})`);
const step = make();
step();
step();
const times = [];
for (let i = 0; i < reps; i++) {
  const t0 = process.hrtime.bigint();
  step();
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ workload, threads, ms: times[Math.floor(times.length / 2)] }));
