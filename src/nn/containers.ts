// Containers: Sequential and ModuleList.
import { Module } from './module.js';
import type { Tensor } from '../tensor/tensor.js';

export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.call(y);
    return y;
  }

  get length(): number {
    return this.layers.length;
  }

  at(i: number): Module {
    return this.layers[i];
  }
}

/** Holds modules under numeric names without defining a forward order. */
export class ModuleList extends Module {
  readonly items: Module[];

  constructor(items: Module[] = []) {
    super();
    this.items = [];
    for (const m of items) this.push(m);
  }

  push(m: Module): void {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
  }

  forward(): Tensor {
    throw new Error('ModuleList.forward: a ModuleList has no forward; call its items');
  }
}
