/**
 * What the emulator README says about stopping `hush-emulator` with a signal, tried the way a user
 * project runs it: a project whose node_modules/.bin holds `hush-emulator` (a shim that execs
 * node on packages/emulator/dist/cli.js, as npm's bin link does), started through npm.
 *
 * - `npx hush-emulator`: a SIGTERM to the npx process ends npm and its shell only; the emulator
 *   keeps running (npm exec runs `sh -c hush-emulator …`, and the shell does not pass the signal
 *   on). This is npm's behaviour, checked so the README's warning stays true.
 * - an npm script `exec hush-emulator …`: the shell is replaced by the emulator, so the SIGTERM
 *   `npm run` forwards reaches it, and it closes and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../support';

const root = join(__dirname, '..', '..');
const cli = join(root, 'packages/emulator/dist/cli.js');
let project: string;

beforeAll(() => {
  if (!existsSync(cli))
    throw new Error('packages/emulator/dist/cli.js is missing: run `npm run build` first (npm test does).');
  project = mkdtempSync(join(tmpdir(), 'hush-emu-signals-'));
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'app',
      version: '1.0.0',
      private: true,
      scripts: { emulator: 'exec hush-emulator --port 0' },
    }),
  );
  mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
  const bin = join(project, 'node_modules', '.bin', 'hush-emulator');
  writeFileSync(bin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} "$@"\n`);
  chmodSync(bin, 0o755);
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Starts `command` in the project, in its own process group, and waits for the emulator's URL. */
async function start(command: string, args: string[]) {
  const child: ChildProcess = spawn(command, args, {
    cwd: project,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_offline: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // 'close' comes once every process holding the output pipes (npm, and an emulator it exec'd) is gone.
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await until(
    async () => output,
    (text) => /listening on http/.test(text) || child.exitCode !== null,
    60_000,
  );
  const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
  if (!url) throw new Error(`the emulator did not start:\n${output}`);
  return { child, url, exited, closed, output: () => output };
}

const answers = (url: string): Promise<boolean> =>
  fetch(`${url}/_emulator/health`).then(
    (r) => r.ok,
    () => false,
  );

it('`npx hush-emulator`: SIGTERM to the npx process leaves the emulator running (what the README warns about)', async () => {
  const run = await start('npx', ['--no-install', 'hush-emulator', '--port', '0']);
  try {
    run.child.kill('SIGTERM');
    await run.exited;
    // npm and its shell are gone; the emulator, orphaned, still answers.
    await new Promise((r) => setTimeout(r, 500));
    expect(await answers(run.url)).toBe(true);
  } finally {
    // The orphan is still in the process group started above: end it there.
    try {
      process.kill(-run.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  expect(
    await until(
      () => answers(run.url),
      (up) => !up,
      10_000,
    ),
  ).toBe(false);
}, 90_000);

it('an npm script `exec hush-emulator …`: SIGTERM to `npm run` reaches the emulator, which closes and exits', async () => {
  const run = await start('npm', ['run', '--silent', 'emulator']);
  try {
    run.child.kill('SIGTERM');
    await run.exited;
    expect(
      await until(
        () => answers(run.url),
        (up) => !up,
        30_000,
      ),
    ).toBe(false);
    // npm can exit before the emulator has written its last line: read the output once the pipes
    // closed (bounded; a miss shows what was printed).
    await Promise.race([run.closed, new Promise((r) => setTimeout(r, 30_000).unref())]);
    expect(run.output()).toContain('SIGTERM: closing');
  } finally {
    try {
      process.kill(-run.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}, 90_000);
