// Streaming distribution statistics of activations, per channel and per layer (seed 000's
// "activations are not Gaussian in every layer" study).
//
// Batches of shape [N, C, ...] (e.g. [N, C, H, W] or [N, C]) arrive one at a time; channel c's
// values are all x[n, c, ...]. Memory is fixed by the number of channels and histogram bins, never
// by the number of batches.
//
// Exact (up to float64 rounding): count, mean, std (population, ddof = 0 as numpy's default),
// min, max, excess kurtosis (scipy.stats.kurtosis defaults fisher=True, bias=True: m4/m2² − 3,
// NaN when m2 = 0). Central moments are merged across batches and channels with Pébay's formulas.
//
// Approximate, with a stated bound: quantiles (numpy's default linear interpolation,
// position h = q·(n − 1)) come from a per-channel histogram on a dyadic grid: bin k covers
// [k·w, (k + 1)·w) with w = 2^e. When data leave the window of B bins the level e rises by one
// or more and bins merge in pairs (exact, because dyadic bins nest), so the histogram is always the
// exact histogram of all values at level e. An order statistic lies in a known bin, so each
// estimate is within one bin width w of the exact quantile (|q̂ − q| ≤ w, reported as
// `quantileError`). e is the smallest level whose window holds [min, max], which gives
// w < 2·(max − min)/(B − 2), except that e never goes below log2(max|x|) − 40 (to keep bin indices
// exact integers): w ≤ max(2·(max − min)/(B − 2), 2^−39·max|x|).
// The fraction of values with |x − mean| > k·std counts histogram bins beyond the thresholds, and a
// straddling bin in proportion to its overlap; its error is at most the fraction of values in the
// (at most two) straddling bins (reported as `beyondKError`).
//
// Standardized mode (seed 000's ResNet plots): every channel's values are standardized by that
// channel's own mean and std, z = (x − μ_c)/σ_c, before pooling into the layer's statistics.
// Moments of z are exact (they follow from each channel's moments); quantiles come from the channel
// histograms mapped onto z (bin [a, a + w) → [(a − μ_c)/σ_c, (a + w − μ_c)/σ_c)) and spread in
// proportion onto a layer grid of B bins of width W, so |q̂ − q| ≤ max_c(w_c/σ_c) + W.
// Channels with σ_c = 0 have no z and are left out of standardized statistics.

/** Statistics of one channel or one layer. */
export interface DistributionSummary {
  count: number;
  mean: number;
  /** Population standard deviation (ddof = 0). */
  std: number;
  min: number;
  max: number;
  p1: number;
  q1: number;
  median: number;
  q3: number;
  p99: number;
  /** Excess kurtosis m4/m2² − 3 (0 for a Gaussian); NaN when the variance is 0. */
  kurtosis: number;
  /** k of beyondK. */
  k: number;
  /** Fraction of values with |x − mean| > k·std. */
  beyondK: number;
  /** Bound on |beyondK − exact|. */
  beyondKError: number;
  /** Bound on |quantile − exact quantile| for p1, q1, median, q3, p99. */
  quantileError: number;
}

/** A fixed-bin histogram: counts[i] covers [edges[i], edges[i + 1]). */
export interface Histogram {
  edges: number[];
  counts: number[];
}

export interface StreamingStatsOptions {
  /** Histogram bins per channel (B; default 1024): quantile error < 2·range/(B − 2). */
  bins?: number;
  /** k of the beyond-k-sigma fraction (default 3). */
  k?: number;
}

export interface SummaryOptions {
  /** Standardize every channel by its own mean/std before pooling (default false). */
  standardized?: boolean;
}

/** Count, mean and central sums M2 = Σ(x − μ)², M3, M4 of a set of values. */
interface Moments {
  n: number;
  mean: number;
  m2: number;
  m3: number;
  m4: number;
}

const emptyMoments = (): Moments => ({ n: 0, mean: 0, m2: 0, m3: 0, m4: 0 });

