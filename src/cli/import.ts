// `normlab import model.pt`: a PyTorch checkpoint to safetensors with PyTorch's names (the
// pickle inside is parsed, never executed: src/interop/torchFile.ts). With --network the result
// is also loaded (strictly) into that normlab network, which names every missing, unexpected or
// mis-shaped key.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { importTorchCheckpoint } from '../interop/importTorch.js';
import { createModel, MODEL_NAMES } from '../models/index.js';
import { loadSafetensors } from '../train/safetensors.js';
import { choice, intArg, UsageError } from './args.js';

export function importCommand(program: Command, setCode: (c: number) => void): void {
  program
    .command('import')
    .description('convert a PyTorch checkpoint (.pt/.pth, torch.save zip format) to .safetensors with the same tensor names')
    .argument('<checkpoint>', 'file written by torch.save (a state dict, or a dict holding one: see --key)')
    .option('--out <file>', 'output file (default: the input name with .safetensors)')
    .option('--key <name>', 'the entry holding the state dict, e.g. model or state_dict (dots descend); default: every tensor, nested dicts flattened with dots')
    .addOption(choice('--network <name>', 'also load the result into this normlab network (with BatchNorm) and report mismatches', MODEL_NAMES))
    .option('--num-classes <n>', 'classes of --network', intArg('--num-classes', 1), 10)
    .action((file: string, o: { out?: string; key?: string; network?: string; numClasses: number }) => {
      const input = resolve(file);
      const out = resolve(o.out ?? input.replace(/\.(pt|pth|bin|ckpt)$/i, '') + '.safetensors');
      if (out === input) throw new UsageError(`import: --out '${out}' is the input file`);
      const s = importTorchCheckpoint(input, out, o.key);
      const dtypes = Object.entries(s.dtypes).map(([d, n]) => `${n} ${d}`).join(', ');
      process.stdout.write(`wrote ${out}: ${s.tensors} tensors (${dtypes}), ${s.elements.toLocaleString('en-US')} values, ${(s.bytes / 1e6).toFixed(2)} MB\n`);
      if (s.skipped.length > 0) process.stdout.write(`skipped ${s.skipped.length} non-tensor entries: ${s.skipped.slice(0, 6).join(', ')}${s.skipped.length > 6 ? ', ...' : ''}\n`);
      if (o.network !== undefined) {
        const model = createModel(o.network, { norm: 'bn', numClasses: o.numClasses });
        model.loadStateDict(loadSafetensors(out).tensors);
        process.stdout.write(`loads into normlab's ${o.network}: every key and shape matches\n`);
      }
      setCode(0);
    });
}
