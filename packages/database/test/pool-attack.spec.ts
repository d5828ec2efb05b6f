/**
 * createPgPool attacked in a service run as its own process (test/fixtures/pool-app.cjs, on the
 * built packages): versions whose login hangs, pool.end() during a probe or a queued retry, many
 * concurrent checkouts while a version is refused. Each case must keep serving and exit 0 by itself.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createInterface } from 'node:readline';
import { createPgPool } from '@hush/database/pg';
import { SECRET_ID, fixture, ident, literal, until, type Fixture } from './support';

const root = join(__dirname, '..', '..', '..');
const app = join(__dirname, 'fixtures', 'pool-app.cjs');

interface Counts {
  ok: number;
  failed: number;
  codes: Record<string, number>;
  health: { status: string; serving: { name: string; version?: string }; proven: boolean };
}

function service(fx: Fixture, pool: Record<string, unknown>, workers = 4) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [app], {
    cwd: root,
    env: {
      ...process.env,
      HUSH_CLIENT: JSON.stringify(fx.emu.clientConfig()),
      HUSH_POOL: JSON.stringify(pool),
      HUSH_WORKERS: String(workers),
    },
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const answers: unknown[] = [];
  const waiting: ((a: unknown) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const answer = JSON.parse(line) as unknown;
    const next = waiting.shift();
    if (next) next(answer);
    else answers.push(answer);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const next = () =>
    Promise.race([
      new Promise<unknown>((resolve) => (answers.length ? resolve(answers.shift()) : waiting.push(resolve))),
      exited.then((code) => {
        throw new Error(`the service exited with ${code}: ${stderr.slice(0, 2000)}`);
      }),
    ]);
  return {
    ready: next,
    async send<T>(command: string): Promise<T> {
      child.stdin.write(`${command}\n`);
      return (await next()) as T;
    },
    /** Stops the workers; resolves with the exit code, or 'hung' when the process is still alive after `ms`. */
    async stop(ms = 15_000): Promise<{ code: number | null | 'hung'; stderr: string }> {
      child.stdin.write('stop\n');
      await next();
      child.stdin.end();
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), ms))),
      ]).finally(() => clearTimeout(timer));
      return { code, stderr };
    },
    kill: () => child.kill('SIGKILL'),
  };
}