/** Pébay's pairwise merge of central moments (exact in real arithmetic). */
function mergeMoments(a: Moments, b: Moments): Moments {
  if (a.n === 0) return { ...b };
  if (b.n === 0) return { ...a };
  const n = a.n + b.n;
  const d = b.mean - a.mean;
  const dn = d / n;
  const m2 = a.m2 + b.m2 + d * dn * a.n * b.n;
  const m3 = a.m3 + b.m3 + d * dn * dn * a.n * b.n * (a.n - b.n) + 3 * dn * (a.n * b.m2 - b.n * a.m2);
  const m4 = a.m4 + b.m4 + d * dn * dn * dn * a.n * b.n * (a.n * a.n - a.n * b.n + b.n * b.n)
    + 6 * dn * dn * (a.n * a.n * b.m2 + b.n * b.n * a.m2) + 4 * dn * (a.n * b.m3 - b.n * a.m3);
  return { n, mean: a.mean + dn * b.n, m2, m3, m4 };
}

/** A histogram on a uniform grid: bin i covers [lo + i·width, lo + (i + 1)·width). */
interface Grid {
  lo: number;
  width: number;
  counts: Float64Array;
}

/** Lowest allowed dyadic level for data with max |x| = maxAbs (bin indices stay below 2^41). */
function levelFloor(maxAbs: number): number {
  return maxAbs > 0 ? Math.floor(Math.log2(maxAbs)) - 40 : -1000;
}

/**
 * Histogram on the dyadic grid of level e (bin k = [k·2^e, (k + 1)·2^e)), B bins starting at bin
 * index k0. Always the exact histogram of every value added, at its current level.
 */
class DyadicHistogram {
  level = 0;
  k0 = 0;
  counts: Float64Array;
  private empty = true;

  constructor(readonly bins: number) {
    this.counts = new Float64Array(bins);
  }

  get width(): number {
    return 2 ** this.level;
  }

  private fits(min: number, max: number, level: number): boolean {
    const w = 2 ** level;
    return Math.floor(max / w) - Math.floor(min / w) + 1 <= this.bins;
  }

  /**
   * Makes the window cover [min, max] (the range of all values so far and to come in this batch)
   * at level minLevel or above, merging bins in pairs as the level rises.
   */
  cover(min: number, max: number, minLevel = -Infinity): void {
    const floor = Math.max(minLevel, levelFloor(Math.max(Math.abs(min), Math.abs(max))));
    const span = max - min;
    let level = this.empty ? Math.max(floor, span > 0 ? Math.ceil(Math.log2(span / (this.bins - 2))) : -1000) : Math.max(this.level, floor);
    while (!this.fits(min, max, level)) level++;
    const w = 2 ** level;
    const k0 = Math.floor(min / w);
    if (this.empty) {
      this.level = level;
      this.k0 = k0;
      this.empty = false;
      return;
    }
    if (level === this.level && k0 === this.k0) return;
    const scale = 2 ** (level - this.level);
    const next = new Float64Array(this.bins);
    for (let i = 0; i < this.bins; i++) {
      const c = this.counts[i];
      if (c !== 0) next[Math.floor((this.k0 + i) / scale) - k0] += c;
    }
    this.counts = next;
    this.level = level;
    this.k0 = k0;
  }

  /** Adds the values data[start + j·1] for j < length (all inside the covered window). */
  addRun(data: Float32Array, start: number, length: number): void {
    const inv = 2 ** -this.level;
    const { counts, k0 } = this;
    for (let j = start; j < start + length; j++) counts[Math.floor(data[j] * inv) - k0]++;
  }

  /** Adds counts of another histogram at a level no higher than this one's (exact: bins nest). */
  addHistogram(h: DyadicHistogram): void {
    const scale = 2 ** (this.level - h.level);
    for (let i = 0; i < h.bins; i++) if (h.counts[i] !== 0) this.counts[Math.floor((h.k0 + i) / scale) - this.k0] += h.counts[i];
  }

  grid(): Grid {
    const w = this.width;
    return { lo: this.k0 * w, width: w, counts: this.counts };
  }
}

/**
 * Estimate of the order statistic of rank j (0-based) from a grid histogram: the value a fraction
 * (j + 0.5 − before)/count into the bin where the cumulative count passes j + 0.5.
 */
function orderStatistic(grid: Grid, cumulative: Float64Array, total: number, j: number, min: number, max: number): number {
  if (j <= 0) return min;
  if (j >= total - 1) return max;
  const target = j + 0.5;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] >= target) hi = mid;
    else lo = mid + 1;
  }
  const before = lo === 0 ? 0 : cumulative[lo - 1];
  const count = grid.counts[lo];
  const v = grid.lo + (lo + (count > 0 ? (target - before) / count : 0.5)) * grid.width;
  return Math.min(max, Math.max(min, v));
}

