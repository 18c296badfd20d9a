// The import graph of src/: one direction of flow.
//  - No cycle of value imports. An edge is an `import … from` or `export … from` of a relative path
//    that keeps at least one value binding; `import type`, `export type` and imports whose every
//    specifier is `type` are erased by tsc and make no edge. Dynamic `import()` runs after loading
//    and makes no edge either. Cycles are the strongly connected components of the graph (Tarjan).
//  - No import from a folder above: LAYERS lists, for each folder of src/, the folders it must not
//    import from. This rule counts type imports and dynamic imports too, since a type of a higher
//    folder ties the lower one to it all the same.
// The test reads the .ts sources, found from the repository root (the nearest folder above this
// file with normlab's package.json), so it checks the sources as they are, not a stale dist/.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** One relative import or re-export of a source file. */
interface ImportEdge {
  /** Importing file, relative to the repository root with '/' separators. */
  from: string;
  /** Imported file, same form. */
  to: string;
  specifier: string;
  /** 1-based line of the statement. */
  line: number;
  kind: 'value' | 'type' | 'dynamic';
}

/** A row for each folder of src/ (files directly in src/, like index.ts, are exempt). */
const LAYERS: Record<string, readonly string[]> = (() => {
  const apps = ['data', 'analysis', 'report', 'train', 'interop', 'experiments', 'sweep', 'cli'];
  const all = ['io', 'backend', 'tensor', 'autograd', 'ops', 'nn', 'optim', 'models', ...apps];
  const except = (...keep: string[]): string[] => all.filter((f) => !keep.includes(f));
  return {
    // File helpers (atomic writes, JSON files, fault points, run record types): Node only.
    io: except('io'),
    backend: except('backend'),
    // Tensor records its ops on the autograd graph; autograd knows Tensor as a type.
    tensor: ['nn', 'optim', 'models', 'io', ...apps],
    autograd: ['ops', 'nn', 'optim', 'models', 'io', ...apps],
    ops: ['nn', 'optim', 'models', 'io', ...apps],
    nn: ['optim', 'models', 'io', ...apps],
    // Optimizers see parameters (tensors), never modules.
    optim: ['nn', 'models', 'io', ...apps],
    models: ['optim', 'io', ...apps],
    data: ['autograd', 'ops', 'nn', 'optim', 'models', ...apps.filter((f) => f !== 'data')],
    analysis: ['report', 'train', 'interop', 'experiments', 'sweep', 'cli'],
    // Reports read run records (src/io) and render them; training does not know about reports.
    report: ['train', 'interop', 'experiments', 'sweep', 'cli'],
    train: ['report', 'interop', 'experiments', 'sweep', 'cli'],
    interop: ['experiments', 'sweep', 'cli'],
    experiments: ['sweep', 'cli'],
    sweep: ['cli'],
    cli: [],
  };
})();

/** The nearest folder at or above `from` whose package.json names this package. */
function repoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'normlab') return dir;
    if (dirname(dir) === dir) throw new Error(`import_cycles: no package.json of normlab at or above ${from}`);
  }
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const posix = (p: string): string => p.split(sep).join('/');

/**
 * The relative imports of one source text, before resolution: specifier, line and kind. A named
 * import or re-export whose specifiers are all `type` counts as a type import (tsc erases it).
 */
function parseImports(fileName: string, text: string): { specifier: string; line: number; kind: ImportEdge['kind'] }[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: { specifier: string; line: number; kind: ImportEdge['kind'] }[] = [];
  const add = (spec: ts.Expression, node: ts.Node, kind: ImportEdge['kind']): void => {
    if (!ts.isStringLiteralLike(spec) || !spec.text.startsWith('.')) return;
    out.push({ specifier: spec.text, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, kind });
  };
  const allTypes = (elements: readonly { isTypeOnly: boolean }[]): boolean => elements.length > 0 && elements.every((e) => e.isTypeOnly);
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const typeOnly = c !== undefined && (c.isTypeOnly || (c.name === undefined && c.namedBindings !== undefined && ts.isNamedImports(c.namedBindings) && allTypes(c.namedBindings.elements)));
      add(node.moduleSpecifier, node, typeOnly ? 'type' : 'value');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      const typeOnly = node.isTypeOnly || (node.exportClause !== undefined && ts.isNamedExports(node.exportClause) && allTypes(node.exportClause.elements));
      add(node.moduleSpecifier, node, typeOnly ? 'type' : 'value');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length > 0) {
      add(node.arguments[0], node, 'dynamic');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal as ts.Expression, node, 'type');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every relative import of src/**\/*.ts, resolved to a file (an unresolved one throws). */
