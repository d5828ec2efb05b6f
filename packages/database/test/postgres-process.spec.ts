/**
 * startPostgres in an app run as its own process and process group (test/fixtures/postgres-app.cjs,
 * on the built packages), signalled the way a terminal does: Ctrl-C sends SIGINT to every process of
 * the foreground group. The server must be the app's to stop (PostgreSQL takes SIGINT as a fast
 * shutdown that terminates every session with 57P01), and must not outlive an app that dies.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { until } from './support';

const root = join(__dirname, '..', '..', '..');
const app = join(__dirname, 'fixtures', 'postgres-app.cjs');

function start(onSigint: 'stop' | 'default') {
  if (!existsSync(join(root, 'packages/database/dist/testing/index.js')))
    throw new Error('packages/database/dist is missing: run `npx tsc -b` first (npm test does).');
  // detached: its own process group, as a command started from a terminal is.
  const child = spawn(process.execPath, [app], {
    cwd: root,
    env: { ...process.env, HUSH_ON_SIGINT: onSigint },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on('line', (line) =>
    lines.push(JSON.parse(line) as Record<string, unknown>),
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    async started(): Promise<{ port: number; dataDirectory: string }> {
      await until(() => lines.length > 0 || child.exitCode !== null, 60_000);
      if (!lines[0]) throw new Error(`the app exited with ${child.exitCode}: ${stderr.slice(0, 2000)}`);
      return lines[0] as { port: number; dataDirectory: string };
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startPostgres in an app process', () => {
  it("Ctrl-C (SIGINT to the app's process group) leaves the server to the app: its session works until it stops it", async () => {
    const run = start('stop');
    const { port, dataDirectory } = await run.started();
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    // Before: PostgreSQL got the SIGINT too and terminated the session (57P01) while the app was closing.
    expect(run.lines[1]).toEqual({ query: 'ok', sessionErrors: [] });
    expect(run.stderr()).toBe('');
    expect(await accepts(port)).toBe(false);
    expect(existsSync(dirname(dataDirectory))).toBe(false);
  }, 90_000);

  it.each([
    ['killed (SIGKILL to the app only)', 'SIGKILL', false],
    ['Ctrl-C without a SIGINT handler (SIGINT to the group)', 'SIGINT', true],
  ] as const)(
    'the server and its data directory do not outlive an app that dies without stopping it: %s',
    async (_label, signal, group) => {
      const run = start('default');
      const { port, dataDirectory } = await run.started();
      expect(await accepts(port)).toBe(true);
      process.kill(group ? -run.child.pid! : run.child.pid!, signal);
      expect(await run.exited).toEqual({ code: null, signal });
      await until(async () => !(await accepts(port)) && !existsSync(dirname(dataDirectory)), 20_000);
    },
    90_000,
  );
});