/** numpy-style linear-interpolation quantiles estimated from a grid histogram. */
function gridQuantiles(grid: Grid, total: number, qs: number[], min: number, max: number): number[] {
  const cumulative = new Float64Array(grid.counts.length);
  let acc = 0;
  for (let i = 0; i < grid.counts.length; i++) {
    acc += grid.counts[i];
    cumulative[i] = acc;
  }
  return qs.map((q) => {
    const h = q * (total - 1);
    const j = Math.floor(h);
    const a = orderStatistic(grid, cumulative, total, j, min, max);
    if (h === j) return a;
    const b = orderStatistic(grid, cumulative, total, j + 1, min, max);
    return a + (h - j) * (b - a);
  });
}

/** Counts of a grid outside (lowT, highT), a straddling bin in proportion; plus the straddling mass. */
function gridBeyond(grid: Grid, lowT: number, highT: number): { beyond: number; straddling: number } {
  let beyond = 0;
  let straddling = 0;
  for (let i = 0; i < grid.counts.length; i++) {
    const c = grid.counts[i];
    if (c === 0) continue;
    const a = grid.lo + i * grid.width;
    const b = a + grid.width;
    let part = 0;
    if (b <= lowT || a >= highT) part = 1;
    else {
      if (a < lowT) part += (lowT - a) / grid.width;
      if (b > highT) part += (b - highT) / grid.width;
      if (part > 0) straddling += c;
    }
    beyond += c * part;
  }
  return { beyond, straddling };
}

/** Spreads mapped bins [a_i, a_i + w) with counts onto a uniform grid in proportion to overlap. */
function spreadOnto(grid: Grid, a: number, w: number, count: number): void {
  const { lo, width, counts } = grid;
  const start = (a - lo) / width;
  const end = (a + w - lo) / width;
  let i = Math.max(0, Math.floor(start));
  const last = Math.min(counts.length - 1, Math.floor(end));
  if (i >= last) {
    counts[Math.min(counts.length - 1, i)] += count;
    return;
  }
  for (; i <= last; i++) {
    const overlap = Math.min(end, i + 1) - Math.max(start, i);
    if (overlap > 0) counts[i] += (count * overlap) / (end - start);
  }
}

const QUANTILES = [0.01, 0.25, 0.5, 0.75, 0.99];

/** Streaming statistics of one layer's activations, per channel and pooled over channels. */
export class StreamingStats {
  readonly bins: number;
  readonly k: number;
  private channelCount = -1;
  private moments: Moments[] = [];
  private mins: Float64Array = new Float64Array(0);
  private maxs: Float64Array = new Float64Array(0);
  private hists: DyadicHistogram[] = [];

  constructor(options: StreamingStatsOptions = {}) {
    this.bins = options.bins ?? 1024;
    this.k = options.k ?? 3;
    if (!Number.isInteger(this.bins) || this.bins < 16) throw new RangeError(`StreamingStats: bins must be an integer >= 16, got ${this.bins}`);
    if (!(this.k > 0)) throw new RangeError(`StreamingStats: k must be > 0, got ${this.k}`);
  }

  /** Number of channels (C of the first batch; 0 before any batch). */
  get channels(): number {
    return Math.max(0, this.channelCount);
  }

  /** Number of values seen per channel. */
  get count(): number {
    return this.moments.length === 0 ? 0 : this.moments[0].n;
  }

