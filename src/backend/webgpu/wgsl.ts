// WGSL functions several kernel families use, to put in a KernelSpec's moduleScope.

/** is_nan(v): NaN from the bit pattern (a comparison v != v may be folded away by a compiler). */
export const IS_NAN = 'fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }';

/** sigmoid(z) = 1 / (1 + exp(-z)). */
export const SIGMOID = 'fn sigmoid(z: f32) -> f32 { return 1.0 / (1.0 + exp(-z)); }';
