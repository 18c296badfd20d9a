// Checkpoint sets: everything --resume needs, complete or absent.
//
// Layout in a run directory:
//   checkpoints/epoch-0003/  model.safetensors, optimizer.safetensors, trainer-state.json,
//                            best.safetensors (the best model so far: a hard link to the file of
//                            the epoch that was best, so it costs no copy)
//   last.safetensors, best.safetensors   hard links to the newest set's files, for users
//
// Writing epoch e: the four files go into checkpoints/epoch-000e.tmp-<pid>-<ms>/ (each fsynced),
// the folder is fsynced and renamed to epoch-000e (the commit point: a rename is atomic, so the
// set appears whole or not at all), then last/best are re-linked (link to a temp name, rename over)
// and the older sets are removed. Resume takes the newest folder named epoch-NNNN whose files all
// load; whatever a kill interrupts, that is either the new set or the previous one, and resume
// re-links last/best from it. Temp folders of dead processes are removed at the next start.
import { closeSync, copyFileSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import { encodeSafetensors, loadSafetensors } from './safetensors.js';
import { ensureDir, removeStaleTemps, tempName, writeFileDurable } from '../io/atomic.js';
import { faultPoint } from '../io/faults.js';

const SET = /^epoch-(\d+)$/;
export const CHECKPOINTS = 'checkpoints';

export interface CheckpointParts {
  epoch: number;
  model: Record<string, Tensor>;
  optimizer: Record<string, Tensor>;
  /** trainer-state.json (JSON-serialisable). */
  state: unknown;
  /** The model of this epoch is the best so far. */
  improved: boolean;
}

export interface LoadedCheckpoint {
  epoch: number;
  dir: string;
  model: Record<string, Tensor>;
  optimizer: Record<string, Tensor>;
  state: unknown;
}

const setName = (epoch: number): string => `epoch-${String(epoch).padStart(4, '0')}`;

function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    closeSync(fd);
  }
}

/** Hard-links (or, where links are refused, copies) src to a temp name in dest's folder. */
function linkOrCopy(src: string, dest: string): void {
  try {
    linkSync(src, dest);
  } catch {
    copyFileSync(src, dest);
  }
}

/** Replaces `target` with a link to `src` in one rename. */
function publish(src: string, target: string, name: string): void {
  const tmp = tempName(target);
  faultPoint(`before link ${name}`);
  linkOrCopy(src, tmp);
  faultPoint(`after link ${name} (before its rename)`);
  renameSync(tmp, target);
  // rename(2) does nothing when both names are links to one file (best.safetensors of an epoch
  // that did not improve): the temp name is still there then.
  if (existsSync(tmp)) unlinkSync(tmp);
  faultPoint(`after rename ${name}`);
}

function setsIn(root: string): { epoch: number; name: string }[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const m = SET.exec(n);
    return m === null ? [] : [{ epoch: Number(m[1]), name: n }];
  }).sort((a, b) => b.epoch - a.epoch);
}

export function writeCheckpoint(out: string, p: CheckpointParts): void {
  const root = join(out, CHECKPOINTS);
  ensureDir(root, 'checkpoint');
  const name = setName(p.epoch);
  const final = join(root, name);
  const previous = setsIn(root).find((s) => s.epoch < p.epoch);
  const tmp = tempName(final);
  mkdirSync(tmp);
  const file = (f: string, data: string | Uint8Array): void => {
    faultPoint(`before write ${name}/${f}`);
    writeFileDurable(join(tmp, f), data, true);
    faultPoint(`after write ${name}/${f}`);
  };
  file('model.safetensors', encodeSafetensors(p.model, { epoch: String(p.epoch) }));
  file('optimizer.safetensors', encodeSafetensors(p.optimizer));
  file('trainer-state.json', JSON.stringify(p.state, null, 2) + '\n');
  const prevBest = previous === undefined ? undefined : join(root, previous.name, 'best.safetensors');
  if (p.improved) linkOrCopy(join(tmp, 'model.safetensors'), join(tmp, 'best.safetensors'));
  else if (prevBest !== undefined && existsSync(prevBest)) linkOrCopy(prevBest, join(tmp, 'best.safetensors'));
  fsyncDir(tmp);
  // An epoch-NNNN folder of this epoch exists only when a run resumed with a changed
  // configuration re-runs an epoch; the new set replaces it.
  if (existsSync(final)) rmSync(final, { recursive: true, force: true });
  faultPoint(`before rename ${name}`);
  renameSync(tmp, final);
  faultPoint(`after rename ${name}`);
  fsyncDir(root);
  publishCheckpoint(out, final);
  removeSetsBefore(out, p.epoch);
}

/** Removes the checkpoint sets older than epoch (a kill may have left them after a newer commit). */
export function removeSetsBefore(out: string, epoch: number): void {
  const root = join(out, CHECKPOINTS);
  for (const s of setsIn(root)) {
    if (s.epoch >= epoch) continue;
    faultPoint(`before remove ${s.name}`);
    rmSync(join(root, s.name), { recursive: true, force: true });
    faultPoint(`after remove ${s.name}`);
  }
}

/** Points <out>/last.safetensors and best.safetensors at the files of the set in dir. */
export function publishCheckpoint(out: string, dir: string): void {
  publish(join(dir, 'model.safetensors'), join(out, 'last.safetensors'), 'last.safetensors');
  if (existsSync(join(dir, 'best.safetensors'))) publish(join(dir, 'best.safetensors'), join(out, 'best.safetensors'), 'best.safetensors');
}

/**
 * The newest complete checkpoint set of a run directory, or null when there is none. Also reads
 * the layout of earlier versions (last.safetensors, optimizer.safetensors and trainer-state.json
 * directly in the run directory). Sets that fail to load are skipped, newest first; `skipped`
 * receives why.
 */
export function latestCheckpoint(out: string, skipped: (why: string) => void = () => undefined): LoadedCheckpoint | null {
  const root = join(out, CHECKPOINTS);
  for (const s of setsIn(root)) {
    const dir = join(root, s.name);
    try {
      const state = JSON.parse(readFileSync(join(dir, 'trainer-state.json'), 'utf8')) as unknown;
      return { epoch: s.epoch, dir, state, model: loadSafetensors(join(dir, 'model.safetensors')).tensors, optimizer: loadSafetensors(join(dir, 'optimizer.safetensors')).tensors };
    } catch (err) {
      skipped(`checkpoint ${dir} is unreadable (${(err as Error).message}); trying an older one`);
    }
  }
  const legacy = ['trainer-state.json', 'last.safetensors', 'optimizer.safetensors'].map((f) => join(out, f));
  if (legacy.every((f) => existsSync(f))) {
    const state = JSON.parse(readFileSync(legacy[0], 'utf8')) as { epoch: number };
    return { epoch: state.epoch, dir: out, state, model: loadSafetensors(legacy[1]).tensors, optimizer: loadSafetensors(legacy[2]).tensors };
  }
  return null;
}

/** Removes what killed runs left behind: temp files in out, temp sets in out/checkpoints. */
export function removeStaleCheckpointTemps(out: string): string[] {
  return [...removeStaleTemps(out), ...removeStaleTemps(join(out, CHECKPOINTS)).map((n) => `${CHECKPOINTS}/${n}`)];
}

/** Removes a legacy-layout file if present (after the run moved to checkpoint sets). */
export function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // absent
  }
}

/** Whether out holds a checkpoint set (or the layout of earlier versions) that resume would load. */
export function hasCheckpoint(out: string): boolean {
  return setsIn(join(out, CHECKPOINTS)).length > 0 || existsSync(join(out, 'trainer-state.json'));
}
