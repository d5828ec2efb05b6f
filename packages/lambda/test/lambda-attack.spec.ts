/**
 * Attacks on @hush/lambda under the runtime loop: each handler is its own process, frozen with
 * SIGSTOP between invokes; secrets come from `hush-emulator` over HTTP. The fixture answers with
 * digests, never values, so every byte the process printed or posted can be searched for them.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { requireBuild, startEmulatorProcess, type EmulatorProcess } from '../../../test/field/helpers';
import { sleep } from '../../../test/support';
import { LambdaEnvironment, type InvokeResult, type LambdaEnvironmentOptions } from './runtime/lambda-runtime';

jest.setTimeout(60_000);

const fixtures = join(__dirname, 'fixtures');
const ID = 'app/api-key';
let emu: EmulatorProcess;
let version = 1;
const envs: LambdaEnvironment[] = [];
const value = (n: number): string => `ATTACKv${n}-"q"\\-ü-☃\n${'y'.repeat(n)}`;
const digest = (v: string | Buffer): string => createHash('sha256').update(v).digest('hex');

beforeAll(async () => {
  requireBuild();
  emu = await startEmulatorProcess({ [ID]: value(1) });
});

afterEach(async () => {
  await Promise.all(envs.splice(0).map((e) => e.close()));
  await emu.control('DELETE', 'faults');
});

afterAll(async () => {
  await emu?.stop();
});

async function rotate(): Promise<string> {
  version++;
  await emu.control('POST', `secrets/${encodeURIComponent(ID)}`, { value: value(version) });
  return value(version);
}

async function calls(): Promise<number> {
  const c = (await emu.control('GET', 'calls')) as Record<string, number>;
  return (c.GetSecretValue ?? 0) + (c.BatchGetSecretValue ?? 0);
}

interface Attack {
  secrets?: Record<string, unknown>;
  hush?: Record<string, unknown>;
  lambda?: Record<string, unknown>;
  wrapper?: 'with' | 'middy';
  handler?: 'async' | 'sync' | 'throw';
  initLoad?: boolean;
  sigterm?: 'flush';
}

async function lambda(
  attack: Attack = {},
  options: Partial<LambdaEnvironmentOptions> = {},
): Promise<LambdaEnvironment> {
  const e = await LambdaEnvironment.start({
    dir: fixtures,
    handler: 'attack.handler',
    ...options,
    env: { HUSH_SOURCE: 'aws', HUSH_AWS_ENDPOINT: emu.url, ATTACK: JSON.stringify(attack), ...options.env },
  });
  envs.push(e);
  return e;
}

interface Answer {
  values: Record<string, string>;
  status: string;
  inflightAtReturn: number;
  pid: number;
}

function answer(r: InvokeResult): Answer {
  if (!r.ok) throw new Error(`invoke failed: ${JSON.stringify(r.body)}`);
  return r.body as Answer;
}

describe('@hush/lambda attacked under a Lambda runtime', () => {
  test('a due invoke with a hung source is answered within the function timeout, even when refreshTimeout is longer', async () => {
    // Lambda allows 1 s timeouts; refreshTimeout is the user's. Waiting it out before the handler
    // killed the invoke (Sandbox.Timedout) instead of serving the last good value.
    const e = await lambda({ lambda: { refreshTimeout: '3s' } }, { functionTimeoutMs: 2_000 });
    await e.waitForInit();
    const good = answer(await e.invoke({})).values.api;
    await sleep(1_200);
    await emu.control('POST', 'faults', { hang: true });
    const r = await e.invoke({});
    expect(r.body).toMatchObject({ values: { api: good } });
    expect(e.procs).toHaveLength(1);
  });

  test('refreshTimeout 0: the handler runs at once and the invoke returns without waiting for the fetch', async () => {
    const e = await lambda({ lambda: { refreshTimeout: 0 } });
    await e.waitForInit();
    answer(await e.invoke({}));
    await sleep(1_200);
    await emu.control('POST', 'faults', { latencyMs: 1_000, times: 1 });
    const r = await e.invoke({});
    // What the README says: 0 never waits, before or after the handler.
    expect(answer(r).inflightAtReturn).toBe(1);
    expect(r.ms).toBeLessThan(1_000);
  });

  test("SIGTERM: an app's own SIGTERM listener still finishes its shutdown (exit 0), the store is closed", async () => {
    const e = await lambda({ sigterm: 'flush' });
    await e.waitForInit();
    answer(await e.invoke({}));
    const proc = await e.shutdown();
    expect(proc.output).toContain('Secret store closed');
    expect(proc.output).toContain('[fixture] flushed');
    expect({ code: proc.exitCode, signal: proc.signal }).toEqual({ code: 0, signal: null });
  });

  test('SIGTERM with no other listener: the store is closed and the signal ends the process', async () => {
    const e = await lambda({});
    await e.waitForInit();
    answer(await e.invoke({}));
    const proc = await e.shutdown();
    expect(proc.output).toContain('Secret store closed');
    expect(proc.signal).toBe('SIGTERM');
  });

  test("refresh: 'background' on a freezing Lambda: a fetch frozen in flight past fetchTimeout still lands on the thaw", async () => {
    // In 'background' mode the handler returns while the fetch is in flight, so the freeze comes
    // with it: its answer waits in the socket. The deadline timer, overdue on thaw, aborted it
    // every time (TimeoutError), so the values never refreshed.
    const e = await lambda({ lambda: { refresh: 'background' }, hush: { fetchTimeout: '1s' } });
    await e.waitForInit();
    answer(await e.invoke({}));
    for (let i = 0; i < 2; i++) {
      await rotate();
      await sleep(2_000);
      await emu.control('POST', 'faults', { latencyMs: 300, times: 1 });
      answer(await e.invoke({}));
    }
    await sleep(2_000);
    // The thaw: the round frozen in flight lands (no new round: this invoke may still read the old value).
    answer(await e.invoke({}));
    // Right after it, nothing due: the value the frozen round fetched, the latest.
    const r = answer(await e.invoke({}));
    expect(r.values.api).toBe(digest(value(version)));
    expect(e.output).not.toContain('TimeoutError');
  });

  test("before-invoke: a round the store's timer starts while the handler runs is awaited before the response", async () => {
    // The handler runs past the refresh interval: the store's own timer starts a round meanwhile.
    // Left in flight, it was frozen with the process; on the thaw its deadline (counting the
    // freeze) aborted it, the retry waited out its backoff, and the first invoke after the
    // rotation served the old version.
    const e = await lambda({ hush: { fetchTimeout: '1s' } });
    await e.waitForInit();
    await emu.control('POST', 'faults', { latencyMs: 600, times: 1 });
    const first = answer(await e.invoke({ handlerMs: 1_300 }));
    expect(first.inflightAtReturn).toBe(0);
    const next = await rotate();
    await sleep(1_500);
    const before = await calls();
    const r = answer(await e.invoke({}));
    expect(r.values.api).toBe(digest(next));
    expect(r.inflightAtReturn).toBe(0);
    expect((await calls()) - before).toBe(1);
    expect(e.output).not.toContain('TimeoutError');
  });
});
