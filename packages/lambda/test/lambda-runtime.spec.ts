/**
 * Handlers as Lambda runs them: each function is its own process under a runtime loop that speaks
 * the Runtime API to a server in this test, frozen with SIGSTOP between invokes and thawed with
 * SIGCONT when the next event comes. Secrets come from `hush-emulator` (its own process) over HTTP,
 * directly or through its Agent / Lambda extension endpoint. The processes load the BUILT packages.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, requireBuild, root, startEmulatorProcess, type EmulatorProcess } from '../../../test/field/helpers';
import { sleep } from '../../../test/support';
import { LambdaEnvironment, httpGet, valueCalls, type LambdaEnvironmentOptions } from './runtime/lambda-runtime';

jest.setTimeout(30_000);

const fixtures = join(__dirname, 'fixtures');
const ID = 'app/api-key';
const TOKEN = 'agent-token-"\\-ü';
/** Hostile values (quotes, a backslash, unicode, a newline) carrying the suite's leak canary. */
const value = (n: number): string => `CANARY-key-${n}-"q"\\-ü-☃\n${'x'.repeat(n)}`;

let emu: EmulatorProcess;
let version = 1;
const envs: LambdaEnvironment[] = [];

beforeAll(async () => {
  requireBuild();
  for (const file of ['packages/lambda/dist/index.js', 'packages/lambda/dist/middy.js'])
    if (!existsSync(join(root, file))) throw new Error(`${file} is missing: run \`npm run build\` first.`);
  emu = await startEmulatorProcess({ [ID]: value(1) }, [
    '--agent-port',
    '0',
    '--agent-token',
    TOKEN,
    '--agent-ttl',
    '1',
  ]);
});

