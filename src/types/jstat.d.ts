// The parts of jStat (no bundled types) that normlab uses. The package is CommonJS and its
// module.exports is the jStat object itself, so it is the default import.
declare module 'jstat' {
  interface JStat {
    /** Regularized incomplete beta function I_x(a, b). */
    ibeta(x: number, a: number, b: number): number;
    studentt: {
      cdf(x: number, dof: number): number;
      /** Quantile function (inverse CDF). */
      inv(p: number, dof: number): number;
    };
  }
  const jStat: JStat;
  export default jStat;
}
