// Reading JSON files of runs (config.json, record.json, …) with errors that name the file and
// where in it the text stops being JSON.
import { readFileSync } from 'node:fs';

/** "line L, column C" of a 0-based character offset in text. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

/**
 * The message for a JSON.parse error of `text`: where it failed (line and column; "the end" for a
 * truncated text) and V8's own description.
 */
export function jsonErrorAt(text: string, err: unknown): string {
  const msg = (err as Error).message;
  const m = /position (\d+)/.exec(msg);
  if (m !== null && Number(m[1]) < text.trimEnd().length) return `invalid JSON at ${lineColumn(text, Number(m[1]))} (${msg})`;
  if (m !== null || /end of (JSON )?input/i.test(msg)) return `invalid JSON: it ends early, at ${lineColumn(text, text.length)} (${text.length} bytes; a truncated file?)`;
  return `invalid JSON (${msg})`;
}

/** Parses a JSON file; errors name `who` (the function or flag), the path and the position. */
export function readJsonFile(path: string, who: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${who}: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${who}: ${path}: ${jsonErrorAt(text, err)}`);
  }
}
