// Reads a Vega-rendered SVG: mark groups (<g class="mark-TYPE role-mark ...">) hold one element
// per drawn item, so counting them tells what a chart drew.
export function markCounts(svg: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of svg.matchAll(/<g class="mark-(\w+) role-mark[^"]*"[^>]*>(.*?)<\/g>/gs)) {
    const n = (m[2].match(/<(path|line|text|rect)\b/g) ?? []).length;
    out[m[1]] = (out[m[1]] ?? 0) + n;
  }
  return out;
}