  /** Adds a batch of activations of shape [N, C, ...]. */
  add(data: Float32Array, shape: readonly number[]): void {
    if (shape.length < 2) throw new RangeError(`StreamingStats.add: activations must have shape [N, C, ...], got rank ${shape.length} ([${shape.join(', ')}])`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new RangeError(`StreamingStats.add: shape [${shape.join(', ')}] needs ${size} values, got ${data.length}`);
    const [n, c] = shape;
    if (this.channelCount < 0) {
      this.channelCount = c;
      this.moments = Array.from({ length: c }, emptyMoments);
      this.mins = new Float64Array(c).fill(Infinity);
      this.maxs = new Float64Array(c).fill(-Infinity);
      this.hists = Array.from({ length: c }, () => new DyadicHistogram(this.bins));
    } else if (c !== this.channelCount) {
      throw new RangeError(`StreamingStats.add: batch has ${c} channels, earlier batches had ${this.channelCount}`);
    }
    const inner = size / Math.max(1, n * c);
    const per = n * inner;
    if (per === 0) return;
    for (let ch = 0; ch < c; ch++) {
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      for (let s = 0; s < n; s++) {
        const base = (s * c + ch) * inner;
        for (let j = 0; j < inner; j++) {
          const x = data[base + j];
          if (!Number.isFinite(x)) throw new RangeError(`StreamingStats.add: channel ${ch} holds a non-finite value (${x}) at sample ${s}`);
          sum += x;
          if (x < min) min = x;
          if (x > max) max = x;
        }
      }
      const mean = sum / per;
      const hist = this.hists[ch];
      hist.cover(Math.min(min, this.mins[ch]), Math.max(max, this.maxs[ch]));
      let m2 = 0;
      let m3 = 0;
      let m4 = 0;
      for (let s = 0; s < n; s++) {
        const base = (s * c + ch) * inner;
        for (let j = 0; j < inner; j++) {
          const d = data[base + j] - mean;
          const d2 = d * d;
          m2 += d2;
          m3 += d2 * d;
          m4 += d2 * d2;
        }
        hist.addRun(data, base, inner);
      }
      this.moments[ch] = mergeMoments(this.moments[ch], { n: per, mean, m2, m3, m4 });
      if (min < this.mins[ch]) this.mins[ch] = min;
      if (max > this.maxs[ch]) this.maxs[ch] = max;
    }
  }

  private requireData(what: string): void {
    if (this.count === 0) throw new Error(`StreamingStats.${what}: no values yet (add a batch first)`);
  }

  /** Statistics of channel c. */
  channelSummary(c: number): DistributionSummary {
    this.requireData('channelSummary');
    if (!Number.isInteger(c) || c < 0 || c >= this.channels) throw new RangeError(`StreamingStats.channelSummary: channel must be in [0, ${this.channels}), got ${c}`);
    return this.summarize(this.moments[c], this.mins[c], this.maxs[c], this.hists[c].grid(), 0);
  }

  /** Statistics of all channels pooled (raw values, or per-channel standardized values). */
  summary(options: SummaryOptions = {}): DistributionSummary {
    this.requireData('summary');
    return options.standardized ? this.standardizedSummary() : this.pooledSummary();
  }

  /** Fixed-bin histogram of the pooled (or standardized) values over range (default [min, max]). */
  histogram(bins: number, options: SummaryOptions & { range?: [number, number] } = {}): Histogram {
    this.requireData('histogram');
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`StreamingStats.histogram: bins must be a positive integer, got ${bins}`);
    const src = options.standardized ? this.standardizedGrid() : this.pooledGrid();
    const [lo, hi] = options.range ?? [src.min, src.max];
    if (!(hi >= lo)) throw new RangeError(`StreamingStats.histogram: range must have lo <= hi, got [${lo}, ${hi}]`);
    const width = hi > lo ? (hi - lo) / bins : 1;
    const out: Grid = { lo, width, counts: new Float64Array(bins) };
    for (let i = 0; i < src.grid.counts.length; i++) {
      const c = src.grid.counts[i];
      if (c === 0) continue;
      const a = Math.max(src.min, src.grid.lo + i * src.grid.width);
      const b = Math.min(src.max, src.grid.lo + (i + 1) * src.grid.width);
      if (b < lo || a > hi) continue;
      spreadOnto(out, a, Math.max(0, b - a), c);
    }
    return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * width), counts: [...out.counts] };
  }

  private summarize(m: Moments, min: number, max: number, grid: Grid, extraError: number): DistributionSummary {
    const std = Math.sqrt(m.m2 / m.n);
    const [p1, q1, median, q3, p99] = gridQuantiles(grid, m.n, QUANTILES, min, max);
    const kurtosis = m.m2 > 0 ? (m.n * m.m4) / (m.m2 * m.m2) - 3 : NaN;
    const { beyond, straddling } = std > 0 ? gridBeyond(grid, m.mean - this.k * std, m.mean + this.k * std) : { beyond: 0, straddling: 0 };
    return {
      count: m.n, mean: m.mean, std, min, max, p1, q1, median, q3, p99, kurtosis, k: this.k,
      beyondK: beyond / m.n, beyondKError: straddling / m.n, quantileError: grid.width + extraError,
    };
  }

  /** The channel histograms merged onto one dyadic grid (exact: dyadic bins nest). */
  private pooledGrid(): { grid: Grid; min: number; max: number } {
    let min = Infinity;
    let max = -Infinity;
    let level = -Infinity;
    for (let c = 0; c < this.channels; c++) {
      min = Math.min(min, this.mins[c]);
      max = Math.max(max, this.maxs[c]);
      level = Math.max(level, this.hists[c].level);
    }
    const pooled = new DyadicHistogram(this.bins);
    pooled.cover(min, max, level);
    for (const h of this.hists) pooled.addHistogram(h);
    return { grid: pooled.grid(), min, max };
  }

  private pooledSummary(): DistributionSummary {
    const { grid, min, max } = this.pooledGrid();
    const m = this.moments.reduce(mergeMoments, emptyMoments());
    return this.summarize(m, min, max, grid, 0);
  }

  /** Channels with σ > 0, their z-moments, and the z range. */
  private zChannels(): { c: number; mean: number; std: number }[] {
    const out = [];
    for (let c = 0; c < this.channels; c++) {
      const m = this.moments[c];
      const std = Math.sqrt(m.m2 / m.n);
      if (std > 0) out.push({ c, mean: m.mean, std });
    }
    if (out.length === 0) throw new Error('StreamingStats.summary: every channel is constant, so no channel can be standardized');
    return out;
  }

  /** Channel histograms mapped to z = (x − μ_c)/σ_c and spread onto a grid of B bins. */
  private standardizedGrid(): { grid: Grid; min: number; max: number; mappedWidth: number } {
    const chans = this.zChannels();
    let min = Infinity;
    let max = -Infinity;
    let mappedWidth = 0;
    for (const { c, mean, std } of chans) {
      min = Math.min(min, (this.mins[c] - mean) / std);
      max = Math.max(max, (this.maxs[c] - mean) / std);
      mappedWidth = Math.max(mappedWidth, this.hists[c].width / std);
    }
    const grid: Grid = { lo: min, width: (max - min) / this.bins || 1, counts: new Float64Array(this.bins) };
    for (const { c, mean, std } of chans) {
      const g = this.hists[c].grid();
      for (let i = 0; i < this.bins; i++) {
        const count = g.counts[i];
        if (count === 0) continue;
        // The mapped bin, clipped to the channel's own [min, max] (no value lies outside it).
        const a = (Math.max(this.mins[c], g.lo + i * g.width) - mean) / std;
        const b = (Math.min(this.maxs[c], g.lo + (i + 1) * g.width) - mean) / std;
        spreadOnto(grid, a, Math.max(0, b - a), count);
      }
    }
    return { grid, min, max, mappedWidth };
  }

  private standardizedSummary(): DistributionSummary {
    const chans = this.zChannels();
    let m = emptyMoments();
    for (const { c, std } of chans) {
      const mc = this.moments[c];
      m = mergeMoments(m, { n: mc.n, mean: 0, m2: mc.m2 / std ** 2, m3: mc.m3 / std ** 3, m4: mc.m4 / std ** 4 });
    }
    const { grid, min, max, mappedWidth } = this.standardizedGrid();
    const s = this.summarize(m, min, max, grid, mappedWidth);
    // Spreading puts a value's mass within δ = mappedWidth + W of its true z, so the exact count
    // beyond the thresholds lies between the estimates with thresholds moved in and out by δ.
    const delta = mappedWidth + grid.width;
    const lowT = s.mean - this.k * s.std;
    const highT = s.mean + this.k * s.std;
    const near = gridBeyond(grid, lowT + delta, highT - delta).beyond - gridBeyond(grid, lowT - delta, highT + delta).beyond;
    return { ...s, beyondKError: near / m.n };
  }
}

/** Streaming statistics for several layers by name. */
export class LayerStats {
  private readonly layers = new Map<string, StreamingStats>();

  constructor(private readonly options: StreamingStatsOptions = {}) {}

  add(layer: string, data: Float32Array, shape: readonly number[]): void {
    let s = this.layers.get(layer);
    if (s === undefined) {
      s = new StreamingStats(this.options);
      this.layers.set(layer, s);
    }
    s.add(data, shape);
  }

  /** Layer names in the order they were first seen (forward order for captured activations). */
  names(): string[] {
    return [...this.layers.keys()];
  }

  get(layer: string): StreamingStats {
    const s = this.layers.get(layer);
    if (s === undefined) throw new Error(`LayerStats.get: no statistics for layer '${layer}' (have: ${this.names().join(', ') || 'none'})`);
    return s;
  }
}
