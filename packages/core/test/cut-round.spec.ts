import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import {
  awsSecretsManager,
  defineSecrets,
  SecretFetchError,
  SecretsLoadError,
  SecretStore,
  type SecretDeclarations,
  type Source,
} from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { recordingLogger } from '../../../test/support';

/**
 * A round cut by its deadline keeps what arrived before the cut (c7c6b4a): attacks on what it
 * keeps (failures too), on close(), and on call counts. Real SDK over HTTP to the emulator.
 */
const logger = recordingLogger();
const { lines } = logger;

const seed: Record<string, string> = {};
for (let i = 0; i < 25; i++) seed[`prod/cut/s${i}`] = `cut-CANARY-${i}`;

let emu: Emulator;
const clients: SecretsManagerClient[] = [];

function client(): SecretsManagerClient {
  const c = new SecretsManagerClient({ ...emu.clientConfig(), retryStrategy: new ConfiguredRetryStrategy(3, () => 5) });
  clients.push(c);
  return c;
}

/** 25 declarations s0–s24: one BatchGetSecretValue of 20 (s0–s19), one of 5 (s20–s24). */
function decls(ids: Record<number, string> = {}): SecretDeclarations {
  const d: Record<string, string> = {};
  for (let i = 0; i < 25; i++) d[`s${i}`] = ids[i] ?? `prod/cut/s${i}`;
  return defineSecrets(d);
}

/** The call of 5 (the one holding s22) never answers. */
const hangCallOf5 = () => emu.injectFault({ operation: 'BatchGetSecretValue', secretId: 'prod/cut/s22', hang: true });

beforeAll(async () => {
  emu = await startEmulator({ seed });
});
afterEach(() => {
  emu.clearFaults();
  emu.resetCalls();
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await emu.close();
  expect(lines.join('\n')).not.toContain('CANARY');
});

describe('a round cut by its deadline keeps the answers that arrived (one batch call of two hangs)', () => {
  it('at load, keeps the 20 answers that came back: only the 5 secrets of the hung call fail', async () => {
    hangCallOf5();
    const store = new SecretStore(decls(), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      fetchTimeout: 400,
      bootTimeout: 1_500,
      logger,
    });
    const error: unknown = await store.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsLoadError);
    const failures = (error as SecretsLoadError).failures;
    expect(failures.map((f) => f.name).sort()).toEqual(['s20', 's21', 's22', 's23', 's24']);
    expect(new Set(failures.map((f) => f.code))).toEqual(new Set(['TimeoutError']));
    await store.close();
  });

  it('on refresh, applies the new versions the other call brought and keeps the last good value of the rest', async () => {
    const store = new SecretStore(decls(), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      minRefreshInterval: 0,
      fetchTimeout: 400,
      logger,
    });
    await store.load();
    emu.putSecret('prod/cut/s3', 'cut-CANARY-3-new');
    emu.putSecret('prod/cut/s22', 'cut-CANARY-22-new');
    hangCallOf5();
    await store.refresh();
    expect(store.get('s3')).toBe('cut-CANARY-3-new');
    expect(store.health().secrets['s3']?.status).toBe('fresh');
    expect(store.get('s22')).toBe('cut-CANARY-22');
    expect(store.health().secrets['s22']?.error).toBe('TimeoutError');
    emu.clearFaults();
    emu.putSecret('prod/cut/s3', 'cut-CANARY-3');
    emu.putSecret('prod/cut/s22', 'cut-CANARY-22');
    await store.close();
  });
});

describe('a round cut by its deadline keeps the failures that arrived before the cut', () => {
  it('at load, a secret the answered call reported missing fails with ResourceNotFoundException, not TimeoutError', async () => {
    hangCallOf5();
    const store = new SecretStore(decls({ 5: 'prod/cut/absent' }), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      fetchTimeout: 400,
      bootTimeout: 1_500,
      logger,
    });
    const error: unknown = await store.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsLoadError);
    const codes = Object.fromEntries((error as SecretsLoadError).failures.map((f) => [f.name, f.code]));
    expect(codes).toEqual({
      s5: 'ResourceNotFoundException',
      s20: 'TimeoutError',
      s21: 'TimeoutError',
      s22: 'TimeoutError',
      s23: 'TimeoutError',
      s24: 'TimeoutError',
    });
    await store.close();
  });

  it('on refresh, a secret the answered call reported throttled stays throttled (not a timeout)', async () => {
    const store = new SecretStore(decls(), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      minRefreshInterval: 0,
      fetchTimeout: 400,
      logger,
    });
    await store.load();
    emu.injectFault({
      operation: 'BatchGetSecretValue',
      secretId: 'prod/cut/s3',
      error: 'ThrottlingException',
      perSecret: true,
    });
    hangCallOf5();
    await store.refresh();
    const health = store.health().secrets;
    expect(health['s3']?.error).toBe('ThrottlingException');
    expect(health['s4']?.error).toBeUndefined();
    expect(health['s22']?.error).toBe('TimeoutError');
    await store.close();
  });
});

