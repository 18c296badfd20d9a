// `normlab sweep` and `normlab worker`: one experiment's runs on a BullMQ queue in Redis, trained by
// any number of workers. Without --redis, `normlab sweep` runs the local pool like `normlab run`:
// both schedule the same executeRun.
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { expand } from '../experiments/experiment.js';
import { getExperiment } from '../experiments/registry.js';
import { runExperiment, resolveConfig } from '../experiments/runExperiment.js';
import { connectRedis, connectionLost, checkRedisUrl, lostError, maskSecrets } from '../sweep/redisUrl.js';
import { enqueueSweep } from '../sweep/queue.js';
import { startWorker } from '../sweep/worker.js';
import { formatStatus, sweepStatus, waitForSweep, writeSweepReport, type SweepStatus } from '../sweep/status.js';
import { checkSweepId } from '../sweep/schema.js';
import { intArg, threadsArg, UsageError } from './args.js';
import { deviceFromFlag, deviceOption } from './device.js';

const err = (l: string): void => {
  process.stderr.write(l + '\n');
};

/** Checks the sweep id (when given) and the URL (a UsageError names it, masked) and connects for one command. */
async function oneShot<T>(url: string, fn: (client: Redis) => Promise<T>, sweepId?: string): Promise<T> {
  try {
    if (sweepId !== undefined) checkSweepId(sweepId, '<sweep-id>');
    checkRedisUrl(url);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const client = await connectRedis(url, { retry: 'once' });
  try {
    return await Promise.race([fn(client), connectionLost(client)]);
  } catch (e) {
    if (client.status === 'end') throw lostError(client);
    if (e instanceof RangeError) throw new UsageError(maskSecrets(e.message, url));
    throw new Error(maskSecrets((e as Error).message, url));
  } finally {
    client.disconnect();
  }
}

/**
 * --redis, also read from NORMLAB_REDIS_URL so a password need not appear on a command line
 * (where `ps` shows it to every user of the machine).
 */
function redisOption(required: boolean): Option {
  const o = new Option('--redis <url>', 'redis://[:password@]host:port[/db] or rediss:// (TLS)').env('NORMLAB_REDIS_URL');
  return required ? o.makeOptionMandatory() : o;
}

export function sweepCommand(program: Command, setCode: (c: number) => void): void {
  const sweep = program
    .command('sweep')
    // `sweep status|report` take their own --redis and --out (not those of `sweep <experiment>`).
    .enablePositionalOptions()
    .description("an experiment's runs as jobs on a Redis queue for `normlab worker`s (or the local pool without --redis)")
    .argument('<experiment>', 'experiment name (see normlab run --list)')
    .option('--full', "the seed's own configuration (default: quick mode on bundled data)", false)
    .addOption(new Option('--quick', 'quick mode on bundled data (the default; refused together with --full)').conflicts('full'))
    .option('--set <key=value>', 'override a configuration value (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--seeds <n>', 'number of seeds (repeats) per setting', intArg('--seeds', 1))
    .addOption(redisOption(false))
    .option('--name <sweep-id>', 'sweep id (default: <experiment>-<hash of the configuration>)')
    .option('--attempts <n>', 'attempts per run before it is marked failed', intArg('--attempts', 1), 2)
    .option('--out <dir>', 'without --redis: parent folder of the experiment folder', 'runs')
    .option('--workers <n>', 'without --redis: local worker processes', intArg('--workers', 1), 1)
    .addOption(deviceOption())
    .action(async (name: string, o: { full: boolean; set: string[]; seeds?: number; redis?: string; name?: string; attempts: number; out: string; workers: number; device?: string }) => {
      const mode = o.full ? 'full' : 'quick';
      let config;
      try {
        config = resolveConfig(name, { mode, sets: o.set, seeds: o.seeds });
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (o.redis !== undefined && o.device !== undefined) throw new UsageError('--device goes to `normlab worker` when the sweep runs on --redis (the workers train its runs)');
      if (o.redis === undefined) {
        const device = await deviceFromFlag(o.device);
        const out = await runExperiment(name, { mode, sets: o.set, seeds: o.seeds, workers: o.workers, out: resolve(o.out), device, log: err });
        process.stdout.write(`${out.report}\n`);
        setCode(0);
        return;
      }
      const specs = expand(getExperiment(name), config);
      const r = await oneShot(o.redis, (c) => enqueueSweep(c, { experiment: name, mode, config, specs, name: o.name, attempts: o.attempts }));
      err(`${r.sweep}: ${r.total} run(s), ${r.added} newly queued`);
      process.stdout.write(`${r.sweep}\n`);
      setCode(0);
    });

  sweep
    .command('status')
    .description("a sweep's queued / running / done / failed counts with a progress bar and an ETA")
    .argument('<sweep-id>')
    .addOption(redisOption(true))
    .option('--json', 'print the counts as JSON', false)
    .option('--wait', 'print a line per finished run until every run is done or failed', false)
    .action(async (id: string, o: { redis: string; json: boolean; wait: boolean }) => {
      const print = (s: SweepStatus): void => {
        process.stdout.write((o.json ? JSON.stringify(s) : formatStatus(s)) + '\n');
      };
      if (o.wait) {
        const s = await oneShot(o.redis, (c) => waitForSweep(c, id, { onChange: print }), id);
        setCode(s.failed > 0 ? 1 : 0);
        return;
      }
      const s = await oneShot(o.redis, (c) => sweepStatus(c, id), id);
      print(s);
      setCode(s.failed > 0 ? 1 : 0);
    });

  sweep
    .command('report')
    .description("write the experiment's report.html from a sweep's stored results")
    .argument('<sweep-id>')
    .addOption(redisOption(true))
    .option('--out <dir>', 'output folder (default: runs/<sweep-id>)')
    .action(async (id: string, o: { redis: string; out?: string }) => {
      const report = await oneShot(o.redis, (c) => writeSweepReport(c, id, resolve(o.out ?? `runs/${id}`)), id);
      process.stdout.write(`${report}\n`);
      setCode(0);
    });

  program
    .command('worker')
    .description('take sweep jobs from Redis and train them until stopped (SIGINT/SIGTERM finish the runs in progress)')
    .addOption(redisOption(true))
    .option('--threads <n>', 'native threads per run', threadsArg('--threads', 1), 1)
    .option('--concurrency <k>', 'runs at once', intArg('--concurrency', 1), 1)
    .option('--artifacts <dir>', 'shared folder for run directories (interrupted runs resume from their checkpoint)')
    .option('--data-dir <dir>', 'folder with dataset files you already have')
    .option('--lock-ms <ms>', 'job lock duration: a dead worker\'s job is taken again after about this long', intArg('--lock-ms', 500), 30000)
    .addOption(deviceOption())
    .option('--no-warm-up', 'take the first job at once instead of first training four quick throw-away runs (about 1.6 s, so that jobs run on compiled code)')
    .action(async (o: { redis: string; threads: number; concurrency: number; artifacts?: string; dataDir?: string; lockMs: number; warmUp: boolean; device?: string }) => {
      try {
        checkRedisUrl(o.redis);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      // Checked here (auto resolved once) so that a machine without WebGPU fails before taking jobs.
      const device = await deviceFromFlag(o.device, err);
      const client = await connectRedis(o.redis, { retry: 'forever', log: err });
      const w = startWorker(client, { url: o.redis, device, threads: o.threads, concurrency: o.concurrency, artifacts: o.artifacts ? resolve(o.artifacts) : undefined, dataDir: o.dataDir, lockMs: o.lockMs, warmUp: o.warmUp, log: err });
      await new Promise<void>((done) => {
        const stop = (sig: string): void => {
          err(`worker: ${sig}, finishing the runs in progress`);
          w.close().then(() => done(), () => done());
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      client.disconnect();
      setCode(0);
    });
}