/** A TCP server that accepts connections and never answers (a host that hangs the login). */
async function blackhole(): Promise<{ port: number; close: () => void; open: () => number }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.resume();
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    open: () => sockets.size,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('createPgPool under attack (service process, real PostgreSQL)', () => {
  let fx: Fixture;
  let running: ReturnType<typeof service> | undefined;
  const cleanups: (() => void)[] = [];
  beforeAll(async () => {
    if (!existsSync(join(root, 'packages/database/dist/pg/index.js')))
      throw new Error('packages/database/dist is missing: run `npx tsc -b` first (npm test does).');
    fx = await fixture();
  });
  afterEach(() => {
    running?.kill();
    for (const c of cleanups.splice(0)) c();
  });
  afterAll(() => fx?.stop());

  const queriesWithin = async (svc: ReturnType<typeof service>, more: number, ms: number) => {
    const from = (await svc.send<Counts>('count')).ok;
    let last: Counts | undefined;
    await until(async () => (last = await svc.send<Counts>('count')).ok >= from + more, ms).catch(() => {
      throw new Error(`fewer than ${more} queries in ${ms} ms: ${JSON.stringify(last)} (from ${from})`);
    });
  };

  it('a new version whose login hangs (host that never answers) delays at most the first checkouts, and the process still exits after pool.end()', async () => {
    const { value } = await fx.user('atk_hang', 'pw-hang-1');
    const hole = await blackhole();
    cleanups.push(hole.close);
    const svc = (running = service(fx, { max: 2 }));
    await svc.ready();
    await queriesWithin(svc, 50, 15_000);
    fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...value, host: '127.0.0.1', port: hole.port }));
    await svc.send('refresh');
    // The working connections serve on: after the first probe's wait (5 s at most), queries flow.
    await queriesWithin(svc, 500, 12_000);
    const { code, stderr } = await svc.stop();
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  }, 60_000);

  it('a connection the server ends while its checkout waits for a probe login does not kill the process', async () => {
    const { value } = await fx.user('atk_probe_kill', 'pw-probe-kill-1');
    const hole = await blackhole();
    cleanups.push(hole.close);
    // connectionTimeoutMillis: the pool's own new logins with that version would hang too (as with any pg.Pool).
    const svc = (running = service(fx, { max: 2, connectionTimeoutMillis: 3_000 }));
    await svc.ready();
    await queriesWithin(svc, 50, 15_000);
    fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...value, host: '127.0.0.1', port: hole.port }));
    await svc.send('refresh');
    // The probe hangs: the checkouts that met the working connections wait for it, holding them.
    await until(() => hole.open() === 1);
    await fx.pg.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'atk_probe_kill'`);
    await queriesWithin(svc, 1, 15_000).catch(() => undefined);
    // The version of the host that never answers stays the one new logins use: point it back.
    fx.emu.putSecret(SECRET_ID, JSON.stringify(value));
    await svc.send('refresh');
    await queriesWithin(svc, 100, 20_000);
    const { code, stderr } = await svc.stop();
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  }, 60_000);

  it('the server ending connections under load (no rotation) fails their queries, as with pg.Pool, and never kills the process', async () => {
    await fx.user('atk_terminate', 'pw-terminate-1');
    // 50 workers on a pool of 5: a released connection is handed at once to a queued checkout.
    const svc = (running = service(fx, { max: 5 }, 50));
    await svc.ready();
    await queriesWithin(svc, 200, 15_000);
    for (let i = 0; i < 30; i++) {
      await fx.pg.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'atk_terminate'`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await queriesWithin(svc, 200, 15_000);
    const { code, stderr } = await svc.stop();
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  }, 60_000);

  it('pool.end() while a probe login hangs: the process exits by itself', async () => {
    const { value } = await fx.user('atk_hang_end', 'pw-hang-end-1');
    const hole = await blackhole();
    cleanups.push(hole.close);
    const svc = (running = service(fx, { max: 2 }));
    await svc.ready();
    await queriesWithin(svc, 50, 15_000);
    fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...value, host: '127.0.0.1', port: hole.port }));
    await svc.send('refresh');
    await queriesWithin(svc, 1, 15_000);
    const { code, stderr } = await svc.stop();
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  }, 60_000);

  it('pool.end() closes a probe login still in flight (here bounded by a 60 s connectionTimeoutMillis)', async () => {
    const { value } = await fx.user('atk_probe_end', 'pw-probe-end-1');
    const hole = await blackhole();
    cleanups.push(hole.close);
    const store = fx.store();
    await store.load();
    const pool = createPgPool(store, 'db', { max: 1, connectionTimeoutMillis: 60_000 });
    pool.on('error', () => {});
    const client = await pool.connect();
    fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...value, host: '127.0.0.1', port: hole.port }));
    await store.refresh('db');
    // Released while the new version never logged in: a probe login starts in the background.
    client.release();
    await until(() => hole.open() === 1);
    await pool.end();
    await until(() => hole.open() === 0, 3_000);
  }, 30_000);

  it('util.inspect / console.dir of the pool and of its clients print neither the username nor the password', async () => {
    const user = `atk"us'er\\ü-日本\nQX`;
    const password = `pw'"\\\n-ü-PWQX${'p'.repeat(200)}`;
    await fx.pg.query(`CREATE ROLE ${ident(user)} LOGIN PASSWORD ${literal(password)}`);
    const { value } = await fx.user('atk_inspect', 'pw-inspect-1');
    fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...value, username: user, password, dbname: 'postgres' }));
    const store = fx.store();
    await store.load();
    const pool = createPgPool(store, 'db', { max: 2 });
    pool.on('error', () => {});
    try {
      const client = await pool.connect();
      expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(user);
      const printed = [
        inspect(pool, { depth: 8 }),
        inspect(pool, { depth: 8, showHidden: true }),
        inspect(client, { depth: 8 }),
        inspect(client, { depth: 8, showHidden: true }),
        inspect({ pool, client }),
      ].join('\n');
      client.release();
      for (const fragment of ['QX', 'PWQX', 'ppppp', 'atk"', "us'er", '日本', 'ü-'])
        expect({ fragment, found: printed.includes(fragment) }).toEqual({ fragment, found: false });
      expect(inspect(pool)).toContain('HushPgPool(db)');
    } finally {
      await pool.end();
    }
  }, 30_000);
});