describe('a source of your own cut by the deadline', () => {
  it('an id it leaves without a result, or fails with an error caused by the abort, is a timeout; its other answers are kept', async () => {
    let cut = false;
    // Once `cut`, it answers only at the abort, with what it has: `a` answered, `b` left without
    // a result, `c` failed with an error caused by the signal's reason, `d` denied before the cut.
    const source: Source = {
      kind: 'own',
      fetch: (requests, { signal }) =>
        !cut
          ? Promise.resolve(
              requests.map((r) => ({ ok: true, secret: { versionId: 'v1', string: `own-CANARY-${r.id}` } })),
            )
          : new Promise((resolve) => {
              const d = new SecretFetchError('d', 'AccessDeniedException', 'denied', { retryable: false });
              signal.addEventListener('abort', () =>
                resolve([
                  { ok: true, secret: { versionId: 'v2', string: 'own-CANARY-a2' } },
                  undefined as never,
                  {
                    ok: false,
                    error: new SecretFetchError('c', 'UnknownError', 'cut', { retryable: true, cause: signal.reason }),
                  },
                  { ok: false, error: d },
                ]),
              );
            }),
    };
    const store = new SecretStore(defineSecrets({ a: 'a', b: 'b', c: 'c', d: 'd' }), {
      source,
      refreshInterval: false,
      minRefreshInterval: 0,
      fetchTimeout: 200,
      logger,
    });
    await store.load();
    cut = true;
    await store.refresh();
    const health = store.health().secrets;
    expect(store.get('a')).toBe('own-CANARY-a2');
    expect(health['a']?.error).toBeUndefined();
    expect(health['b']?.error).toBe('TimeoutError');
    expect(health['c']?.error).toBe('TimeoutError');
    expect(health['d']?.error).toBe('AccessDeniedException');
    expect(store.get('d')).toBe('own-CANARY-d');
    await store.close();
  });
});

describe('a cut round during load still reports the real cause of what it cut', () => {
  it('the call of 5 answered 500 in the first round and hangs after: its secrets report the 500, the other 20 load', async () => {
    emu.injectFault({
      operation: 'BatchGetSecretValue',
      secretId: 'prod/cut/s22',
      error: 'InternalServiceError',
      times: 4,
    });
    hangCallOf5();
    const store = new SecretStore(decls(), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      fetchTimeout: 300,
      bootTimeout: 1_200,
      logger,
    });
    const error: unknown = await store.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsLoadError);
    const failures = (error as SecretsLoadError).failures;
    expect(failures.map((f) => f.name).sort()).toEqual(['s20', 's21', 's22', 's23', 's24']);
    expect(new Set(failures.map((f) => f.code))).toEqual(new Set(['InternalServiceError']));
    expect(store.health().secrets['s19']?.status).toBe('fresh');
    await store.close();
  });

  it('a failure that came before the cut quoting a value of the store is withheld like any other', async () => {
    const store = new SecretStore(decls(), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      minRefreshInterval: 0,
      fetchTimeout: 300,
      logger,
    });
    await store.load();
    const events: unknown[] = [];
    store.onEvent((e) => events.push(e));
    emu.injectFault({
      operation: 'BatchGetSecretValue',
      secretId: 'prod/cut/s3',
      error: 'DecryptionFailure',
      message: 'cannot decrypt next to cut-CANARY-7 and "cut-CANARY-9\\n"',
      perSecret: true,
    });
    hangCallOf5();
    await store.refresh();
    const health = store.health();
    expect(health.secrets['s3']?.error).toBe('DecryptionFailure');
    const seen = JSON.stringify([health, events, lines]);
    expect(seen).not.toContain('CANARY');
    expect(seen).not.toContain(Buffer.from('cut-CANARY-7').toString('base64').slice(0, 12));
    await store.close();
  });
});

