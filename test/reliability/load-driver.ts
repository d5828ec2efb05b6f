import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import type { Emulator } from '@hush/emulator';

/** Secret ids rotated together, one generation `k` at a time. */
export const IDS = { db: 'load/db', api: 'load/api' } as const;

/** The values of generation `k` (every one carries the canary). */
export function generation(k: number): { db: string; api: string } {
  return {
    db: JSON.stringify({ user: `user-CANARY-${k}`, password: `pw-CANARY-${k}` }),
    api: `api-CANARY-${k}`,
  };
}

/** What a handler returns for the three values it read: their generations and a checksum. */
export interface Reading {
  readonly ks: readonly number[];
  readonly checksum: string;
}

/** The handler side: generation numbers and sha256 of the values, never the values. */
export function reading(user: string, password: string, api: string): Reading {
  const k = (v: string) => Number(/-(\d+)$/.exec(v)?.[1] ?? -1);
  return { ks: [k(user), k(password), k(api)], checksum: checksum(user, password, api) };
}

export function checksum(user: string, password: string, api: string): string {
  return createHash('sha256').update(`${user}\u0000${password}\u0000${api}`).digest('hex');
}

/** The checksum the handler must compute for generation `k`. */
export function expectedChecksum(k: number): string {
  return checksum(`user-CANARY-${k}`, `pw-CANARY-${k}`, `api-CANARY-${k}`);
}

/** The last generation put (per test file; generation 1 is the seed). */
let k = 1;

/** Rotates both ids together every `everyMs` on the emulator (one synchronous step: atomic for readers). */
export function startRotating(emu: Emulator, everyMs: number, onRotate?: (k: number) => void): { stop: () => number } {
  const timer = setInterval(() => {
    k++;
    const g = generation(k);
    emu.putSecret(IDS.db, g.db);
    emu.putSecret(IDS.api, g.api);
    onRotate?.(k);
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return k;
    },
  };
}

export interface LoadResult {
  readonly total: number;
  readonly statuses: Record<number, number>;
  readonly torn: number;
  readonly badChecksum: number;
  /** Requests that saw a generation older than the store held when they were sent. */
  readonly wentBack: number;
  readonly generations: Set<number>;
  readonly errors: string[];
}

/**
 * Sends `total` GET requests to `path` with at most `concurrency` in flight (keep-alive).
 * `storeGeneration()` is read as each request starts: the generation the app had observed.
 */
export async function runLoad(
  server: Server,
  path: string,
  total: number,
  concurrency: number,
  storeGeneration: () => number,
): Promise<LoadResult> {
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const result = {
    total,
    statuses: {} as Record<number, number>,
    torn: 0,
    badChecksum: 0,
    wentBack: 0,
    generations: new Set<number>(),
    errors: [] as string[],
  };
  let sent = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const floor = storeGeneration();
      const req = request({ host: '127.0.0.1', port, path, agent, method: 'GET' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          result.statuses[status] = (result.statuses[status] ?? 0) + 1;
          if (status === 200) {
            const r = JSON.parse(body) as Reading;
            const k = r.ks[0]!;
            if (!r.ks.every((x) => x === k)) result.torn++;
            else if (r.checksum !== expectedChecksum(k)) result.badChecksum++;
            if (k < floor) result.wentBack++;
            result.generations.add(k);
          } else if (result.errors.length < 5) {
            result.errors.push(`${status} ${body.slice(0, 200)}`);
          }
          resolve();
        });
      });
      req.on('error', (e) => {
        if (result.errors.length < 5) result.errors.push(e.message);
        result.statuses[0] = (result.statuses[0] ?? 0) + 1;
        resolve();
      });
      req.end();
    });
  const worker = async (): Promise<void> => {
    while (sent < total) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return result;
}

/** One GET of `path`, resolving with the body text. */
export function getText(server: Server, path: string): Promise<string> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

/**
 * The rotation-under-load check both framework suites run: 3,000 requests (32 concurrent) to
 * `/check` while both ids rotate every 100 ms, then the last generation served once rotation stops.
 * `current()` is the generation the app's store holds.
 */
export async function expectRotationUnderLoad(emu: Emulator, server: Server, current: () => number): Promise<void> {
  const rotation = startRotating(emu, 100);
  const result = await runLoad(server, '/check', 3_000, 32, current);
  const last = rotation.stop();
  expect(result.errors).toEqual([]);
  expect(result.statuses).toEqual({ 200: 3_000 });
  expect(result.torn).toBe(0);
  expect(result.badChecksum).toBe(0);
  expect(result.wentBack).toBe(0);
  expect(result.generations.size).toBeGreaterThanOrEqual(3);
  // After the rotations stop, the last generation is picked up and served.
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect(current()).toBe(last);
  const after = await runLoad(server, '/check', 50, 8, current);
  expect([...after.generations]).toEqual([last]);
}
