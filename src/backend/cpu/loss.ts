// The CPU loss kernels: the native addon's positional functions (native/loss.cc) behind the
// typed argument objects of kernels/loss.ts. Reductions the addon does not compute (per-term
// losses of 'none', 'sum' from the addon's mean, the NLL gradient scatter, the target check)
// run here over the host arrays behind the handles.
import type { LossKernels, LossReduction } from '../kernels/loss.js';
import type { Storage } from '../storage.js';
import { hostArray, hostIndexArray } from './storage.js';

/** The addon's loss functions, as native/loss.cc declares them. */
export interface NativeLossKernels {
  softmaxForward(x: Float32Array, rows: number, cols: number, y: Float32Array, log: boolean): void;
  softmaxBackward(y: Float32Array, gy: Float32Array, rows: number, cols: number, gx: Float32Array, log: boolean): void;
  /** out[0] = the mean loss over valid rows; rowLoss (N) gets each row's loss. Returns the valid count. */
  crossEntropyForward(logits: Float32Array, N: number, C: number, target: Int32Array, eps: number, ignoreIndex: number, out: Float32Array, rowLoss?: Float32Array): number;
  crossEntropyBackward(logits: Float32Array, N: number, C: number, target: Int32Array, eps: number, ignoreIndex: number, scale: number, gx: Float32Array, rowScale?: Float32Array): void;
  /** out[0] = mean_valid(-logp[i, t_i]). Returns the valid count. */
  nllLossForward(logp: Float32Array, N: number, C: number, target: Int32Array, ignoreIndex: number, out: Float32Array): number;
  mseLossForward(a: Float32Array, b: Float32Array, n: number, out: Float32Array): void;
  mseLossBackward(a: Float32Array, b: Float32Array, n: number, scale: number, ga: Float32Array): void;
  bceWithLogitsForward(x: Float32Array, y: Float32Array, n: number, out: Float32Array): void;
  bceWithLogitsBackward(x: Float32Array, y: Float32Array, n: number, scale: number, gx: Float32Array): void;
  dropoutMask(seed: number, p: number, mask: Float32Array, n: number): void;
}

function checkLength(fn: string, arg: string, s: Storage, n: number): void {
  if (s.length !== n) throw new RangeError(`${fn}: ${arg} has ${s.length} values, expected ${n}`);
}

/** The upstream gradient's scale for a reduced loss: g[0] for 'sum', g[0] / count for 'mean'. */
function reducedScale(fn: string, reduction: LossReduction, gy: Storage, count: number): number {
  const g = hostArray(gy, fn)[0];
  return reduction === 'mean' ? g / count : g;
}

