// `normlab serve [folder]`: live curves of the runs under a folder (src/report/serve.ts), on
// 127.0.0.1 only, until Ctrl-C.
import type { Command } from 'commander';
import { intArg } from './args.js';

export function serveCommand(program: Command, setCode: (c: number) => void): void {
  program
    .command('serve')
    .description('a local web page (127.0.0.1 only) with live curves of the runs under a folder, running and finished, side by side')
    .argument('[folder]', 'folder searched for run directories (config.json, metrics.jsonl), 4 levels deep', 'runs')
    .option('--port <n>', 'port (0: any free port)', intArg('--port', 0), 8090)
    .option('--interval <s>', 'page refresh interval in seconds', intArg('--interval', 1), 2)
    .action(async (folder: string, o: { port: number; interval: number }) => {
      const { serveRuns } = await import('../report/serve.js');
      const { server, url } = await serveRuns(folder, { port: o.port, pollMs: o.interval * 1000 });
      process.stdout.write(`normlab serve: ${url} (runs under ${folder}; Ctrl-C to stop)\n`);
      await new Promise<void>((done) => {
        const stop = (): void => {
          server.close(() => done());
          server.closeAllConnections();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      setCode(0);
    });
}
