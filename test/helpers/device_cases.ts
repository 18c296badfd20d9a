// Golden op fixtures (see opcases.ts) checked on any device: inputs made with a suite's
// DeviceTools, results read back with read(), so the same case runs on 'cpu' and on 'webgpu'.
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose, type CloseOptions } from './assert.js';
import type { DeviceTools } from './device.js';
import type { FixtureCase } from './fixtures.js';

/** The case's input tensors on the tools' device, with requiresGrad where the fixture holds their gradient. */
export function caseInputsOn(c: FixtureCase, { t }: DeviceTools): Tensor[] {
  const out: Tensor[] = [];
  for (let i = 0; c.tensors[`x${i}`] !== undefined; i++) {
    const x = c.tensors[`x${i}`];
    out.push(t(x.data.slice(), x.shape, c.tensors[`g${i}`] !== undefined));
  }
  return out;
}

/** Checks forward output and input gradients of `op` against the fixture case on the tools' device. */
export async function checkOpCaseOn(c: FixtureCase, tools: DeviceTools, op: (inputs: Tensor[]) => Tensor, options: CloseOptions = {}): Promise<void> {
  const inputs = caseInputsOn(c, tools);
  const out = op(inputs);
  assert.deepEqual(out.shape, c.tensors.out.shape, `${c.name}: output shape`);
  assertClose(await tools.read(out), c.tensors.out.data, `${c.name}: forward`, options);
  if (!inputs.some((x) => x.requiresGrad)) return;
  out.backward(tools.t(c.tensors.gout.data.slice(), c.tensors.gout.shape));
  for (const [i, x] of inputs.entries()) {
    const expected = c.tensors[`g${i}`];
    if (expected === undefined) continue;
    assert.ok(x.grad !== null, `${c.name}: input ${i} got no gradient`);
    assertClose(await tools.read(x.grad), expected.data, `${c.name}: gradient of input ${i}`, options);
  }
}
