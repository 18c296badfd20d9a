// V8 settings for run processes: the local pool's (one per core) and a sweep worker's (a machine
// runs one worker per core). Each such process trains on one core while the others train too, so
// work that V8 hands to its background threads does not run "for free" on an idle core: it waits
// for a core, or takes one from another run.
//
// ArrayBuffer sweeping. After each scavenge V8 frees the dead ArrayBuffers (a training step's
// activations) on a background thread, and only when that job has finished does it lower its
// count of external memory. When every core is busy, the job waits; the count keeps rising with
// each step's new activations, crosses V8's external-memory limit (the count at the last
// mark-compact + 64 MB), and that starts a mark-compact, whose concurrent marking needs the
// background threads too. Measured with two processes each training the sweep bench's 8 quick
// runs side by side on the 2-core machine (16 pairs each way, alternating, major GCs counted with
// a PerformanceObserver): with concurrent sweeping, 6 of 16 pairs had a process caught in 22-85
// mark-compacts, its background threads taking 1.0-1.9 s of CPU instead of ~0.15 s (single runs
// alone did the same while the host was busy); sweeping on the main thread, as part of the
// scavenge, left 1-5 mark-compacts per process, 12-13 in 2 of the 32 processes. The main thread
// then frees those buffers itself, a few microseconds each.
//
// Importing this module applies the settings, once per process (ES modules run once), so the local
// pool's run process (worker.ts) and a sweep worker's (sweep/runProcess.ts, which imports
// worker.ts only after its warm-up) both import it first thing.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-concurrent-array-buffer-sweeping');
