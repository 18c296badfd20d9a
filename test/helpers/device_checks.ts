// Device-parameterised forms of the op checks: checkOpCase (PyTorch fixtures, helpers/opcases.ts)
// and gradcheck (float64 finite differences, helpers/gradcheck.ts) on tensors created on a given
// device and read back with read(), so the same suite runs on every device (helpers/device.ts).
import assert from 'node:assert/strict';
import { tensor } from '../../src/tensor/create.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { Device } from '../../src/backend/index.js';
import { assertClose, type CloseOptions } from './assert.js';
import type { FixtureCase } from './fixtures.js';
import { finiteDifferences, lcg, type GradcheckOptions, type Reference } from './gradcheck.js';

/** The input tensors of a fixture case on `device`, with requiresGrad where the fixture holds their gradient. */
export function caseInputsOn(device: Device, c: FixtureCase): Tensor[] {
  const out: Tensor[] = [];
  for (let i = 0; c.tensors[`x${i}`] !== undefined; i++) {
    const t = c.tensors[`x${i}`];
    out.push(tensor(t.data.slice(), t.shape, { device, requiresGrad: c.tensors[`g${i}`] !== undefined }));
  }
  return out;
}

/** checkOpCase on `device`: forward output and input gradients of `op` against the fixture case. */
export async function checkOpCaseOn(device: Device, c: FixtureCase, op: (inputs: Tensor[]) => Tensor, options: CloseOptions = {}): Promise<void> {
  const inputs = caseInputsOn(device, c);
  const out = op(inputs);
  assert.equal(out.device, device, `${c.name}: output device`);
  assert.deepEqual(out.shape, c.tensors.out.shape, `${c.name}: output shape`);
  assertClose(await out.read(), c.tensors.out.data, `${c.name}: forward`, options);
  if (!inputs.some((x) => x.requiresGrad)) return;
  out.backward(tensor(c.tensors.gout.data.slice(), c.tensors.gout.shape, { device }));
  for (let i = 0; i < inputs.length; i++) {
    const expected = c.tensors[`g${i}`];
    if (expected === undefined) continue;
    const g = inputs[i].grad;
    assert.ok(g !== null, `${c.name}: input ${i} got no gradient`);
    assert.equal(g.device, device, `${c.name}: device of the gradient of input ${i}`);
    assertClose(await g.read(), expected.data, `${c.name}: gradient of input ${i}`, options);
  }
}

/** gradcheck on `device` (same weights, steps and tolerances). */
export async function gradcheckOn(
  device: Device,
  name: string,
  op: (inputs: Tensor[]) => Tensor,
  reference: Reference,
  inputs: { data: Float32Array; shape: number[] }[],
  options: GradcheckOptions = {},
): Promise<void> {
  const rnd = lcg(options.seed ?? 7);
  const tensors = inputs.map((x) => tensor(x.data.slice(), x.shape, { device, requiresGrad: true }));
  const out = op(tensors);
  const w = new Float32Array(out.size);
  for (let i = 0; i < w.length; i++) w[i] = rnd() * 2 - 1;
  const ref64 = reference(inputs.map((x) => Float64Array.from(x.data)));
  assertClose(await out.read(), ref64, `${name}: forward vs float64 reference`, { rtol: options.rtol ?? 1e-4, atol: options.atol ?? 1e-5 });
  out.backward(tensor(w, out.shape, { device }));
  for (const k of options.check ?? inputs.map((_, i) => i)) {
    const num = finiteDifferences(reference, inputs, w, k, options.h ?? 1e-5);
    const g = tensors[k].grad;
    if (g === null) throw new Error(`${name}: input ${k} received no gradient`);
    assertClose(await g.read(), num, `${name}: gradient of input ${k} vs finite differences`, { rtol: options.rtol ?? 1e-3, atol: options.atol ?? 1e-4 });
  }
}

/** Asserts that `op` over a tensor on 'cpu' and one on `other` throws the op's two-device error. */
export function assertRefusesTwoDevices(name: string, other: Device, op: (cpuTensor: Tensor, otherTensor: Tensor) => unknown, shape: number[] = [2, 3]): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float32Array.from({ length: n }, (_, i) => i + 1);
  const a = tensor(values.slice(), shape);
  const b = tensor(values.slice(), shape, { device: other });
  assert.throws(() => op(a, b), new RegExp(`${name}: expected all tensors on one device, but found tensors on 'cpu' and '${other}'`));
  assert.throws(() => op(b, a), new RegExp(`${name}: expected all tensors on one device, but found tensors on '${other}' and 'cpu'`));
}