export function cpuLossKernels(addon: NativeLossKernels): LossKernels {
  return {
    softmaxForward({ x, rows, cols, y, log }) {
      addon.softmaxForward(hostArray(x, 'softmaxForward'), rows, cols, hostArray(y, 'softmaxForward'), log);
    },
    softmaxBackward({ y, gy, rows, cols, gx, log }) {
      const fn = 'softmaxBackward';
      addon.softmaxBackward(hostArray(y, fn), hostArray(gy, fn), rows, cols, hostArray(gx, fn), log);
    },
    crossEntropyForward({ logits, N, C, target, eps, ignoreIndex, reduction, out, count }) {
      const fn = 'crossEntropyForward';
      checkLength(fn, 'out', out, reduction === 'none' ? N : 1);
      const o = hostArray(out, fn);
      const mean = reduction === 'none' ? new Float32Array(1) : o;
      const rows = reduction === 'none' ? o : undefined;
      const valid = addon.crossEntropyForward(hostArray(logits, fn), N, C, hostIndexArray(target, fn), eps, ignoreIndex, mean, rows);
      // 'sum' is the mean times the count, rounded once to float32; over no counted row it is 0
      // (PyTorch's sum over nothing), not NaN times 0.
      if (reduction === 'sum') o[0] = valid === 0 ? 0 : mean[0] * valid;
      hostArray(count, fn)[0] = valid;
    },
    crossEntropyBackward({ logits, N, C, target, eps, ignoreIndex, reduction, gy, count, gx }) {
      const fn = 'crossEntropyBackward';
      const x = hostArray(logits, fn);
      const t = hostIndexArray(target, fn);
      const g = hostArray(gx, fn);
      if (reduction === 'none') addon.crossEntropyBackward(x, N, C, t, eps, ignoreIndex, 1, g, hostArray(gy, fn));
      else addon.crossEntropyBackward(x, N, C, t, eps, ignoreIndex, reducedScale(fn, reduction, gy, hostArray(count, fn)[0]), g);
    },
    nllLossForward({ logp, N, C, target, ignoreIndex, reduction, out, count }) {
      const fn = 'nllLossForward';
      checkLength(fn, 'out', out, reduction === 'none' ? N : 1);
      const x = hostArray(logp, fn);
      const t = hostIndexArray(target, fn);
      const o = hostArray(out, fn);
      if (reduction === 'none') {
        let valid = 0;
        for (let i = 0; i < N; i++) {
          if (t[i] === ignoreIndex) {
            o[i] = 0;
            continue;
          }
          if (!(t[i] >= 0 && t[i] < C)) throw new RangeError(`${fn}: target[${i}] = ${t[i]} is out of range [0, ${C})`);
          o[i] = -x[i * C + t[i]];
          valid++;
        }
        hostArray(count, fn)[0] = valid;
        return;
      }
      const valid = addon.nllLossForward(x, N, C, t, ignoreIndex, o);
      if (reduction === 'sum') o[0] = valid === 0 ? 0 : o[0] * valid;
      hostArray(count, fn)[0] = valid;
    },
    nllLossBackward({ N, C, target, ignoreIndex, reduction, gy, count, gx }) {
      const fn = 'nllLossBackward';
      checkLength(fn, 'gx', gx, N * C);
      const t = hostIndexArray(target, fn);
      const g = hostArray(gy, fn);
      const out = hostArray(gx, fn);
      out.fill(0);
      // d loss / d logp[i, t_i] = -(upstream of row i) (/ count for 'mean'); 0 elsewhere.
      const scale = reduction === 'none' ? 0 : reducedScale(fn, reduction, gy, hostArray(count, fn)[0]);
      for (let i = 0; i < N; i++) {
        if (t[i] === ignoreIndex) continue;
        out[i * C + t[i]] = reduction === 'none' ? -g[i] : -scale;
      }
    },
    classTargets({ values, n, classes, ignoreIndex, out, fn }) {
      const v = hostArray(values, fn);
      const o = hostIndexArray(out, fn);
      if (v.length !== n || o.length !== n) throw new RangeError(`classTargets: values and out must hold ${n} values, got ${v.length} and ${o.length}`);
      for (let i = 0; i < n; i++) {
        const c = v[i];
        if (!Number.isInteger(c)) throw new RangeError(`${fn}: target[${i}] = ${c} is not an integer class index`);
        if (c !== ignoreIndex && (c < 0 || c >= classes)) throw new RangeError(`${fn}: target[${i}] = ${c} is out of range [0, ${classes})`);
        o[i] = c;
      }
    },
    mseLossForward({ a, b, n, reduction, out }) {
      const fn = 'mseLossForward';
      checkLength(fn, 'out', out, reduction === 'none' ? n : 1);
      const x = hostArray(a, fn);
      const y = hostArray(b, fn);
      const o = hostArray(out, fn);
      if (reduction === 'none') {
        // (a - b) rounded to float32, then squared: the values of sub then mul.
        for (let i = 0; i < n; i++) {
          const d = Math.fround(x[i] - y[i]);
          o[i] = d * d;
        }
        return;
      }
      addon.mseLossForward(x, y, n, o);
      if (reduction === 'sum') o[0] = n === 0 ? 0 : o[0] * n;
    },
    mseLossBackward({ a, b, n, reduction, gy, ga, gb }) {
      const fn = 'mseLossBackward';
      const x = hostArray(a, fn);
      const y = hostArray(b, fn);
      if (reduction === 'none') {
        const g = hostArray(gy, fn);
        const oa = ga === null ? null : hostArray(ga, fn);
        const ob = gb === null ? null : hostArray(gb, fn);
        // 2 * (g * (a - b)): the gradient of mul(d, d) (g*d twice, summed) through sub.
        for (let i = 0; i < n; i++) {
          const v = 2 * Math.fround(g[i] * Math.fround(x[i] - y[i]));
          if (oa !== null) oa[i] = v;
          if (ob !== null) ob[i] = -v;
        }
        return;
      }
      const scale = (2 * hostArray(gy, fn)[0]) / (reduction === 'sum' ? 1 : n);
      if (ga !== null) addon.mseLossBackward(x, y, n, scale, hostArray(ga, fn));
      if (gb !== null) {
        const ob = hostArray(gb, fn);
        if (ga !== null) {
          const oa = hostArray(ga, fn);
          for (let i = 0; i < n; i++) ob[i] = -oa[i];
        } else {
          addon.mseLossBackward(x, y, n, -scale, ob);
        }
      }
    },
    bceWithLogitsForward({ x, y, n, reduction, out }) {
      const fn = 'bceWithLogitsForward';
      checkLength(fn, 'out', out, reduction === 'none' ? n : 1);
      const xs = hostArray(x, fn);
      const ys = hostArray(y, fn);
      const o = hostArray(out, fn);
      if (reduction === 'none') {
        for (let i = 0; i < n; i++) o[i] = Math.max(xs[i], 0) - xs[i] * ys[i] + Math.log1p(Math.exp(-Math.abs(xs[i])));
        return;
      }
      addon.bceWithLogitsForward(xs, ys, n, o);
      if (reduction === 'sum') o[0] = n === 0 ? 0 : o[0] * n;
    },
    bceWithLogitsBackward({ x, y, n, reduction, gy, gx, gTarget }) {
      const fn = 'bceWithLogitsBackward';
      const xs = hostArray(x, fn);
      const ys = hostArray(y, fn);
      const g = hostArray(gy, fn);
      const ox = gx === null ? null : hostArray(gx, fn);
      const oy = gTarget === null ? null : hostArray(gTarget, fn);
      if (reduction === 'none') {
        for (let i = 0; i < n; i++) {
          if (ox !== null) ox[i] = (1 / (1 + Math.exp(-xs[i])) - ys[i]) * g[i];
          if (oy !== null) oy[i] = -xs[i] * g[i];
        }
        return;
      }
      const scale = g[0] / (reduction === 'sum' ? 1 : n);
      if (ox !== null) addon.bceWithLogitsBackward(xs, ys, n, scale, ox);
      if (oy !== null) {
        // -x * scale with the scale rounded to float32 first, as the unary mulScalar kernel does.
        const s = Math.fround(-scale);
        for (let i = 0; i < n; i++) oy[i] = xs[i] * s;
      }
    },
    dropoutMask({ seed, p, n, mask }) {
      addon.dropoutMask(seed, p, hostArray(mask, 'dropoutMask'), n);
    },
  };
}
