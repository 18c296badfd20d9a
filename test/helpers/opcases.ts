// Runs golden op fixtures (scripts/fixture_lib.py op_case): inputs x0..xk, output `out`, upstream
// gradient `gout`, input gradients g0..gk. Also iterates tests over ISA paths and thread counts.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { getIsa, getNumThreads, setIsa, setNumThreads, supportedIsas } from '../../src/backend/index.js';
import { assertClose, type CloseOptions } from './assert.js';
import type { FixtureCase } from './fixtures.js';

/** The input tensors of a case, with requiresGrad where the fixture holds their gradient. */
export function caseInputs(c: FixtureCase): Tensor[] {
  const out: Tensor[] = [];
  for (let i = 0; c.tensors[`x${i}`] !== undefined; i++) {
    const t = c.tensors[`x${i}`];
    out.push(new Tensor(t.data.slice(), t.shape, { requiresGrad: c.tensors[`g${i}`] !== undefined }));
  }
  return out;
}

/** Checks forward output and input gradients of `op` against the fixture case. */
export function checkOpCase(c: FixtureCase, op: (inputs: Tensor[]) => Tensor, options: CloseOptions = {}): void {
  const inputs = caseInputs(c);
  const out = op(inputs);
  assert.deepEqual(out.shape, c.tensors.out.shape, `${c.name}: output shape`);
  assertClose(out.buffer, c.tensors.out.data, `${c.name}: forward`, options);
  if (!inputs.some((x) => x.requiresGrad)) return;
  out.backward(new Tensor(c.tensors.gout.data.slice(), c.tensors.gout.shape));
  inputs.forEach((x, i) => {
    const expected = c.tensors[`g${i}`];
    if (expected === undefined) return;
    assert.ok(x.grad !== null, `${c.name}: input ${i} got no gradient`);
    assertClose(x.grad.buffer, expected.data, `${c.name}: gradient of input ${i}`, options);
  });
}

/**
 * Defines one describe block per (ISA the CPU supports) x (thread count), each setting that
 * configuration before its tests; restores the original configuration afterwards.
 */
export function forEachIsaAndThreads(body: () => void, threadCounts: number[] = [1, 2]): void {
  const isa0 = getIsa();
  const nt0 = getNumThreads();
  after(() => {
    setIsa(isa0);
    setNumThreads(nt0);
  });
  for (const isa of supportedIsas()) {
    for (const nt of threadCounts) {
      describe(`on ${isa} with ${nt} thread(s)`, () => {
        before(() => {
          setIsa(isa);
          setNumThreads(nt);
        });
        body();
      });
    }
  }
}
