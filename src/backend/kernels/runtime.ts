// Runtime controls of the native core: thread pool size and instruction-set path.
export type Isa = 'scalar' | 'avx2' | 'avx512';

export interface RuntimeKernels {
  getNumThreads(): number;
  setNumThreads(n: number): void;
  getIsa(): Isa;
  setIsa(isa: Isa): void;
  supportedIsas(): Isa[];
}
