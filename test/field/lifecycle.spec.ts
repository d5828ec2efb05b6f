/**
 * Field-true lifecycle (issue 12): every case starts the user's app as its own `node` process
 * (test/field/apps: ESM and CommonJS core, Express via app.listen, Nest via NestFactory.create),
 * against `hush-emulator` started through its CLI as another process, and asserts what an operator
 * sees: exit code, output, HTTP answers, timing. Runs after `npm run build` (apps import dist).
 */
import {
  freePort,
  killAll,
  requireBuild,
  startApp,
  startEmulatorProcess,
  tempDir,
  type EmulatorProcess,
  type Proc,
} from './helpers';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, until } from '../support';

const CANARY = 'CANARY-field';
const seed: Record<string, string> = { 'field/a': `a-${CANARY}` };
for (let i = 0; i < 40; i++) seed[`field/bulk/${i}`] = `bulk-${i}-${CANARY}`;
const bulk = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`s${i}`, `field/bulk/${i}`]));

const procs: (Proc | undefined)[] = [];
const results: string[] = [];
const track = <P extends Proc | undefined>(p: P): P => (procs.push(p), p);
const record = (name: string, app: Proc, extra = ''): void =>
  void results.push(`${name}: exit ${app.exitCode}${app.signal ? ` (${app.signal})` : ''}, ${app.ms} ms${extra}`);
const emulator = async (flags: string[] = [], port = 0): Promise<EmulatorProcess> =>
  track(await startEmulatorProcess(seed, flags, port));
const awsEnv = (url: string) => ({ HUSH_SOURCE: 'aws', HUSH_AWS_ENDPOINT: url });
/** The `load()` duration the app printed ("ready in 1234 ms" / "load failed after 1234 ms"). */
/** A core app whose endpoint (`env(port)`) has nothing listening yet. */
async function appWithNothingListening(options: object, env: (port: number) => Record<string, string>) {
  const port = await freePort();
  return {
    port,
    app: track(startApp('core-app.mjs', { secrets: { a: 'field/a' }, options: { ...options }, env: env(port) })),
  };
}
/** Lets `app` try for a second against nothing, checking it keeps trying instead of exiting. */
async function stillTryingAfterASecond(app: Proc): Promise<void> {
  await app.waitForOutput('loading');
  await sleep(1_000);
  expect(app.exitCode).toBeUndefined();
}
const loadMs = (app: Proc): number =>
  Number(/(?:ready in|failed after|during load after) (\d+) ms/.exec(app.output)?.[1]);

beforeAll(requireBuild);
afterAll(() => {
  killAll(procs);
  for (const p of procs) expect(p?.output ?? '').not.toContain(CANARY);
  process.stdout.write(`\nField results (issue 12):\n  ${results.join('\n  ')}\n`);
});

