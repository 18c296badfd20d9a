// `--device cpu|webgpu|auto` (default: NORMLAB_DEVICE, else cpu) for the commands that train or
// evaluate, and `normlab devices`, which lists what this machine offers.
import { Option, type Command } from 'commander';
import type { Device } from '../backend/index.js';
import { describeDevices, formatDevices, parseDeviceChoice, resolveDevice, DeviceChoiceError } from '../backend/select.js';
import { UsageError } from './args.js';

/** The --device option (checked by deviceFromFlag, which also reads NORMLAB_DEVICE). */
export function deviceOption(): Option {
  return new Option('--device <device>', "where to train and evaluate: cpu, webgpu or auto (WebGPU when available, else the CPU); default: $NORMLAB_DEVICE, else cpu");
}

/**
 * The device of a command from its --device value and NORMLAB_DEVICE: a bad value is a usage
 * error naming the flag or the variable; 'webgpu' without WebGPU is an error with the reason;
 * 'auto' without it says on stderr that the CPU is used, and why.
 */
export async function deviceFromFlag(flag: string | undefined, log: (line: string) => void = (l) => process.stderr.write(`normlab: ${l}\n`)): Promise<Device> {
  let choice;
  try {
    choice = parseDeviceChoice(flag);
  } catch (e) {
    if (e instanceof DeviceChoiceError) throw new UsageError(e.message);
    throw e;
  }
  return resolveDevice(choice, log);
}

export function devicesCommand(program: Command, setCode: (c: number) => void): void {
  program
    .command('devices')
    .description('list the devices normlab can use: the CPU (threads, instruction sets) and WebGPU (adapter, driver, limits, features) or why it is unavailable')
    .option('--json', 'print JSON', false)
    .action(async (o: { json: boolean }) => {
      const r = await describeDevices();
      process.stdout.write((o.json ? JSON.stringify(r, null, 2) : formatDevices(r)) + '\n');
      setCode(0);
    });
}
