import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { encodePng, pngDataUri, imageGridHtml } from '../../src/report/png.js';

describe('png', () => {
  it('encodes a grayscale image in [0, 1] upscaled by nearest neighbour', () => {
    const img = PNG.sync.read(encodePng(new Float32Array([0, 1, 0.5, 0.25]), [1, 2, 2], 2));
    assert.equal(img.width, 4);
    assert.equal(img.height, 4);
    const px = (x: number, y: number): number[] => [...img.data.subarray((y * 4 + x) * 4, (y * 4 + x) * 4 + 4)];
    assert.deepEqual(px(0, 0), [0, 0, 0, 255]);
    assert.deepEqual(px(1, 1), [0, 0, 0, 255]);
    assert.deepEqual(px(2, 0), [255, 255, 255, 255]);
    assert.deepEqual(px(3, 3), [64, 64, 64, 255]);
    assert.deepEqual(px(0, 3), [128, 128, 128, 255]);
  });

  it('rescales out-of-range values by min/max and keeps RGB channels apart', () => {
    const img = PNG.sync.read(encodePng(new Float32Array([-2, 2, 0, 0, 2, -2]), [3, 1, 2]));
    assert.deepEqual([...img.data], [0, 128, 255, 255, 255, 128, 0, 255]);
  });

  it('builds captioned figures with data URIs and escapes captions', () => {
    const uri = pngDataUri(new Float32Array(4), [2, 2]);
    assert.match(uri, /^data:image\/png;base64,iVBOR/);
    const html = imageGridHtml([{ image: new Float32Array(4), shape: [1, 2, 2], caption: '#3: 7 <- 1 (p=0.9)' }]);
    assert.match(html, /<figcaption>#3: 7 &#60;- 1 \(p=0.9\)<\/figcaption>/);
    assert.match(html, /src="data:image\/png;base64,/);
  });

  it('rejects bad shapes, lengths and scales', () => {
    assert.throws(() => encodePng(new Float32Array(8), [2, 2, 2]), /shape \[1 or 3, H, W\] or \[H, W\], got \[2, 2, 2\]/);
    assert.throws(() => encodePng(new Float32Array(3), [1, 2, 2]), /needs 4 values, got 3/);
    assert.throws(() => encodePng(new Float32Array(4), [2, 2], 1.5), /scale must be a positive integer/);
  });
});