describe('close() is not held by the settle window', () => {
  // Without the fix close() waited out the window (100 ms): 102 ms, and 86–88 ms when called
  // inside it. Under 95 ms holds that apart from a loaded machine's slow turns.
  const SETTLE_MS = 100;

  /** A loaded store whose source then hangs, ignoring the signal; `aborted` settles when a round's signal aborts. */
  async function deafStore(fetchTimeout: number) {
    let hang = false;
    let onAbort!: () => void;
    const aborted = new Promise<void>((resolve) => (onAbort = resolve));
    const source: Source = {
      kind: 'deaf',
      fetch: (requests, { signal }) => {
        if (!hang)
          return Promise.resolve(
            requests.map(() => ({ ok: true, secret: { versionId: 'v1', string: 'deaf-CANARY' } })),
          );
        signal.addEventListener('abort', onAbort, { once: true });
        return new Promise(() => undefined);
      },
    };
    const store = new SecretStore(defineSecrets({ a: 'a', b: 'b' }), {
      source,
      refreshInterval: false,
      minRefreshInterval: 0,
      fetchTimeout,
      logger,
    });
    await store.load();
    hang = true;
    const refreshing = store.refresh().catch(() => undefined);
    return { store, aborted, refreshing };
  }

  async function timedClose(store: { close(): Promise<void> }): Promise<number> {
    const started = performance.now();
    await store.close();
    return performance.now() - started;
  }

  it('close() during a round whose source ignores the signal resolves at once', async () => {
    const { store, refreshing } = await deafStore(5_000);
    await new Promise((resolve) => setImmediate(resolve));
    const took = await timedClose(store);
    await refreshing;
    expect(took).toBeLessThan(SETTLE_MS - 5);
  });

  it('close() while a cut round waits for its source (which ignores the signal) resolves at once', async () => {
    const { store, aborted, refreshing } = await deafStore(200);
    await aborted; // the deadline fired: the round now waits up to 100 ms for the source
    const took = await timedClose(store);
    await refreshing;
    expect(took).toBeLessThan(SETTLE_MS - 5);
  });
});

describe('a plain node process whose source hangs and ignores the signal (holding no handle)', () => {
  // The source's promise never settles and holds nothing: only the store's own timers keep the process alive.
  const app = (scenario: 'load' | 'close-in-settle'): string => `
    const { SecretStore, defineSecrets } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
    let hang = ${scenario === 'load'};
    let onAbort = () => {};
    const source = {
      kind: 'deaf',
      fetch: (requests, { signal }) => {
        if (!hang) return Promise.resolve(requests.map((r) => ({ ok: true, secret: { versionId: 'v1', string: 'proc-CANARY' } })));
        signal.addEventListener('abort', () => onAbort(), { once: true });
        return new Promise(() => {});
      },
    };
    const store = new SecretStore(defineSecrets({ a: 'a', b: 'b' }), {
      source, refreshInterval: false, minRefreshInterval: 0, fetchTimeout: 200, bootTimeout: 700,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    const t0 = performance.now();
    store.load().then(async () => {
      hang = true;
      const refreshing = store.refresh();
      // The deadline fires at 200 ms; the round then waits up to 100 ms for the source.
      await new Promise((resolve) => (onAbort = resolve));
      const c0 = performance.now();
      await store.close();
      process.stdout.write('closed ' + Math.round(performance.now() - c0) + '\\n');
      await refreshing.catch(() => undefined);
      process.on('exit', () => process.stdout.write('exit ' + Math.round(performance.now() - c0) + '\\n'));
    }, (e) => {
      process.stdout.write('failed ' + Math.round(performance.now() - t0) + ' ' + e.failures.map((f) => f.code).join(',') + '\\n');
      process.exitCode = 1;
    });`;

  it('load() fails at bootTimeout (less its last 70 ms, at most ~100 ms after) and the process exits 1', () => {
    const child = spawnSync(process.execPath, ['-e', app('load')], { encoding: 'utf8', timeout: 10_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(1);
    const [, ms, codes] = /^failed (\d+) (\S+)\n$/.exec(child.stdout) ?? [];
    expect(codes).toBe('TimeoutError,TimeoutError');
    // A round is not started with less than min(1 s, bootTimeout / 10, fetchTimeout) = 70 ms left
    // (README): load() may end that much before bootTimeout (634 ms seen), and timers may fire a
    // few ms early.
    expect(Number(ms)).toBeGreaterThanOrEqual(700 - 70 - 10);
    // bootTimeout, the 100 ms settle window, and a loaded machine's slack.
    expect(Number(ms)).toBeLessThan(700 + 100 + 500);
  });

  it('close() inside the settle window resolves at once and nothing holds the process after it', () => {
    const child = spawnSync(process.execPath, ['-e', app('close-in-settle')], { encoding: 'utf8', timeout: 10_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const [, closed, exited] = /^closed (\d+)\nexit (\d+)\n$/.exec(child.stdout) ?? [];
    // Without the fix close() waited out the 100 ms window (88 ms measured).
    expect(Number(closed)).toBeLessThan(95);
    expect(Number(exited)).toBeLessThan(95);
  });
});
