import { it } from 'node:test';
import assert from 'node:assert/strict';
import { assignValues, copyValues } from '../../src/tensor/assign.js';
import { tensor } from '../../src/tensor/create.js';
import { forEachDevice } from '../helpers/device.js';

forEachDevice('writing values into tensors', (device, { t, read }) => {
  it('assignValues overwrites every value in place, seen through views of the tensor', async () => {
    const x = t([1, 2, 3, 4], [2, 2]);
    const alias = x.detach();
    assignValues(x, Float32Array.from([5, 6, 7, 8]));
    assert.deepEqual([...await read(x)], [5, 6, 7, 8]);
    assert.deepEqual([...await read(alias)], [5, 6, 7, 8]);
    assignValues(x, [0.5, -1, 2, 1e-7]);
    assert.deepEqual([...await read(x)], [0.5, -1, 2, Math.fround(1e-7)]);
  });

  it('assignValues refuses a value count other than the tensor size, naming both', () => {
    const x = t([1, 2, 3], [3]);
    assert.throws(() => assignValues(x, [1, 2]), /assignValues: values has 2 entries but the tensor of shape \[3\] holds 3/);
  });

  it('copyValues copies the values of one tensor into another of the same size without sharing them', async () => {
    const src = t([1, 2, 3, 4, 5, 6], [2, 3]);
    const dst = t([0, 0, 0, 0, 0, 0], [3, 2]);
    copyValues(dst, src);
    assert.deepEqual([...await read(dst)], [1, 2, 3, 4, 5, 6]);
    assignValues(src, [9, 9, 9, 9, 9, 9]);
    assert.deepEqual([...await read(dst)], [1, 2, 3, 4, 5, 6]);
  });

  it('copyValues refuses tensors of different sizes, naming both shapes', () => {
    assert.throws(() => copyValues(t([0, 0], [2]), t([1, 2, 3], [3])), /copyValues: src has 3 values \(shape \[3\]\) but dst has 2 \(shape \[2\]\)/);
  });

  if (device !== 'cpu') {
    it('copyValues refuses tensors on two devices, naming both', () => {
      const onCpu = tensor([1, 2], [2], { device: 'cpu' });
      assert.throws(() => copyValues(t([0, 0], [2]), onCpu), new RegExp(`copyValues: expected all tensors on one device, but found tensors on '${device}' and 'cpu'`));
    });
  }
});
