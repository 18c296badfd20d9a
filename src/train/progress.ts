// Progress output: a redrawn bar on a TTY (epoch, batch, loss, accuracy, samples/s, ETA), and
// one plain line per epoch otherwise.
export interface ProgressSink {
  /**
   * After each training step. `metrics` reads the running loss and accuracy off the device: the
   * sink calls it only when it draws a line, so a step that draws nothing reads nothing.
   */
  batch(
    info: { epoch: number; epochs: number; batch: number; batches: number; samplesPerSec: number; etaSec: number },
    metrics: () => { loss: number; acc: number },
  ): void;
  epoch(line: string): void;
  /**
   * Whether batch() for this batch, called now, will draw a line (and so call `metrics`): the
   * asynchronous training loop reads the metrics off the device first, only then.
   */
  willDraw(batch: number, batches: number): boolean;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return `${m}:${String(sec).padStart(2, '0')}`;
}

export function makeProgress(mode: 'auto' | 'bar' | 'lines' | 'none', stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const bar = mode === 'bar' || (mode === 'auto' && stream.isTTY === true);
  if (mode === 'none') return { batch: () => undefined, epoch: () => undefined, willDraw: () => false };
  let last = 0;
  const draws = (batch: number, batches: number, now: number): boolean => bar && (now - last >= 100 || batch >= batches);
  return {
    willDraw: (batch, batches) => draws(batch, batches, Date.now()),
    batch(i, metrics) {
      const now = Date.now();
      if (!draws(i.batch, i.batches, now)) return;
      last = now;
      const { loss, acc } = metrics();
      const width = 24;
      const filled = Math.round((width * i.batch) / Math.max(1, i.batches));
      const text =
        `epoch ${i.epoch}/${i.epochs} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${i.batch}/${i.batches} ` +
        `loss ${loss.toFixed(4)} acc ${(100 * acc).toFixed(2)}% ${i.samplesPerSec.toFixed(0)} samples/s ETA ${fmtTime(i.etaSec)}`;
      stream.write(`\r${text.padEnd(110)}`);
    },
    epoch(line) {
      if (bar) stream.write(`\r${' '.repeat(110)}\r`);
      stream.write(line + '\n');
    },
  };
}
