import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nn, randn } from '../../../src/index.js';
import { closestName, NORM_OPTIONS, parseNormSettings } from '../../../src/nn/norm/spec.js';

describe('NormSpec: nn.norm with a typed spec', () => {
  it('builds the same layer as the kind-and-options form, with the options applied', () => {
    const x = randn([4, 6, 3, 3], { seed: 7 });
    const a = nn.norm({ kind: 'fbn', threshold: 2, momentum: 0.2, bnWeight: 0.5 }, 6) as nn.FilteredBatchNorm2d;
    const b = nn.norm('fbn', 6, { threshold: 2, momentum: 0.2, bnWeight: 0.5 }) as nn.FilteredBatchNorm2d;
    assert.equal(a.constructor.name, 'FilteredBatchNorm2d');
    assert.equal(a.threshold, 2);
    assert.equal(a.momentum, 0.2);
    assert.deepEqual(Array.from(a.forward(x).data()), Array.from(b.forward(x).data()));
    const gn = nn.norm({ kind: 'gn', groups: 3, eps: 1e-3 }, 6, { dims: 1 }) as nn.GroupNorm;
    assert.equal(gn.numGroups, 3);
    assert.equal(gn.eps, 1e-3);
    assert.equal(nn.norm({ kind: 'none' }, 6).constructor.name, 'Identity');
    assert.equal(nn.norm({ kind: 'bn' }, 6, { dims: 3 }).constructor.name, 'BatchNorm3d');
  });

  it('pools the statistics of an fbn spec with pooled1d in 1-D layers only', () => {
    const one = nn.norm({ kind: 'fbn', threshold: 3, pooled1d: true }, 5, { dims: 1 }) as nn.FilteredBatchNorm1d;
    const two = nn.norm({ kind: 'fbn', threshold: 3, pooled1d: true }, 5) as nn.FilteredBatchNorm2d;
    assert.equal(one.pooled, true);
    assert.equal(two.pooled, false);
  });

  it('rejects an option the kind does not take, naming it, the kind, the allowed options and the closest one', () => {
    const bad = { kind: 'fbn', treshold: 2 } as unknown as nn.NormSpec;
    assert.throws(() => nn.norm(bad, 4), /nn\.norm: unknown option 'treshold' for norm kind 'fbn'; did you mean 'threshold'\? \(kind 'fbn' takes threshold, eps, momentum, affine, trackRunningStats, bnWeight, evalMode, pooled, pooled1d\)/);
    assert.throws(() => nn.norm({ kind: 'gn', groups: 2, threshold: 4 } as unknown as nn.NormSpec, 4), /unknown option 'threshold' for norm kind 'gn' \(kind 'gn' takes groups, eps, affine\)/);
    assert.throws(() => nn.norm({ kind: 'none', eps: 1 } as unknown as nn.NormSpec, 4), /kind 'none' takes no options/);
  });

  it('rejects values of the wrong type or range and a missing required option, naming expected and actual', () => {
    assert.throws(() => nn.norm({ kind: 'fbn', threshold: 0 }, 4), /nn\.norm: option 'threshold' of norm kind 'fbn': expected a number > 0, got 0/);
    assert.throws(() => nn.norm({ kind: 'fbn', threshold: '2' } as unknown as nn.NormSpec, 4), /expected a number > 0, got "2"/);
    assert.throws(() => nn.norm({ kind: 'gn', groups: 1.5 }, 4), /option 'groups' of norm kind 'gn': expected an integer >= 1, got 1\.5/);
    assert.throws(() => nn.norm({ kind: 'bnact', act: 'gelu' } as unknown as nn.NormSpec, 4), /option 'act' of norm kind 'bnact': expected one of 'relu', 'sigmoid', 'tanh', 'identity', got "gelu"/);
    assert.throws(() => nn.norm({ kind: 'gn' } as unknown as nn.NormSpec, 4), /nn\.norm: norm kind 'gn' requires option 'groups' \(an integer >= 1\)/);
    assert.throws(() => nn.norm({ kind: 'fnb' } as unknown as nn.NormSpec, 4), /nn\.norm: kind must be one of 'bn', .*, got 'fnb'; did you mean 'fbn'\?/);
    assert.throws(() => nn.checkNormSpec(null, 'config.json norm'), /config\.json norm: a norm spec must be an object \{ kind, \.\.\.options \}, got null/);
  });

  it('keeps momentum null (cumulative average) valid where the layer takes it', () => {
    const bn = nn.norm({ kind: 'bn', momentum: null }, 4) as nn.BatchNorm2d;
    assert.equal(bn.momentum, null);
  });

  it('lists an option table entry for every kind', () => {
    assert.deepEqual(Object.keys(NORM_OPTIONS).sort(), [...nn.NORM_KINDS].sort());
    assert.deepEqual(nn.normOptionNames('gn'), ['groups', 'eps', 'affine']);
  });
});

describe('parseNormSettings: --set key=value into a NormSpec', () => {
  it('parses numbers, booleans, names and null by the type of each option', () => {
    assert.deepEqual(parseNormSettings('fbn', ['threshold=2', 'evalMode=batch', 'pooled=true', 'momentum=null']), { kind: 'fbn', threshold: 2, evalMode: 'batch', pooled: true, momentum: null });
    assert.deepEqual(parseNormSettings('gn', ['eps=1e-3'], { groups: 4, threshold: 9 }), { kind: 'gn', groups: 4, eps: 1e-3 });
    assert.deepEqual(parseNormSettings('bn', []), { kind: 'bn' });
  });

  it("rejects --set treshold=2 for fbn naming the key, the kind, the allowed keys and 'threshold'", () => {
    assert.throws(
      () => parseNormSettings('fbn', ['treshold=2']),
      /^RangeError: --set treshold=2: unknown key 'treshold' for --norm fbn; did you mean 'threshold'\? \(--norm fbn takes threshold, eps, momentum, affine, trackRunningStats, bnWeight, evalMode, pooled, pooled1d\)$/,
    );
  });

  it('names the flag, the expected and the actual value of a bad value', () => {
    assert.throws(() => parseNormSettings('fbn', ['threshold=abc']), /--set threshold=abc: threshold of --norm fbn: expected a number > 0, got 'abc'/);
    assert.throws(() => parseNormSettings('fbn', ['threshold=']), /expected a number > 0, got ''/);
    assert.throws(() => parseNormSettings('bn', ['affine=yes']), /--set affine=yes: affine of --norm bn: expected true or false, got 'yes'/);
    assert.throws(() => parseNormSettings('bn', ['momentum=2']), /momentum of --norm bn: expected a number >= 0 and <= 1 \(or null\), got '2'/);
    assert.throws(() => parseNormSettings('gn', []), /--norm gn requires --set groups=<an integer >= 1>/);
    assert.throws(() => parseNormSettings('bn', ['eps']), /--set expects key=value, got 'eps'/);
  });

  it('suggests only plausible misspellings', () => {
    assert.equal(closestName('treshold', ['threshold', 'eps']), 'threshold');
    assert.equal(closestName('Groups', ['groups']), 'groups');
    assert.equal(closestName('xyz', ['threshold', 'eps']), null);
  });
});
