// Starts Debian's redis-server on a free loopback port for a test file, without persistence.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { connectRedis } from '../../src/sweep/redisUrl.js';

/** Why Redis tests cannot run here, or null when redis-server is installed. */
export function redisMissing(): string | null {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0 ? null : 'redis-server is not installed (apt-get install -y redis-server); skipping the sweep tests';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface LocalRedis {
  url: string;
  port: number;
  stop(): void;
}

/** A redis-server on 127.0.0.1 (optionally with a password), ready when this resolves. */
export async function startRedis(password?: string): Promise<LocalRedis> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(password ? ['--requirepass', password] : [])];
  const proc: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const url = `redis://${password ? `:${password}@` : ''}127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const c = await connectRedis(url, { retry: 'once' });
      c.disconnect();
      break;
    } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, port, stop: () => proc.kill('SIGTERM') };
}
