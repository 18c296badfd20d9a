// Formats the JSON lines of bench/kernels.ts as the markdown tables of docs/performance.md, one
// table per thread count:
//
//   node dist/bench/kernels.js > kernels.jsonl && node dist/bench/kernels_table.js kernels.jsonl
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Row {
  name: string;
  threads: number;
  normlab_ms: number;
  torch_ms: number | null;
  ratio: number | null;
  GBs: number;
  bw_frac: number;
  GFLOPs: number;
  peak_frac: number;
  flops: number;
  load_normlab: number;
  load_torch: number | null;
  note?: string;
}

function ms(v: number | null): string {
  if (v === null) return '—';
  return v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v >= 0.001 ? v.toFixed(4) : v.toExponential(1);
}

/** Markdown for the machine lines, the kernel table of each thread count and the summaries. */
export function kernelTables(lines: Record<string, unknown>[]): string {
  const out: string[] = [];
  for (const m of lines.filter((l) => l.name === 'machine')) {
    out.push(`- ${String(m.threads)} thread(s): copy of 32 MiB ${String(m.copy_GBs)} GB/s, of 256 MiB ${String(m.copy256MiB_GBs)} GB/s (read + write), sgemm 1024³ ${String(m.sgemm1024_GFLOPs)} GFLOP/s, load average ${String(m.load)}`);
  }
  const rows = lines.filter((l) => typeof l.normlab_ms === 'number') as unknown as Row[];
  for (const t of [...new Set(rows.map((r) => r.threads))]) {
    out.push('', `### ${t} thread${t === 1 ? '' : 's'}`, '');
    out.push('| line | normlab ms | PyTorch ms | ratio | achieved | of measured limit | load (normlab / PyTorch) |');
    out.push('|---|---|---|---|---|---|---|');
    for (const r of rows.filter((x) => x.threads === t)) {
      const achieved = r.flops > 0 && r.peak_frac >= r.bw_frac ? `${r.GFLOPs} GFLOP/s` : `${r.GBs} GB/s`;
      const frac = r.flops > 0 && r.peak_frac >= r.bw_frac ? `${r.peak_frac} of sgemm` : `${r.bw_frac} of copy`;
      const ratio = r.ratio === null ? (r.note ?? '—') : r.ratio.toFixed(2);
      out.push(`| ${r.name} | ${ms(r.normlab_ms)} | ${ms(r.torch_ms)} | ${ratio} | ${achieved} | ${frac} | ${r.load_normlab} / ${r.load_torch ?? '—'} |`);
    }
  }
  for (const s of lines.filter((l) => l.summary !== undefined)) out.push('', `Summary, ${String(s.summary)} thread(s): ${JSON.stringify(s)}`);
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const lines = process.argv.slice(2).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>));
  console.log(kernelTables(lines));
}
