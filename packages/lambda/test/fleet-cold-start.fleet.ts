/**
 * Fleet-wide cold start (`npm run test:lambda-fleet`, not part of the default Jest run: it starts
 * ENVIRONMENTS function processes at once). Every environment is a real process under the runtime
 * loop, loading at INIT against `hush-emulator` with AWS's quotas scaled down
 * (BatchGetSecretValue 5/s), so most of the fleet's first batch calls are throttled. Each must
 * finish INIT and serve the right value on its first invoke, with no INIT timeout.
 *
 * On Lambda every environment has its own CPU; here they share this machine's, so starting 100
 * Node processes at once takes far longer than on Lambda. The INIT limit is therefore
 * HUSH_LAMBDA_FLEET_INIT_MS (default 60 s, not Lambda's 10 s), and HUSH_LAMBDA_FLEET sets the
 * number of environments (default 100; on a 2-core machine 100 processes take minutes).
 */
import { join } from 'node:path';
import { requireBuild, startEmulatorProcess, type EmulatorProcess } from '../../../test/field/helpers';
import { LambdaEnvironment } from './runtime/lambda-runtime';

const ENVIRONMENTS = Number(process.env.HUSH_LAMBDA_FLEET ?? 100);
const ID = 'app/api-key';
const VALUE = 'fleet-"v1"-ü\\-☃';
const INIT_LIMIT_MS = Number(process.env.HUSH_LAMBDA_FLEET_INIT_MS ?? 60_000);

jest.setTimeout(600_000);

let emu: EmulatorProcess;
const envs: LambdaEnvironment[] = [];

beforeAll(async () => {
  requireBuild();
  emu = await startEmulatorProcess({ [ID]: VALUE }, ['--quotas', 'aws', '--quota-scale', '0.05']);
});

afterAll(async () => {
  await Promise.all(envs.map((e) => e.close()));
  await emu?.stop();
});

test(`${ENVIRONMENTS} environments cold-start at once under the emulator's quotas: no INIT timeout, every first invoke served`, async () => {
  const t0 = performance.now();
  for (let i = 0; i < ENVIRONMENTS; i++) {
    envs.push(
      await LambdaEnvironment.start({
        dir: join(__dirname, 'fixtures'),
        handler: 'esm.handler',
        initTimeoutMs: INIT_LIMIT_MS,
        functionTimeoutMs: INIT_LIMIT_MS,
        env: {
          HUSH_SOURCE: 'aws',
          HUSH_AWS_ENDPOINT: emu.url,
          HUSH_OPTIONS: JSON.stringify({ refreshInterval: '5m', bootTimeout: '8s' }),
        },
      }),
    );
  }
  const firstResponses = await Promise.all(
    envs.map(async (e) => {
      const r = await e.invoke({});
      return { ok: r.ok, body: r.body as { value?: string }, at: performance.now() - t0 };
    }),
  );
  const calls = (await emu.control('GET', 'calls')) as Record<string, number>;
  const times = firstResponses.map((r) => r.at).sort((a, b) => a - b);
  const p = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]!);
  console.log(
    `fleet cold start: ${ENVIRONMENTS} environments, first responses p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, ` +
      `last ${Math.round(times[times.length - 1]!)} ms from the first spawn; INIT timeouts ${envs.reduce((n, e) => n + e.initTimeouts, 0)}; ` +
      `calls ${JSON.stringify(calls)}`,
  );
  expect(firstResponses.filter((r) => !r.ok || r.body.value !== VALUE)).toEqual([]);
  expect(envs.map((e) => e.initTimeouts).reduce((a, b) => a + b, 0)).toBe(0);
  expect(envs.every((e) => e.procs.length === 1)).toBe(true);
});
