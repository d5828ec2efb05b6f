/**
 * Field-true: the user's Fastify app as its own `node` process (test/field/fastify-app.mjs, the
 * README pattern, importing the BUILT package), `hush-emulator` started through its CLI as
 * another; asserts what an operator sees: exit code, output, HTTP answers, timing.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Proc, killAll, requireBuild, startEmulatorProcess, type EmulatorProcess } from '../../../test/field/helpers';

const CANARY = 'CANARY-field';
const seed: Record<string, string> = {};
for (let i = 0; i < 40; i++) seed[`field/bulk/${i}`] = `bulk-${i}-${CANARY}`;
const bulk = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`s${i}`, `field/bulk/${i}`]));
const procs: Proc[] = [];

function startFastifyApp(emu: EmulatorProcess, secrets: Record<string, string>, options: object = {}): Proc {
  const child = spawn(process.execPath, [join(__dirname, 'field', 'fastify-app.mjs')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      HUSH_SOURCE: 'aws',
      HUSH_AWS_ENDPOINT: emu.url,
      FIELD_SECRETS: JSON.stringify(secrets),
      FIELD_OPTIONS: JSON.stringify(options),
    },
  });
  const proc = new Proc(child);
  procs.push(proc);
  return proc;
}

beforeAll(() => {
  requireBuild();
  if (!existsSync(join(__dirname, '..', 'dist', 'index.js')))
    throw new Error('packages/fastify/dist is missing: run `npm run build` first (npm test does).');
});
afterAll(() => {
  killAll(procs);
  for (const p of procs) expect(p.output).not.toContain(CANARY);
});

it('three apps await listen() through throttling, serve, and exit 0 on SIGTERM', async () => {
  const emu = await startEmulatorProcess(seed, ['--quota-scale', '0.01']);
  try {
    const fleet = Array.from({ length: 3 }, () =>
      startFastifyApp(emu, bulk, { startupJitter: '300ms', backoff: { initial: '200ms' } }),
    );
    await Promise.all(fleet.map((app) => app.waitForOutput(/listening on \d+/, 60_000)));
    const calls = (await emu.control('GET', 'calls')) as { throttled: number; total: number };
    expect(calls.throttled).toBeGreaterThan(0);
    for (const app of fleet) {
      // listen() resolved only after every secret loaded: the first request is already served.
      const url = `http://127.0.0.1:${/listening on (\d+)/.exec(app.output)![1]}`;
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${url}/length`)).json()).toEqual({ length: seed['field/bulk/0']!.length });
      app.child.kill('SIGTERM');
      expect(await app.exit()).toBe(0);
    }
    process.stdout.write(
      `\nFastify field: 3 apps × 40 secrets, --quota-scale 0.01: slowest listening after ` +
        `${Math.max(...fleet.map((a) => Number(/after (\d+) ms/.exec(a.output)![1])))} ms; ` +
        `${calls.total} calls, ${calls.throttled} throttled\n`,
    );
  } finally {
    await emu.stop();
  }
}, 90_000);

it('a secret that cannot be loaded ends the process with the SecretsLoadError, not a hang', async () => {
  const emu = await startEmulatorProcess(seed);
  try {
    const app = startFastifyApp(emu, { s0: 'field/bulk/0', missing: 'field/nope' });
    expect(await app.exit(20_000)).toBe(1);
    expect(app.output).toMatch(/SecretsLoadError: Failed to load 1 required secret \[missing\]/);
    expect(app.output).not.toMatch(/listening on/);
  } finally {
    await emu.stop();
  }
}, 30_000);
