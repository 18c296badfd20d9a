// A pickle reader that never executes anything: it interprets the opcodes a PyTorch state dict
// uses (protocols 2-5 as torch.save writes them) and resolves GLOBAL/STACK_GLOBAL only against a
// caller-given table of allowed names. Any other global, and any opcode outside the table below
// (NEWOBJ, INST, OBJ, EXT*, ...), is an error naming it, so a file whose unpickling would run code
// (e.g. `posix.system`) is rejected before anything is built.
//
// Values: str -> string; int -> number (or bigint past 2^53); float -> number; bool, None -> true,
// false, null; tuple and list -> array; dict -> Map; bytes -> Buffer. REDUCE calls the allowed
// callable; BINPERSID passes the persistent id to the caller's `persistentLoad`.

export interface UnpickleOptions {
  /** Callables and classes the pickle may name, keyed "module.name". */
  globals: Record<string, (...args: unknown[]) => unknown>;
  /** Resolves a persistent id (BINPERSID); torch.save uses it for storages. */
  persistentLoad: (pid: unknown) => unknown;
  /** Applies BUILD's state to an object made by an allowed callable; the default ignores dict state on Maps. */
  build?: (obj: unknown, state: unknown) => unknown;
  what: string;
}

const MARK = Symbol('mark');

class Callable {
  constructor(readonly qualified: string, readonly fn: (...args: unknown[]) => unknown) {}
}

export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const fail = (msg: string): never => {
    throw new Error(`unpickle: ${opts.what}: ${msg}`);
  };
  const need = (n: number): void => {
    if (p + n > b.length) fail(`truncated at byte ${p} (needs ${n} more bytes, has ${b.length - p})`);
  };
  const u8 = (): number => (need(1), b[p++]);
  const u16 = (): number => (need(2), (p += 2), b.readUInt16LE(p - 2));
  const u32 = (): number => (need(4), (p += 4), b.readUInt32LE(p - 4));
  const u64 = (): number => (need(8), (p += 8), Number(b.readBigUInt64LE(p - 8)));
  const str = (n: number): string => (need(n), (p += n), b.toString('utf8', p - n, p));
  const pop = (): unknown => (stack.length === 0 ? fail(`stack underflow at byte ${p}`) : stack.pop());
  const top = (): unknown => (stack.length === 0 ? fail(`stack underflow at byte ${p}`) : stack[stack.length - 1]);
  const popMark = (): unknown[] => {
    let i = stack.length - 1;
    while (i >= 0 && stack[i] !== MARK) i--;
    if (i < 0) fail(`no MARK on the stack at byte ${p}`);
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const resolve = (module: string, name: string): Callable => {
    const q = `${module}.${name}`;
    const fn = opts.globals[q];
    if (fn === undefined) {
      fail(`refers to '${q}', which a state dict does not need; normlab does not run pickled code. Allowed: ${Object.keys(opts.globals).join(', ')}`);
    }
    return new Callable(q, fn);
  };
  const setItem = (d: unknown, k: unknown, v: unknown): void => {
    if (!(d instanceof Map)) fail(`SETITEM on a ${describe(d)}, not a dict`);
    (d as Map<unknown, unknown>).set(k, v);
  };
  const append = (l: unknown, items: unknown[]): void => {
    if (!Array.isArray(l)) fail(`APPEND on a ${describe(l)}, not a list`);
    (l as unknown[]).push(...items);
  };
  const line = (): string => {
    const nl = b.indexOf(0x0a, p);
    if (nl < 0) fail(`unterminated text argument at byte ${p}`);
    const s = b.toString('utf8', p, nl);
    p = nl + 1;
    return s;
  };

  for (;;) {
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: p += 8; break; // FRAME (length of the next frame; frames are read inline)
      case 0x2e: return pop(); // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const y = pop(); stack.push([pop(), y]); break; } // TUPLE2
      case 0x87: { const z = pop(); const y = pop(); stack.push([pop(), y, z]); break; } // TUPLE3
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(str(u64())); break; // BINUNICODE8
      case 0x54: stack.push(str(u32())); break; // BINSTRING (protocol-2 str from Python 2)
      case 0x55: stack.push(str(u8())); break; // SHORT_BINSTRING
      case 0x42: { const n = u32(); need(n); stack.push(Buffer.from(b.subarray(p, p + n))); p += n; break; } // BINBYTES
      case 0x43: { const n = u8(); need(n); stack.push(Buffer.from(b.subarray(p, p + n))); p += n; break; } // SHORT_BINBYTES
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} read before it was stored (byte ${at})`);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: { const module = line(); stack.push(resolve(module, line())); break; } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); stack.push(resolve(String(module), String(name))); break; } // STACK_GLOBAL
      case 0x4a: need(4); stack.push(b.readInt32LE(p)); p += 4; break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement of n bytes
        const n = u8();
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[p + i]);
        if (n > 0 && b[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: need(8); stack.push(b.readDoubleBE(p)); p += 8; break; // BINFLOAT (big-endian)
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4e: stack.push(null); break; // NONE
      case 0x73: { const v = pop(); const k = pop(); setItem(top(), k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x52: { // REDUCE
        const args = pop();
        const f = pop();
        if (!(f instanceof Callable)) fail(`REDUCE with a ${describe(f)} as the callable (byte ${at})`);
        if (!Array.isArray(args)) fail(`REDUCE of '${(f as Callable).qualified}' with a ${describe(args)} as arguments (byte ${at})`);
        stack.push((f as Callable).fn(...(args as unknown[])));
        break;
      }
      case 0x51: stack.push(opts.persistentLoad(pop())); break; // BINPERSID
      case 0x62: { // BUILD
        const state = pop();
        const obj = pop();
        stack.push(opts.build !== undefined ? opts.build(obj, state) : obj);
        break;
      }
      default:
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}') at byte ${at} is not one a state dict uses; normlab does not run pickled code`);
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'tuple/list';
  if (v instanceof Map) return 'dict';
  if (v instanceof Callable) return `global '${v.qualified}'`;
  return typeof v;
}
