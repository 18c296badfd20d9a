// Runs a block of kernel tests once per instruction-set path the CPU supports.
import { after } from 'node:test';
import { getIsa, setIsa, supportedIsas, type Isa } from '../../src/backend/index.js';

export function forEachIsa(body: (isa: Isa) => void): void {
  const original = getIsa();
  after(() => setIsa(original));
  for (const isa of supportedIsas()) body(isa);
}

/** Sets the ISA for the tests of one describe block (call inside it via before()). */
export function useIsa(isa: Isa): void {
  setIsa(isa);
}