describe('the user app as a process, the emulator as another', () => {
  it.concurrent.each([
    ['ESM', 'exiting 13', 'core-app.mjs'],
    ['CommonJS', 'exiting 0 silently', 'core-app.cjs'],
  ])('%s: load() waits out startupJitter instead of %s', async (kind, _instead, file) => {
    const emu = await emulator();
    const app = track(
      startApp(file!, { secrets: { a: 'field/a' }, options: { startupJitter: '1s' }, env: awsEnv(emu.url) }),
    );
    expect(await app.exit()).toBe(0);
    expect(app.output).toMatch(/ready in \d+ ms; health up/);
    record(`${kind} core, startupJitter 1s`, app, `, load ${loadMs(app)} ms`);
    await emu.stop();
  });

  it.concurrent('boots three apps through throttling (emulator quotas at 1% of AWS)', async () => {
    const emu = await emulator(['--quota-scale', '0.01']);
    const fleet = Array.from({ length: 3 }, () =>
      track(
        startApp('core-app.mjs', { secrets: bulk, options: { backoff: { initial: '200ms' } }, env: awsEnv(emu.url) }),
      ),
    );
    const codes = await Promise.all(fleet.map((a) => a.exit()));
    expect(codes).toEqual([0, 0, 0]);
    const calls = (await emu.control('GET', 'calls')) as { throttled: number; total: number };
    expect(calls.throttled).toBeGreaterThan(0);
    for (const a of fleet) expect(a.output).toMatch(/health up/);
    record(
      '3 ESM apps × 40 secrets, --quota-scale 0.01',
      fleet.reduce((slowest, a) => (a.ms > slowest.ms ? a : slowest)),
      `, slowest; ${calls.total} calls, ${calls.throttled} throttled`,
    );
    await emu.stop();
  });

  it.concurrent('boots through 5xx answers', async () => {
    const emu = await emulator();
    await emu.control('POST', 'faults', { error: 'InternalServiceError', times: 8 });
    const app = track(
      startApp('core-app.mjs', {
        secrets: { a: 'field/a' },
        options: { backoff: { initial: '200ms' } },
        env: awsEnv(emu.url),
      }),
    );
    expect(await app.exit()).toBe(0);
    expect(app.output).toMatch(/ready in \d+ ms; health up/);
    const calls = (await emu.control('GET', 'calls')) as { total: number };
    expect(calls.total).toBeGreaterThanOrEqual(9);
    record('ESM core, 8 × InternalServiceError', app, `, load ${loadMs(app)} ms, ${calls.total} calls`);
    await emu.stop();
  });

  it.concurrent('boots when the endpoint comes up after boot began', async () => {
    const { port, app } = await appWithNothingListening({ bootTimeout: '20s', backoff: { initial: '300ms' } }, (p) =>
      awsEnv(`http://127.0.0.1:${p}`),
    );
    await stillTryingAfterASecond(app);
    const emu = await emulator([], port);
    expect(await app.exit()).toBe(0);
    expect(app.output).toMatch(/ready in \d+ ms; health up/);
    record('ESM core, endpoint up ~1 s after load began', app, `, load ${loadMs(app)} ms`);
    await emu.stop();
  });

  it.concurrent('a forced refresh that joins a hung background refresh settles instead of exiting 13', async () => {
    // The background round's deadline is unref'd; once refresh() joins it, it must hold the process.
    const app = track(
      startApp('refresh-app.mjs', {
        secrets: { a: 'field/a' },
        options: { refreshInterval: '300ms', refreshJitter: 0, fetchTimeout: '1s', minRefreshInterval: 0 },
      }),
    );
    expect(await app.exit()).toBe(0);
    expect(app.output).toMatch(/refresh settled after \d+ ms; calls \d+; health TimeoutError/);
    const settled = Number(/refresh settled after (\d+) ms/.exec(app.output)?.[1]);
    expect(settled).toBeLessThan(5_000);
    record('ESM core, refresh() joins a hung background fetch', app, `, settled after ${settled} ms`);
  });

  it.concurrent('an awaited refreshDue() on a hung source settles instead of exiting 13', async () => {
    // refreshDue() awaits a background round, whose deadline is unref'd: while a caller awaits it,
    // it must hold the process (exit 13 with no output before the fix).
    const app = track(
      startApp('refresh-due-app.mjs', {
        secrets: { a: 'field/a' },
        options: { refreshInterval: '200ms', refreshJitter: 0, fetchTimeout: '1s', minRefreshInterval: 0 },
      }),
    );
    expect(await app.exit()).toBe(0);
    expect(app.output).toContain('due true');
    expect(app.output).toMatch(/refreshDue settled after \d+ ms with \[a\]; calls \d+; health TimeoutError/);
    const settled = Number(/refreshDue settled after (\d+) ms/.exec(app.output)?.[1]);
    expect(settled).toBeLessThan(5_000);
    record('ESM core, refreshDue() on a hung source', app, `, settled after ${settled} ms`);
  });

  it.concurrent(
    'frozen past fetchTimeout with refreshDue() awaited: the deadline re-armed on the thaw still holds the process',
    async () => {
      // A deadline that fires late (the process was frozen) gets one grace to read an answer that
      // came meanwhile (refresh.ts); the re-armed timer keeps the first one's ref, so the awaited
      // refreshDue() settles about the grace after the thaw instead of the process exiting 13.
      const app = track(
        startApp('thaw-grace-app.mjs', {
          secrets: { a: 'field/a' },
          options: { refreshInterval: '200ms', refreshJitter: 0, fetchTimeout: '1s', minRefreshInterval: 0 },
        }),
      );
      await app.waitForOutput('inflight');
      app.child.kill('SIGSTOP');
      await sleep(2_500);
      const thawed = performance.now();
      app.child.kill('SIGCONT');
      expect(await app.exit()).toBe(0);
      expect(app.output).toMatch(/settled \[a\]; calls 2; health TimeoutError/);
      // The grace ran: the round did not end at the thaw, but up to 1 s after it.
      expect((app.exitedAt ?? 0) - thawed).toBeGreaterThanOrEqual(800);
      record('ESM core, frozen past fetchTimeout, refreshDue() awaited', app, '');
    },
  );

  it.concurrent('an awaited invalidate() held back by minRefreshInterval keeps the process alive', async () => {
    // The answer waits on the store's timer, which is unref'd while nobody awaits an answer.
    const app = track(
      startApp('invalidate-app.mjs', {
        secrets: { a: 'field/a' },
        options: { refreshInterval: false, minRefreshInterval: '1s' },
      }),
    );
    expect(await app.exit()).toBe(0);
    expect(app.output).toMatch(/invalidate settled after \d+ ms with \[a\]; fresh true/);
    const settled = Number(/invalidate settled after (\d+) ms/.exec(app.output)?.[1]);
    expect(settled).toBeGreaterThanOrEqual(500);
    record('ESM core, invalidate() within minRefreshInterval', app, `, settled after ${settled} ms`);
  });

  it.concurrent('exits 1 naming ECONNREFUSED when the endpoint is down for the whole bootTimeout', async () => {
    const { app } = await appWithNothingListening({ bootTimeout: '2s', backoff: { initial: '200ms' } }, (p) =>
      awsEnv(`http://127.0.0.1:${p}`),
    );
    expect(await app.exit()).toBe(1);
    expect(app.output).toMatch(/load failed after \d+ ms: Failed to load 1 required secret \[a\]/);
    expect(app.output).toContain('ECONNREFUSED');
    expect(app.output).not.toMatch(/within 1 ms|TimeoutError/);
    expect(loadMs(app)).toBeGreaterThanOrEqual(1_800);
    expect(loadMs(app)).toBeLessThan(2_000 + 1_500);
    record('ESM core, endpoint down, bootTimeout 2s', app, `, load ${loadMs(app)} ms, cause ECONNREFUSED`);
  });

  it.concurrent('boots when the Secrets Manager Agent starts listening after the app', async () => {
    const { port, app } = await appWithNothingListening({ bootTimeout: '20s', backoff: { initial: '300ms' } }, (p) => ({
      HUSH_SOURCE: 'agent',
      HUSH_AGENT_URL: `http://127.0.0.1:${p}`,
      AWS_TOKEN: 'field-token',
    }));
    await stillTryingAfterASecond(app);
    const emu = await emulator(['--agent-port', String(port), '--agent-token', 'field-token']);
    expect(await app.exit()).toBe(0);
    expect(app.output).toMatch(/ready in \d+ ms; health up/);
    record('ESM core via agent, agent up ~1 s after load began', app, `, load ${loadMs(app)} ms`);
    await emu.stop();
  });

  it.concurrent('waits for a mounted file that appears during the settle re-check', async () => {
    const { dir, remove } = tempDir('hush-field-files-');
    const app = track(
      startApp('core-app.mjs', {
        secrets: { a: 'a' },
        env: { HUSH_SOURCE: 'files', HUSH_SECRETS_DIR: dir, FIELD_SETTLE: '1500' },
      }),
    );
    await app.waitForOutput('loading');
    await sleep(300);
    writeFileSync(join(dir, 'a'), `file-${CANARY}`);
    expect(await app.exit()).toBe(0);
    expect(app.output).toMatch(/ready in \d+ ms; health up/);
    record('ESM core on mounted files, file written 300 ms into load (settle 1.5 s)', app, `, load ${loadMs(app)} ms`);
    remove();
  });

  it.concurrent(
    'exits 1 at once, naming the file, when a mounted secret is a FIFO (never hangs the process)',
    async () => {
      const { dir, remove } = tempDir('hush-field-fifo-');
      execFileSync('mkfifo', [join(dir, 'a')]);
      const app = track(
        startApp('core-app.mjs', {
          secrets: { a: 'a' },
          options: { bootTimeout: '3s' },
          env: { HUSH_SOURCE: 'files', HUSH_SECRETS_DIR: dir },
        }),
      );
      expect(await app.exit(10_000)).toBe(1);
      expect(app.output).toContain('NotARegularFile');
      expect(loadMs(app)).toBeLessThan(1_000);
      record('ESM core on mounted files, the secret file is a FIFO', app, `, load failed after ${loadMs(app)} ms`);
      remove();
    },
  );

  it.concurrent('exits 0 on SIGTERM during load (retrying through 5xx)', async () => {
    const emu = await emulator();
    await emu.control('POST', 'faults', { error: 'ServiceUnavailable' });
    const app = track(
      startApp('core-app.mjs', {
        secrets: { a: 'field/a' },
        options: { backoff: { initial: '500ms' } },
        env: awsEnv(emu.url),
      }),
    );
    await app.waitForOutput('loading');
    await until(
      () => emu.control('GET', 'calls') as Promise<{ total: number }>,
      (c) => c.total >= 3,
      10_000,
    );
    const signalled = performance.now();
    app.child.kill('SIGTERM');
    expect(await app.exit()).toBe(0);
    const afterSignal = Math.round(performance.now() - signalled);
    expect(afterSignal).toBeLessThan(1_500);
    expect(app.output).toContain('SIGTERM: closing');
    expect(app.output).toMatch(/closed during load after \d+ ms/);
    record('ESM core, SIGTERM while retrying 503s', app, `, exited ${afterSignal} ms after the signal`);
    await emu.stop();
  });

  it.concurrent('close() during load settles load() with SecretsStoreClosedError', async () => {
    // Long backoff: at 800 ms the store is almost surely asleep between rounds, not mid-call.
    const { app } = await appWithNothingListening(
      { bootTimeout: '60s', backoff: { initial: '20s', max: '20s' } },
      (p) => ({ ...awsEnv(`http://127.0.0.1:${p}`), FIELD_CLOSE_AFTER_MS: '800' }),
    );
    expect(await app.exit()).toBe(0);
    expect(app.output).toMatch(/closed during load after \d+ ms/);
    expect(loadMs(app)).toBeLessThan(800 + 1_000);
    record('ESM core, close() 800 ms into load (endpoint down)', app, `, load settled after ${loadMs(app)} ms`);
  });

  /** An HTTP app booting through start-up jitter and 4 × 500, until it prints its port. */
  async function serving(file: string): Promise<{ emu: EmulatorProcess; app: Proc; url: string; listenedMs: number }> {
    const emu = await emulator();
    await emu.control('POST', 'faults', { error: 'InternalServiceError', times: 4 });
    const app = track(
      startApp(file, {
        secrets: { a: 'field/a' },
        options: { startupJitter: '500ms', backoff: { initial: '200ms' } },
        env: awsEnv(emu.url),
      }),
    );
    await app.waitForOutput(/listening on \d+/, 25_000);
    return { emu, app, url: `http://127.0.0.1:${/listening on (\d+)/.exec(app.output)![1]}`, listenedMs: app.ms };
  }

  it.concurrent(
    'Express: createSecrets waits out jitter and 5xx, then app.listen serves; SIGTERM exits 0',
    async () => {
      const { emu, app, url, listenedMs } = await serving('express-app.mjs');
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${url}/length`)).json()).toEqual({ length: seed['field/a']!.length });
      app.child.kill('SIGTERM');
      expect(await app.exit()).toBe(0);
      record('Express app.listen, jitter 500 ms + 4 × 500', app, `, listening after ${listenedMs} ms, /readyz 200`);
      await emu.stop();
    },
  );

  it.concurrent('Nest: NestFactory.create waits out jitter and 5xx, then listens; SIGTERM ends it', async () => {
    const { emu, app, url, listenedMs } = await serving('nest-app.mjs');
    const res = await fetch(`${url}/status`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'up', length: seed['field/a']!.length });
    const signalled = performance.now();
    app.child.kill('SIGTERM');
    // enableShutdownHooks() runs the hooks (the store closes), then re-raises the signal.
    const code = await app.exit();
    expect(code === 0 || app.signal === 'SIGTERM').toBe(true);
    expect(performance.now() - signalled).toBeLessThan(2_000);
    record('Nest NestFactory.create, jitter 500 ms + 4 × 500', app, `, listening after ${listenedMs} ms, /status up`);
    await emu.stop();
  });
});
