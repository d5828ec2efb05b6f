/**
 * createPgPool in a service run as its own process (test/fixtures/pool-app.cjs, on the built
 * packages): 4 workers query back to back through a pool of 2, so requests are always queued and
 * pg-pool builds new clients inside other sockets' callbacks. Each case changes the secret or the
 * database under it; the service must keep serving and exit 0 by itself.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SECRET_ID, fixture, ident, phased, rotate, until, type Fixture } from './support';

const root = join(__dirname, '..', '..', '..');
const app = join(__dirname, 'fixtures', 'pool-app.cjs');

interface Counts {
  ok: number;
  failed: number;
  codes: Record<string, number>;
  health: { status: string; serving: { name: string }; proven: boolean; rejected?: Record<string, unknown> };
}
interface Result extends Counts {
  stats: { logins: Record<string, number>; refused: number; retired: number };
  rejected: Record<string, unknown>[];
}

/** Starts the service; `send` writes a command and resolves with its JSON answer. */
function service(fx: Fixture, pool: Record<string, unknown>) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [app], {
    cwd: root,
    env: {
      ...process.env,
      HUSH_CLIENT: JSON.stringify(fx.emu.clientConfig()),
      HUSH_POOL: JSON.stringify(pool),
      HUSH_WORKERS: '4',
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
    /** Stops the workers, returns the result and the exit code (the process must end by itself). */
    async stop(): Promise<{ result: Result; code: number | null; stderr: string }> {
      child.stdin.write('stop\n');
      const result = (await next()) as Result;
      child.stdin.end();
      return { result, code: await exited, stderr };
    },
    kill: () => child.kill('SIGKILL'),
    stderr: () => stderr,
    exitCode: () => child.exitCode,
  };
}

describe('createPgPool in a service process (pool of 2, 4 workers, real PostgreSQL)', () => {
  let fx: Fixture;
  let running: ReturnType<typeof service> | undefined;
  beforeAll(async () => {
    if (!existsSync(join(root, 'packages/database/dist/pg/index.js')))
      throw new Error('packages/database/dist is missing: run `npx tsc -b` first (npm test does).');
    fx = await fixture({ rotationWindow: 1_500 });
  });
  afterEach(() => running?.kill());
  afterAll(() => fx?.stop());

  /** Runs until `ok` grew by `more` queries after `from`. */
  const moreQueries = async (svc: ReturnType<typeof service>, more: number) => {
    const from = (await svc.send<Counts>('count')).ok;
    let last: Counts | undefined;
    await until(async () => (last = await svc.send<Counts>('count')).ok >= from + more, 15_000).catch(() => {
      throw new Error(`fewer than ${more} queries in 15 s: ${JSON.stringify(last)}`);
    });
  };

  it('1. a new version that is JSON but not credentials (no password) is set aside: no crash, no failed query', async () => {
    const { value } = await fx.user('proc_invalid', 'pw-invalid-1');
    const svc = (running = service(fx, { max: 2, maxUses: 2, retryBudget: 1_000 }));
    await phased(async (phase) => {
      phase('ready');
      await svc.ready();
      phase('warm');
      await moreQueries(svc, 50);
      const { password: _dropped, ...noPassword } = value;
      fx.emu.putSecret(SECRET_ID, JSON.stringify(noPassword));
      phase('refresh 1');
      await svc.send('refresh');
      // maxUses 2: every other query needs a new login, built by pg-pool inside a socket callback.
      phase('after no password');
      await moreQueries(svc, 100);
      fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...value, port: 'not-a-port' }));
      phase('refresh 2');
      await svc.send('refresh');
      phase('after bad port');
      await moreQueries(svc, 100);
    }, 50_000).catch((e: Error) => {
      throw new Error(`${e.message}; exit ${svc.exitCode()}; stderr: ${svc.stderr().slice(0, 1500)}`);
    });
    const { result, code, stderr } = await svc.stop();
    expect({ code, stderr, failed: result.failed, codes: result.codes }).toEqual({
      code: 0,
      stderr: '',
      failed: 0,
      codes: {},
    });
    expect(result.health).toMatchObject({
      status: 'degraded',
      proven: true,
      rejected: { name: 'db', reason: 'invalid', code: 'DATABASE_CREDENTIALS_INVALID', field: 'port' },
    });
    expect(result.rejected.map((r) => r['field'])).toEqual(['password', 'port']);
    expect(result.stats.logins['db']).toBeGreaterThan(50);
  }, 60_000);

  it('2. a full pool keeps the AWSPENDING candidate with the retry: a single-user rotation fails no query', async () => {
    await fx.user('proc_full', 'pw-full-1');
    // A short budget: a retry that never tries AWSPENDING fails inside the 1.5 s window instead of waiting it out.
    const svc = (running = service(fx, { max: 2, maxUses: 2, retryBudget: 300, pending: true }));
    await svc.ready();
    await moreQueries(svc, 50);
    await rotate(fx, 'single', { onWindow: () => moreQueries(svc, 100) });
    await svc.send('refresh');
    await moreQueries(svc, 100);
    const { result, code, stderr } = await svc.stop();
    expect({ code, stderr, failed: result.failed, codes: result.codes }).toEqual({
      code: 0,
      stderr: '',
      failed: 0,
      codes: {},
    });
    expect(result.stats.refused).toBeGreaterThan(0);
    expect(result.stats.logins['dbPending']).toBeGreaterThan(0);
    expect(result.health).toMatchObject({ status: 'ok', proven: true });
    expect(result.rejected).toEqual([]);
  }, 60_000);

  it('3. AWSCURRENT moves to a version the database refuses: working connections keep serving, health says so', async () => {
    const { value } = await fx.user('proc_refused', 'pw-refused-1');
    // maxUses 5: connections are renewed all along, so new logins happen while the version is refused.
    const svc = (running = service(fx, { max: 2, maxUses: 5, retryBudget: 1_000, pending: true }));
    await svc.ready();
    await moreQueries(svc, 50);
    // A typo in the new version: the database still has the old password.
    const { versionId } = fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...value, password: 'pw-typo' }));
    await svc.send('refresh');
    await moreQueries(svc, 200);
    const mid = await svc.send<Counts>('count');
    expect(mid.health).toMatchObject({
      status: 'degraded',
      proven: true,
      rejected: { name: 'db', version: versionId.slice(0, 8), reason: 'refused', code: '28P01' },
    });
    // The database catches up (the rotation reaches it): the next version logs in and the pool moves to it.
    await fx.pg.query(`ALTER ROLE ${ident('proc_refused')} PASSWORD 'pw-fixed'`);
    fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...value, password: 'pw-fixed' }));
    await svc.send('refresh');
    await until(async () => (await svc.send<Counts>('count')).health.status === 'ok', 20_000);
    await moreQueries(svc, 100);
    const { result, code, stderr } = await svc.stop();
    expect({ code, stderr, failed: result.failed, codes: result.codes }).toEqual({
      code: 0,
      stderr: '',
      failed: 0,
      codes: {},
    });
    expect(result.rejected).toEqual([{ name: 'db', version: versionId.slice(0, 8), reason: 'refused', code: '28P01' }]);
    expect(result.health).toEqual({ status: 'ok', serving: expect.objectContaining({ name: 'db' }), proven: true });
  }, 60_000);
});
