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
   * 'once': a command-line call; gives up after a few quick retries with an error naming the URL,
   * and once connected, rides out a short outage (a Redis restart) with up to RECONNECTS retries
   * at 0.25, 0.5, 1, 2, 2, 2 s before the connection ends (connectionLost then rejects).
   * 'forever': a worker; reconnects with exponential back-off (capped at 10 s) and queues
   * commands meanwhile, logging each retry.
   */
  retry: 'once' | 'forever';
  log?: (line: string) => void;
}

export const RECONNECTS = 6;

interface ConnectionInfo {
  url: string;
  lastError: string;
  retries: number;
}

const info = new WeakMap<Redis, ConnectionInfo>();

/** Opens a connection and waits until it is ready; the error of a failed attempt names the masked URL. */
export async function connectRedis(url: string, o: ConnectOptions): Promise<Redis> {
  checkRedisUrl(url);
  const log = o.log ?? (() => undefined);
  let connected = false;
  const state: ConnectionInfo = { url, lastError: '', retries: 0 };
  const client = new Redis(url, {
    lazyConnect: true,
    // BullMQ needs unlimited retries per request; a one-shot call fails through retryStrategy instead.
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    retryStrategy: (times: number) => {
      state.retries = times;
      if (o.retry === 'once') {
        if (!connected) return times > 3 ? null : 200 * times;
        return times > RECONNECTS ? null : Math.min(2000, 125 * 2 ** times);
      }
      const delay = Math.min(10_000, 250 * 2 ** Math.min(times, 6));
      log(`redis: cannot reach ${maskUrl(url)}; retry ${times} in ${(delay / 1000).toFixed(1)} s`);
      return delay;
    },
  });
  info.set(client, state);
  client.on('error', (err: Error) => {
    state.lastError = maskSecrets(err.message, url);
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    const msg = maskSecrets(err instanceof Error ? err.message : String(err), url);
    throw new Error(`cannot reach Redis at ${maskUrl(url)}: ${state.lastError !== '' && state.lastError !== msg ? `${state.lastError} (${msg})` : msg}`);
  }
  connected = true;
  return client;
}

/** The one-line error for a connection that ended for good: the masked URL, the retries and the last failure. */
export function lostError(client: Redis): Error {
  const s = info.get(client);
  const url = s === undefined ? 'Redis' : `Redis at ${maskUrl(s.url)}`;
  const why = s === undefined || s.lastError === '' ? 'the server closed the connection' : s.lastError;
  return new Error(`lost the connection to ${url}${s !== undefined && s.retries > 0 ? ` (gave up after ${s.retries - 1} retries)` : ''}: ${why}`);
}

/** Rejects with lostError when the client's connection ends for good (its retries spent). */
export function connectionLost(client: Redis): Promise<never> {
  const p = new Promise<never>((_, reject) => {
    client.once('end', () => reject(lostError(client)));
  });
  p.catch(() => undefined);
  return p;
}
