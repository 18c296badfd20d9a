// Redis URLs and connections for sweeps. The URL (redis:// or rediss:// for TLS, with an optional
// [user]:password@ and /db) is passed to ioredis as is; every message that names it goes through
// maskUrl, and every error text through maskSecrets, so the password never reaches a log or report.
import { Redis } from 'ioredis';

const SCHEMES = ['redis:', 'rediss:'];

/** The URL with its password replaced by '***' (user names are kept). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/([^@/]*)@/, '//***@');
  }
}

/** Replaces the URL's password (raw and percent-decoded) wherever it appears in a message. */
export function maskSecrets(message: string, url: string): string {
  let out = message.split(url).join(maskUrl(url));
  try {
    const pw = new URL(url).password;
    if (pw !== '') for (const s of new Set([pw, decodeURIComponent(pw)])) out = out.split(s).join('***');
  } catch {
    // An unparsable URL has no password we could find; checkRedisUrl rejects it before use.
  }
  return out;
}

/** Throws a RangeError naming the (masked) URL unless it is redis://host[:port][/db] or rediss://. */
export function checkRedisUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(`--redis: not a URL: '${maskUrl(url)}' (expected redis://[:password@]host:port[/db])`);
  }
  if (!SCHEMES.includes(u.protocol)) throw new RangeError(`--redis: expected a redis:// or rediss:// URL, got '${maskUrl(url)}'`);
  if (u.hostname === '') throw new RangeError(`--redis: the URL has no host: '${maskUrl(url)}'`);
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname)) throw new RangeError(`--redis: the database must be a number, got '${maskUrl(url)}'`);
}

export interface ConnectOptions {
  /**
   * 'once': a command-line call; gives up after a few quick retries with an error naming the URL.
   * 'forever': a worker; reconnects with exponential back-off (capped at 10 s) and queues
   * commands meanwhile, logging each retry.
   */
  retry: 'once' | 'forever';
  log?: (line: string) => void;
}

/** Opens a connection and waits until it is ready; the error of a failed attempt names the masked URL. */
export async function connectRedis(url: string, o: ConnectOptions): Promise<Redis> {
  checkRedisUrl(url);
  const log = o.log ?? (() => undefined);
  const client = new Redis(url, {
    lazyConnect: true,
    // BullMQ needs unlimited retries per request; a one-shot call fails through retryStrategy instead.
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    retryStrategy: (times: number) => {
      if (o.retry === 'once') return times > 3 ? null : 200 * times;
      const delay = Math.min(10_000, 250 * 2 ** Math.min(times, 6));
      log(`redis: cannot reach ${maskUrl(url)}; retry ${times} in ${(delay / 1000).toFixed(1)} s`);
      return delay;
    },
  });
  let lastError = '';
  client.on('error', (err: Error) => {
    lastError = maskSecrets(err.message, url);
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    const msg = maskSecrets(err instanceof Error ? err.message : String(err), url);
    throw new Error(`cannot reach Redis at ${maskUrl(url)}: ${lastError !== '' && lastError !== msg ? `${lastError} (${msg})` : msg}`);
  }
  return client;
}
