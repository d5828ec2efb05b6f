/**
 * #25 in the field: a plain `node` process booting one store with two sources — Secrets Manager
 * and Parameter Store — against `hush-emulator` started through its CLI with low quotas, so both
 * APIs throttle. Asserts what an operator sees: exit code and output. Runs after `npm run build`.
 */
import { killAll, requireBuild, startApp, startEmulatorProcess, type EmulatorProcess, type Proc } from './helpers';

const CANARY = 'CANARY-field-ssm';
const seed: Record<string, string> = {};
for (let i = 0; i < 20; i++) seed[`field/sm/${i}`] = `sm-${i}-${CANARY}`;
const declarations: Record<string, unknown> = {};
for (let i = 0; i < 20; i++) declarations[`s${i}`] = `field/sm/${i}`;
for (let i = 0; i < 50; i++) declarations[`p${i}`] = { id: `/field/p/${i}`, source: 'ssm' };
declarations['all'] = { id: '/field/p/', source: 'ssm', path: true };

const procs: (Proc | undefined)[] = [];
const track = <P extends Proc | undefined>(p: P): P => (procs.push(p), p);

beforeAll(requireBuild);
afterAll(() => {
  killAll(procs);
  for (const p of procs) expect(p?.output ?? '').not.toContain(CANARY);
});

async function emulatorWithParameters(flags: string[]): Promise<EmulatorProcess> {
  const emu = track(await startEmulatorProcess(seed, flags));
  for (let i = 0; i < 50; i++) {
    await emu.control('POST', `parameters/${encodeURIComponent(`/field/p/${i}`)}`, {
      value: `p-${i}-${CANARY}`,
      type: 'SecureString',
    });
  }
  return emu;
}

const env = (url: string) => ({ HUSH_SOURCE: 'aws', HUSH_AWS_ENDPOINT: url });

describe('a plain node process, two sources in one store, through throttling', () => {
  it('three processes boot 20 secrets + 50 parameters + a path under 5% of the AWS quotas (SSM: 2 TPS)', async () => {
    const emu = await emulatorWithParameters(['--quota-scale', '0.05']);
    const apps = Array.from({ length: 3 }, () =>
      track(
        startApp('ssm-app.mjs', {
          secrets: declarations,
          options: { bootTimeout: '60s', backoff: { initial: '200ms', max: '2s' } },
          env: env(emu.url),
        }),
      ),
    );
    const codes = await Promise.all(apps.map((a) => a.exit(90_000)));
    for (const app of apps) expect([app.exitCode, app.output]).toEqual([0, expect.stringMatching(/health up/)]);
    expect(codes).toEqual([0, 0, 0]);
    process.stdout.write(
      `\nField results (#25):\n  ${apps.map((a) => a.output.trim().split('\n').slice(-3).join(' | ')).join('\n  ')}\n`,
    );
    // Each process: 5 GetParameters calls (10 names each) and 6 pages of the path; the SDK retried throttled ones.
    const attempts = apps.map(
      (a) => JSON.parse(/ssm calls .* attempts (\{[^}]*\})/.exec(a.output)![1]!) as Record<string, number>,
    );
    for (const a of attempts) expect(a.GetParameters).toBeGreaterThanOrEqual(5);
    const retried = attempts.reduce((n, a) => n + (a.GetParameters ?? 0) + (a.GetParametersByPath ?? 0), 0);
    expect(retried).toBeGreaterThan(3 * (5 + 5));
    await emu.stop();
  }, 120_000);

  it('a missing parameter fails the boot with exit 1, naming the parameter and its source, never a value', async () => {
    const emu = await emulatorWithParameters([]);
    const app = track(
      startApp('ssm-app.mjs', {
        secrets: { ...declarations, gone: { id: '/field/missing', source: 'ssm' } },
        options: { bootTimeout: '5s' },
        env: env(emu.url),
      }),
    );
    expect(await app.exit(30_000)).toBe(1);
    expect(app.output).toMatch(/gone \(id "\/field\/missing", source "ssm"\): ParameterNotFound/);
    await emu.stop();
  }, 60_000);
});
