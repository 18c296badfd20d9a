import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { data, Generator } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';
import { loadFixtures } from '../helpers/fixtures.js';

const T = data;
const img = (values: number[], channels: number, height: number, width: number): data.Image => ({ data: Float32Array.from(values), channels, height, width });

describe('transforms', () => {
  it('flips a known 2x3 image left to right, channel by channel', () => {
    const out = T.flipHorizontal(img([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60], 2, 2, 3));
    assert.deepEqual([...out.data], [3, 2, 1, 6, 5, 4, 30, 20, 10, 60, 50, 40]);
  });

  it('flips with probability p: never at 0, always at 1, about half the time at 0.5', () => {
    const x = img([1, 2], 1, 1, 2);
    const gen = new Generator(3);
    assert.deepEqual([...T.randomHorizontalFlip(0)(x, gen).data], [1, 2]);
    assert.deepEqual([...T.randomHorizontalFlip(1)(x, gen).data], [2, 1]);
    let flips = 0;
    for (let i = 0; i < 2000; i++) flips += T.randomHorizontalFlip(0.5)(x, gen).data[0] === 2 ? 1 : 0;
    assert.ok(flips > 900 && flips < 1100, `flipped ${flips} of 2000`);
  });

  it('pads with zeros and crops windows that shift the content', () => {
    const x = img([1, 2, 3, 4], 1, 2, 2);
    assert.deepEqual([...T.padImage(x, 1).data], [0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
    const padded = T.padImage(x, 1);
    assert.deepEqual([...T.cropImage(padded, 0, 0, 2, 2).data], [0, 0, 0, 1]);
    assert.deepEqual([...T.cropImage(padded, 2, 2, 2, 2).data], [4, 0, 0, 0]);
    assert.deepEqual([...T.cropImage(padded, 1, 1, 2, 2).data], [1, 2, 3, 4]);
  });

  it('random crop with padding 4 keeps the size and moves the content by at most 4 pixels', () => {
    // A 32x32 image whose pixel (r, c) is 1 + r * 32 + c, so each output pixel tells its source.
    const x = img(Array.from({ length: 1024 }, (_, i) => i + 1), 1, 32, 32);
    const crop = T.randomCrop(32, { padding: 4 });
    const gen = new Generator(1);
    const shifts = new Set<string>();
    for (let t = 0; t < 200; t++) {
      const out = crop(x, gen);
      assert.equal(out.height, 32);
      assert.equal(out.width, 32);
      // The window's top-left is (top, left) in padded coordinates: content shifts by (4 - top, 4 - left).
      const center = out.data[16 * 32 + 16] - 1;
      const dy = 16 - Math.floor(center / 32);
      const dx = 16 - (center % 32);
      assert.ok(Math.abs(dy) <= 4 && Math.abs(dx) <= 4);
      for (let r = 0; r < 32; r++) {
        for (let c = 0; c < 32; c++) {
          const sr = r - dy;
          const sc = c - dx;
          const expect = sr >= 0 && sr < 32 && sc >= 0 && sc < 32 ? 1 + sr * 32 + sc : 0;
          if (out.data[r * 32 + c] !== expect) assert.fail(`crop ${t}: pixel (${r}, ${c}) is ${out.data[r * 32 + c]}, expected ${expect}`);
        }
      }
      shifts.add(`${dy},${dx}`);
    }
    assert.ok(shifts.size > 40, `only ${shifts.size} distinct shifts of 81`);
  });

  it('resizes a constant image to a constant image, including to 224x224', () => {
    const out = T.resizeBilinear(img(new Array(3 * 32 * 32).fill(0.25), 3, 32, 32), 224, 224);
    assert.equal(out.data.length, 3 * 224 * 224);
    assert.ok(out.data.every((v) => Math.abs(v - 0.25) < 1e-7));
  });

  it('resizes a known 2x2 image to 4x4 with torch bilinear align_corners=False values', () => {
    const out = T.resizeBilinear(img([1, 2, 3, 4], 1, 2, 2), 4, 4);
    assert.deepEqual([...out.data], [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]);
  });

  for (const c of loadFixtures('transforms')) {
    const x = c.tensors.x;
    if (c.name.startsWith('resize')) {
      it(`matches torch interpolate: ${c.name}`, () => {
        const [, ch, h, w] = x.shape;
        const out = T.resizeBilinear({ data: x.data, channels: ch, height: h, width: w }, c.params.outHeight as number, c.params.outWidth as number);
        assertClose(out.data, c.tensors.y.data, c.name);
      });
    } else {
      it(`matches scipy affine_transform (order 1, mode nearest): ${c.name}`, () => {
        const [ch, h, w] = x.shape;
        const out = T.affineImage({ data: x.data, channels: ch, height: h, width: w }, c.params as data.AffineParams);
        assertClose(out.data, c.tensors.y.data, c.name);
      });
    }
  }

  it('leaves an image unchanged under zero shear and unit zoom', () => {
    const x = img([1, 2, 3, 4, 5, 6], 1, 2, 3);
    assert.deepEqual([...T.affineImage(x, { shear: 0, zoomRow: 1, zoomCol: 1 }).data], [1, 2, 3, 4, 5, 6]);
    assert.equal(T.randomAffine({ shearRange: 0, zoomRange: 0 })(x, new Generator(0)), x);
  });

  it('draws shear and zoom from the generator: same seed, same image; fixed ranges, fixed transform', () => {
    const x = img(Array.from({ length: 64 }, (_, i) => i / 64), 1, 8, 8);
    const t = T.randomAffine({ shearRange: 20, zoomRange: 0.2 });
    const a = t(x, new Generator(5));
    assert.deepEqual(a.data, t(x, new Generator(5)).data);
    assert.notDeepEqual(a.data, t(x, new Generator(6)).data);
    assert.ok(a.data.every((v) => v >= 0 && v <= 63 / 64 + 1e-6));
    assert.deepEqual(T.randomZoom([2, 2])(x, new Generator(1)).data, T.affineImage(x, { zoomRow: 2, zoomCol: 2 }).data);
  });

  it('normalizes per channel with the given mean and std', () => {
    const out = T.normalizeImage(img([0, 1, 0.5, 0.5], 2, 1, 2), [0.5, 0.25], [0.5, 0.25]);
    assert.deepEqual([...out.data], [-1, 1, 1, 1]);
    assert.throws(() => T.normalizeImage(img([0, 1], 2, 1, 1), [0], [1]), /need 2 means and stds/);
  });

  it('applies a composed transform to each image of a batch, resizing the batch', () => {
    const batch = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const t = T.compose(T.resize(4, 4), T.normalize([1], [2]));
    const out = T.applyToBatch(t, batch, [2, 1, 2, 2], new Generator(0));
    assert.deepEqual(out.shape, [2, 1, 4, 4]);
    assert.deepEqual([...out.data.subarray(0, 4)], [0, 0.125, 0.375, 0.5]);
    assert.equal(out.data[31], 3.5);
  });

  it('names the function and the sizes in its errors', () => {
    assert.throws(() => T.cropImage(img([1, 2, 3, 4], 1, 2, 2), 1, 1, 2, 2), /cropImage: window top=1 left=1 2x2 does not fit in a 2x2 image/);
    assert.throws(() => T.flipHorizontal(img([1, 2, 3], 1, 2, 2)), /flipHorizontal: image data has 3 values but \[1, 2, 2\] needs 4/);
  });
});