function importGraph(root: string): { files: string[]; edges: ImportEdge[] } {
  const files = tsFiles(join(root, 'src'));
  const edges: ImportEdge[] = [];
  for (const file of files) {
    for (const imp of parseImports(file, readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), imp.specifier.replace(/\.js$/, '.ts'));
      const from = posix(relative(root, file));
      if (!existsSync(target)) throw new Error(`${from}:${imp.line}: import '${imp.specifier}' names no file (looked for ${posix(relative(root, target))})`);
      edges.push({ from, to: posix(relative(root, target)), specifier: imp.specifier, line: imp.line, kind: imp.kind });
    }
  }
  return { files: files.map((f) => posix(relative(root, f))), edges };
}

/** Strongly connected components with a cycle (more than one node, or a node importing itself), Tarjan's algorithm. */
function cyclicComponents(nodes: readonly string[], next: (n: string) => readonly string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let counter = 0;
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || next(v).includes(v)) out.push(comp.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) connect(n);
  return out;
}

/** A shortest cycle through `start` inside `members` (breadth-first), as a path ending at start. */
function cycleThrough(start: string, members: ReadonlySet<string>, next: (n: string) => readonly string[]): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const w of next(queue[i])) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path: string[] = [];
        for (let v = queue[i]; v !== start; v = prev.get(v)!) path.unshift(v);
        return [start, ...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, queue[i]);
        queue.push(w);
      }
    }
  }
  return [start];
}

const folderOf = (file: string): string | null => {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1] : null;
};

describe('import graph of src/', () => {
  const root = repoRoot(dirname(fileURLToPath(import.meta.url)));

  it('finds the cycles of a small graph, and none in a graph without one', () => {
    const graph: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['a', 'd'], d: [], e: ['e'], f: ['a'] };
    const comps = cyclicComponents(Object.keys(graph), (n) => graph[n]);
    assert.deepEqual(comps.sort((x, y) => x[0].localeCompare(y[0])), [['a', 'b', 'c'], ['e']]);
    assert.deepEqual(cycleThrough('b', new Set(['a', 'b', 'c']), (n) => graph[n]), ['b', 'c', 'a', 'b']);
    assert.deepEqual(cyclicComponents(['a', 'b'], (n) => (n === 'a' ? ['b'] : [])), []);
  });

  it('tells value imports from type-only imports and re-exports', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "import { type C, type D } from './c.js';",
      "import { type E, e } from './e.js';",
      "import * as f from './f.js';",
      "import './g.js';",
      "export { h } from './h.js';",
      "export type { I } from './i.js';",
      "export * from './j.js';",
      "import { readFileSync } from 'node:fs';",
      "const k = () => import('./k.js');",
      "let l: import('./l.js').L;",
    ].join('\n');
    assert.deepEqual(parseImports('x.ts', text).map((i) => `${i.specifier} ${i.kind} ${i.line}`), [
      './a.js value 1', './b.js type 2', './c.js type 3', './e.js value 4', './f.js value 5', './g.js value 6',
      './h.js value 7', './i.js type 8', './j.js value 9', './k.js dynamic 11', './l.js type 12',
    ]);
  });

  it('has no cycle of value imports', () => {
    const { files, edges } = importGraph(root);
    const next = new Map<string, string[]>(files.map((f) => [f, []]));
    for (const e of edges) if (e.kind === 'value' && !next.get(e.from)!.includes(e.to)) next.get(e.from)!.push(e.to);
    const succ = (n: string): string[] => next.get(n) ?? [];
    const comps = cyclicComponents(files, succ);
    const report = comps.map((comp) => {
      const members = new Set(comp);
      const inside = edges.filter((e) => e.kind === 'value' && members.has(e.from) && members.has(e.to)).map((e) => `    ${e.from}:${e.line} imports ${e.to}`);
      return `  cycle ${cycleThrough(comp[0], members, succ).join(' -> ')}\n  (${comp.length} files; their imports of each other:)\n${inside.join('\n')}`;
    });
    assert.equal(comps.length, 0, `value-import cycles in src/ (${comps.length}):\n${report.join('\n')}`);
  });

  it('has a layering row for every folder of src/, and no import from a folder above', () => {
    const { files, edges } = importGraph(root);
    const folders = [...new Set(files.map(folderOf).filter((f): f is string => f !== null))].sort();
    const missing = folders.filter((f) => LAYERS[f] === undefined);
    assert.deepEqual(missing, [], `folders of src/ without a row in LAYERS (test/lint/import_cycles.test.ts): ${missing.join(', ')}`);
    const bad = edges.filter((e) => {
      const a = folderOf(e.from);
      const b = folderOf(e.to);
      return a !== null && b !== null && a !== b && LAYERS[a].includes(b);
    });
    const lines = bad.map((e) => `  ${e.from}:${e.line} imports '${e.specifier}' (${e.kind}): src/${folderOf(e.from)} must not import from src/${folderOf(e.to)}`);
    assert.equal(bad.length, 0, `imports from a folder above (${bad.length}):\n${lines.join('\n')}`);
  });
});
