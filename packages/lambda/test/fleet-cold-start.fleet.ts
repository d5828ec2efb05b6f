/**
 * Fleet-wide cold start (`npm run test:lambda-fleet`, not part of the default Jest run).
 * HUSH_LAMBDA_FLEET environments (default 100) load at INIT against `hush-emulator` with Secrets
 * Manager's quotas (`--quotas aws`: BatchGetSecretValue 100/s, GetSecretValue 10,000/s, a second's
 * worth of burst), scaled by HUSH_LAMBDA_FLEET_QUOTA_SCALE (default 1; 0.05 makes 100 environments
 * call at the rate of 2,000, and most first batch calls are throttled). Each must finish INIT
 * within Lambda's 10 s and serve the right value on its first invoke.
 *
 * On Lambda every environment has its own CPU; here the fleet shares two cores with other jobs.
 * 100 processes released at once were runnable but not scheduled for tens of seconds (load
 * average 60–120; their first calls never reached the emulator within 10 s), which measures the
 * machine, not Hush. So:
 * - HUSH_LAMBDA_FLEET_PER_PROCESS environments (default 10) share one function process, each with
 *   its own store, SDK client and sockets (fixture `fleet.mjs`); the process is a real one under
 *   the runtime loop, frozen between invokes;
 * - the processes start in waves of HUSH_LAMBDA_FLEET_WAVE (default 4) importing at once, then wait
 *   (`GET /hush-test/release`); when all have imported they are released together, every store's
 *   load starts within the same few milliseconds, and every process's first invoke is sent then.
 * The INIT limit (10 s) counts from the release; the times reported are from the release.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { requireBuild, startEmulatorProcess, type EmulatorProcess } from '../../../test/field/helpers';
import { waitFor } from '../../../test/support';
import { LambdaEnvironment } from './runtime/lambda-runtime';

const ENVIRONMENTS = Number(process.env.HUSH_LAMBDA_FLEET ?? 100);
/** Environments per process (each its own store, SDK client and sockets). */
const PER_PROCESS = Number(process.env.HUSH_LAMBDA_FLEET_PER_PROCESS ?? 10);
const PROCESSES = Math.ceil(ENVIRONMENTS / PER_PROCESS);
const WAVE = Number(process.env.HUSH_LAMBDA_FLEET_WAVE ?? 4);
const QUOTA_SCALE = process.env.HUSH_LAMBDA_FLEET_QUOTA_SCALE ?? '1';
const ID = 'app/api-key';
const VALUE = 'fleet-"v1"-ü\\-☃';
/** Lambda's INIT limit, counted from the release. */
const INIT_LIMIT_MS = 10_000;

jest.setTimeout(900_000);

let emu: EmulatorProcess;
const envs: LambdaEnvironment[] = [];

beforeAll(async () => {
  requireBuild();
  emu = await startEmulatorProcess({ [ID]: VALUE }, ['--quotas', 'aws', '--quota-scale', QUOTA_SCALE]);
});

afterAll(async () => {
  await Promise.all(envs.map((e) => e.close()));
  await emu?.stop();
});

function percentiles(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const p = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
  return `p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms`;
}

test(`${ENVIRONMENTS} environments cold-start together under the emulator's quotas: no INIT timeout, every first invoke served`, async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const importing = () => envs.filter((e) => e.releaseAskedAt === undefined).length;
  const died = () => envs.find((e) => e.releaseAskedAt === undefined && e.current.exitCode !== undefined);
  const fail = () => {
    const dead = died();
    if (dead) throw new Error(`a function died before its release:\n${dead.output}`);
    return false;
  };
  for (let i = 0; i < PROCESSES; i++) {
    await waitFor(() => fail() || importing() < WAVE, 120_000, 'a wave to import', 5);
    envs.push(
      await LambdaEnvironment.start({
        dir: join(__dirname, 'fixtures'),
        handler: 'fleet.handler',
        initTimeoutMs: INIT_LIMIT_MS,
        functionTimeoutMs: 60_000,
        release: released,
        env: {
          HUSH_SOURCE: 'aws',
          HUSH_AWS_ENDPOINT: emu.url,
          HUSH_OPTIONS: JSON.stringify({ refreshInterval: '5m', bootTimeout: '8s' }),
          HUSH_FLEET_STORES: String(Math.min(PER_PROCESS, ENVIRONMENTS - i * PER_PROCESS)),
        },
      }),
    );
  }
  await waitFor(() => fail() || importing() === 0, 120_000, 'every function to import', 5);
  const importMs = envs.map((e) => e.releaseAskedAt! - e.current.started);
  const load = loadavg()[0]!;

  const t0 = performance.now();
  release();
  const firstResponses = await Promise.all(
    envs.map(async (e) => {
      const r = await e.invoke({});
      return { ok: r.ok, body: r.body as { values?: string[]; loadedMs?: number[] }, at: performance.now() - t0 };
    }),
  );
  const releaseSpread = Math.max(...envs.map((e) => e.releasedAt! - t0));
  const initMs = envs.filter((e) => e.initEndedAt !== undefined).map((e) => e.initEndedAt! - e.releasedAt!);
  const loadMs = firstResponses.flatMap((r) => r.body.loadedMs ?? []);
  const served = firstResponses.flatMap((r) => (r.ok ? (r.body.values ?? []) : [])).filter((v) => v === VALUE).length;
  const calls = (await emu.control('GET', 'calls')) as Record<string, number>;
  console.log(
    `fleet cold start: ${ENVIRONMENTS} environments in ${PROCESSES} real processes (${PER_PROCESS} a process, each its own store and SDK client), ` +
      `${WAVE} processes importing at a time (import ${percentiles(importMs)}); load average ${load.toFixed(1)} at the release; ` +
      `quota scale ${QUOTA_SCALE}; all released within ${Math.round(releaseSpread)} ms.\n` +
      `From the release: each environment's load ${percentiles(loadMs)}; INIT ended ${percentiles(initMs)}; first responses ${percentiles(firstResponses.map((r) => r.at))}.\n` +
      `INIT timeouts ${envs.reduce((n, e) => n + e.initTimeouts, 0)}; served ${served}/${ENVIRONMENTS}; ` +
      `BatchGetSecretValue ${calls['BatchGetSecretValue']}, GetSecretValue ${calls['GetSecretValue']}, throttled ${calls['throttled']}`,
  );
  const timeouts = envs.filter((e) => e.initTimeouts > 0);
  if (timeouts.length > 0)
    console.log(`first process of an environment whose INIT timed out:\n${timeouts[0]!.procs[0]!.output}`);
  expect(served).toBe(ENVIRONMENTS);
  expect(envs.map((e) => e.initTimeouts).reduce((a, b) => a + b, 0)).toBe(0);
  expect(envs.every((e) => e.procs.length === 1)).toBe(true);
  for (const e of envs) expect(e.output).not.toContain('fleet-');
});