afterEach(async () => {
  // Whatever a function process logged (Hush's lines, INIT, errors) names secrets, never a value.
  // (Only a count is reported: printing the output would print the leak.)
  const leaked = envs.filter((e) => /CANARY|Q0FOQVJZ|43414e415259/i.test(e.output)).length;
  await Promise.all(envs.splice(0).map((e) => e.close()));
  expect(leaked).toBe(0);
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

const calls = (): Promise<number> => valueCalls(emu);

function agentPort(): string {
  return new URL(emu.agentUrl!).port;
}

async function lambda(
  handler: string,
  {
    hush = {},
    lambdaOptions,
    env = {},
    ...rest
  }: Partial<LambdaEnvironmentOptions> & {
    hush?: Record<string, unknown>;
    lambdaOptions?: Record<string, unknown>;
  } = {},
): Promise<LambdaEnvironment> {
  const e = await LambdaEnvironment.start({
    dir: fixtures,
    handler,
    env: {
      HUSH_SOURCE: 'aws',
      HUSH_AWS_ENDPOINT: emu.url,
      HUSH_OPTIONS: JSON.stringify({ refreshInterval: '1s', refreshJitter: 0, ...hush }),
      ...(lambdaOptions ? { LAMBDA_OPTIONS: JSON.stringify(lambdaOptions) } : {}),
      ...env,
    },
    ...rest,
  });
  envs.push(e);
  return e;
}

interface Answer {
  value: string;
  pid: number;
  status?: string;
}

/** The value an invoke served (a plain handler's result, or an HTTP response's JSON body). */
function served(result: { ok: boolean; body: unknown }): Answer {
  if (!result.ok) throw new Error(`invoke failed: ${JSON.stringify(result.body)}`);
  const body = result.body as { statusCode?: number; body?: string } & Answer;
  if (typeof body.statusCode === 'number') return JSON.parse(body.body!) as Answer;
  return body;
}

/** Rotates while the environment is frozen, lets the refresh interval pass, and invokes once. */
async function rotateDuringFreeze(e: LambdaEnvironment, event: unknown = {}, freezeMs = 1_300) {
  const next = await rotate();
  await sleep(freezeMs);
  const before = await calls();
  const result = await e.invoke(event);
  return { next, result, fetches: (await calls()) - before };
}

describe('@hush/lambda under a Lambda runtime (frozen between invokes)', () => {
  test('without withSecrets the first invoke after a freeze serves the old version (the bug this package fixes)', async () => {
    const e = await lambda('plain.handler');
    await e.waitForInit();
    const first = served(await e.invoke({}));
    expect(first.value).toBe(value(version));
    const old = first.value;
    // Any real network round trip (here 400 ms) is slower than the event handed over on thaw.
    await emu.control('POST', 'faults', { latencyMs: 400, times: 1 });
    const { next, result } = await rotateDuringFreeze(e);
    // The overdue timer fires on thaw, but the handler reads before its fetch lands.
    expect(served(result).value).toBe(old);
    expect(next).not.toBe(old);
  });

  test('ESM, top-level await: a rotation during a freeze is served on the first invoke after it, with one fetch', async () => {
    const e = await lambda('esm.handler');
    await e.waitForInit();
    expect(e.output).toContain('[fixture] loaded at INIT');
    const first = served(await e.invoke({}));
    expect(first.value).toBe(value(version));

    for (let i = 0; i < 2; i++) {
      const { next, result, fetches } = await rotateDuringFreeze(e);
      expect(served(result).value).toBe(next);
      // The timer that fired on thaw and the invoke shared one fetch.
      expect(fetches).toBe(1);
    }
    // Nothing due: no fetch.
    const before = await calls();
    expect(served(await e.invoke({})).value).toBe(value(version));
    expect(await calls()).toBe(before);
    expect(e.freezes).toBeGreaterThanOrEqual(3);
    expect(e.procs).toHaveLength(1);
  });

  test('CommonJS: INIT loads nothing; the first invoke loads, later ones refresh before the handler', async () => {
    const before = await calls();
    const e = await lambda('cjs.handler');
    await e.waitForInit();
    await sleep(200);
    expect(await calls()).toBe(before);
    expect(served(await e.invoke({})).value).toBe(value(version));
    const { next, result } = await rotateDuringFreeze(e);
    expect(served(result).value).toBe(next);
  });

  test('Middy: secretsMiddleware serves the rotated value on the first invoke after the freeze', async () => {
    const e = await lambda('middy.handler');
    await e.waitForInit();
    expect(served(await e.invoke({})).value).toBe(value(version));
    const { next, result, fetches } = await rotateDuringFreeze(e);
    expect(served(result).value).toBe(next);
    expect(fetches).toBe(1);
  });

  test('an Express app (createSecrets) through @codegenie/serverless-express', async () => {
    const e = await lambda('express.handler');
    await e.waitForInit();
    expect(served(await e.invoke(httpGet('/secret'))).value).toBe(value(version));
    const { next, result } = await rotateDuringFreeze(e, httpGet('/secret'));
    expect(served(result).value).toBe(next);
  });

  test('a Nest app (SecretsModule) through @codegenie/serverless-express', async () => {
    const e = await lambda('nest.handler');
    await e.waitForInit(20_000);
    expect(served(await e.invoke(httpGet('/secret'))).value).toBe(value(version));
    const { next, result } = await rotateDuringFreeze(e, httpGet('/secret'));
    expect(served(result).value).toBe(next);
  });

  test('a freeze longer than maxStaleness: the invoke refreshes first, the handler sees a fresh value and health up', async () => {
    const e = await lambda('esm.handler', { hush: { maxStaleness: '1s' } });
    await e.waitForInit();
    served(await e.invoke({}));
    const { next, result } = await rotateDuringFreeze(e, {}, 1_600);
    const answer = served(result);
    expect(answer.value).toBe(next);
    expect(answer.status).toBe('up');
  });

  test('a source that hangs at a due invoke: the last good value within about twice refreshTimeout', async () => {
    const e = await lambda('esm.handler', { lambdaOptions: { refreshTimeout: 300 } });
    await e.waitForInit();
    const good = served(await e.invoke({})).value;
    await emu.control('POST', 'faults', { hang: true });
    await sleep(1_300);
    const result = await e.invoke({});
    expect(served(result).value).toBe(good);
    // 2 × 300 ms plus a thaw; the store's own fetchTimeout (30 s) would be far longer.
    expect(result.ms).toBeLessThan(3_000);
  });

  // A request signed before a freeze and sent after it fails with "Signature expired" (middy #1123,
  // aws-sdk-js-v3 #4429). The SDK's standard retry re-signs and re-sends it (smithy's
  // isTransientError names this case); this pins that the invoke still gets the rotated value.
  test('a refresh rejected with an expired signature is re-sent, re-signed, in the same invoke', async () => {
    const e = await lambda('esm.handler');
    await e.waitForInit();
    served(await e.invoke({}));
    await emu.control('POST', 'faults', {
      error: 'InvalidSignatureException',
      message: 'Signature expired: 20261206T170000Z is now earlier than 20261206T170500Z (20261206T171000Z - 5 min.)',
      status: 400,
      times: 1,
    });
    const { next, result, fetches } = await rotateDuringFreeze(e);
    expect(served(result).value).toBe(next);
    expect(fetches).toBe(2);
  });

  test('INIT over its time limit is run again at the first invoke, which is served', async () => {
    // The first load's batch call answers after the INIT limit; Lambda kills INIT and re-runs it
    // under the function timeout at the first invoke.
    await emu.control('POST', 'faults', { operation: 'BatchGetSecretValue', latencyMs: 2_500, times: 1 });
    const e = await lambda('esm.handler', { initTimeoutMs: 1_000 });
    const result = await e.invoke({});
    expect(e.initTimeouts).toBe(1);
    expect(e.procs).toHaveLength(2);
    expect(served(result).value).toBe(value(version));
  });

  test('Lambda extension: PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, AWS_SESSION_TOKEN, listening only after INIT began', async () => {
    // The extension registers, the runtime's INIT starts, and only then does the extension listen:
    // here a second emulator whose agent endpoint opens on that port 400 ms after the spawn.
    const port = await freePort();
    const e = await lambda('esm.handler', {
      env: { HUSH_SOURCE: 'agent', PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port), AWS_SESSION_TOKEN: TOKEN },
    });
    await sleep(400);
    const extension = await startEmulatorProcess({ [ID]: value(1) }, [
      '--agent-port',
      String(port),
      '--agent-token',
      TOKEN,
      '--agent-ttl',
      '1',
    ]);
    try {
      await e.waitForInit();
      expect(e.initErrors).toEqual([]);
      expect(served(await e.invoke({})).value).toBe(value(1));
      // SECRETS_MANAGER_TTL (here 1 s) stacks on refreshInterval (1 s): after both, the rotation is seen.
      await extension.control('POST', `secrets/${encodeURIComponent(ID)}`, { value: value(99) });
      await sleep(2_300);
      expect(served(await e.invoke({})).value).toBe(value(99));
      expect(e.output).not.toContain('ECONNREFUSED');
    } finally {
      await extension.stop();
    }
  });

  test('Lambda extension with SECRETS_MANAGER_TTL=0: a rotation during a freeze is served on the first invoke after it', async () => {
    // The README's advice for the two stacked caches; with the default TTL (300 s) the same
    // invoke serves the extension's cached copy.
    const extension = await startEmulatorProcess({ [ID]: value(1) }, [
      '--agent-port',
      '0',
      '--agent-token',
      TOKEN,
      '--agent-ttl',
      '0',
    ]);
    try {
      const e = await lambda('esm.handler', {
        env: {
          HUSH_SOURCE: 'agent',
          PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: new URL(extension.agentUrl!).port,
          AWS_SESSION_TOKEN: TOKEN,
        },
      });
      await e.waitForInit();
      expect(served(await e.invoke({})).value).toBe(value(1));
      for (const n of [31, 32]) {
        await extension.control('POST', `secrets/${encodeURIComponent(ID)}`, { value: value(n) });
        await sleep(1_300);
        expect(served(await e.invoke({})).value).toBe(value(n));
      }
    } finally {
      await extension.stop();
    }
  });

  test('SnapStart: the extension token comes from AWS_CONTAINER_AUTHORIZATION_TOKEN when AWS_SESSION_TOKEN is absent', async () => {
    const e = await lambda('esm.handler', {
      env: {
        HUSH_SOURCE: 'agent',
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: agentPort(),
        AWS_CONTAINER_AUTHORIZATION_TOKEN: TOKEN,
      },
    });
    await e.waitForInit();
    expect(e.initErrors).toEqual([]);
    expect(served(await e.invoke({})).value).toBe(value(version));
  });

  test.each([
    ['esm.handler', 'aws'],
    ['esm.handler', 'agent'],
    ['middy.handler', 'agent'],
  ])(
    'SIGTERM (sent when an extension is registered) closes the store and still ends the process: %s, %s source',
    async (handler, source) => {
      const e = await lambda(handler, {
        env: { HUSH_SOURCE: source, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: agentPort(), AWS_SESSION_TOKEN: TOKEN },
      });
      await e.waitForInit();
      served(await e.invoke({}));
      const proc = await e.shutdown();
      expect(proc.signal).toBe('SIGTERM');
      expect(proc.output).toContain('Secret store closed');
    },
  );

  test("SIGTERM with the app's own process.once listener: the store closes and the app still ends the process its way", async () => {
    const e = await lambda('sigterm-once.handler');
    await e.waitForInit();
    served(await e.invoke({}));
    const proc = await e.shutdown();
    expect(proc.output).toContain('Secret store closed');
    expect(proc.output).toContain('[app] flushed');
    expect({ code: proc.exitCode, signal: proc.signal }).toEqual({ code: 0, signal: null });
  });

  // Lambda gives the runtime about 300 ms after SIGTERM; an app that handles the signal itself
  // (Nest's shutdown hooks run the app's hooks, then re-raise it) must get to finish.
  test("SIGTERM in a Nest app with shutdown hooks: the app's hooks finish before the process ends", async () => {
    const e = await lambda('nest.handler', { env: { NEST_SHUTDOWN_HOOKS: '1' } });
    await e.waitForInit(20_000);
    served(await e.invoke(httpGet('/secret')));
    const proc = await e.shutdown();
    expect(proc.output).toContain('[app] shutdown hook done (SIGTERM)');
    expect(proc.signal).toBe('SIGTERM');
  });
});
