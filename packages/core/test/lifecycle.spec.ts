/**
 * Lifecycle guarantees of the store (issue 12, points 1–5): awaited timers keep the process
 * alive, close() settles everything pending, deadlines hold against sources that ignore the
 * abort signal, load() reports the real cause, optional secrets do not hold boot.
 * test/field/ checks the same promises with the app as its own `node` process.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import {
  awsSecretsManager,
  defineSecrets,
  memorySource,
  mountedFiles,
  SecretFetchError,
  SecretsLoadError,
  SecretsStoreClosedError,
  SecretStore,
  type FetchOutcome,
  type SecretRequest,
  type Source,
} from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { boundedFs, MAX_FS_CALLS } from '../src/sources/bounded-fs';
import { recordingLogger, waitFor } from '../../../test/support';

const logger = recordingLogger();

/** Timers that keep the event loop alive right now (unref'd ones are not listed). */
/**
 * Counts the pending timers created since `trackTimers()` that keep the process alive (`hasRef()`),
 * so the check sees the store's own timers, not whatever else the test process has running.
 */
function trackTimers(): { refd: () => number; restore: () => void } {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const pending = new Set<NodeJS.Timeout>();
  const set = jest.spyOn(globalThis, 'setTimeout').mockImplementation(((
    fn: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const timer: NodeJS.Timeout = realSet(
      (...a: unknown[]) => {
        pending.delete(timer);
        fn(...a);
      },
      ms,
      ...args,
    );
    pending.add(timer);
    return timer;
  }) as unknown as typeof setTimeout);
  const clear = jest.spyOn(globalThis, 'clearTimeout').mockImplementation(((timer?: NodeJS.Timeout) => {
    if (timer) pending.delete(timer);
    realClear(timer);
  }) as typeof clearTimeout);
  return {
    refd: () => [...pending].filter((t) => t.hasRef()).length,
    restore: () => {
      set.mockRestore();
      clear.mockRestore();
    },
  };
}

/** A source that fails every id with a retryable `code` after `delayMs`, until `heal()`. */
function failingSource(code = 'ECONNREFUSED', delayMs = 0) {
  const ok = memorySource({ a: 'value-a', b: 'value-b' });
  const state = { calls: 0, healed: false, failIds: undefined as Set<string> | undefined };
  const source: Source = {
    kind: 'failing',
    async fetch(requests: readonly SecretRequest[]): Promise<readonly FetchOutcome[]> {
      state.calls++;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const good = await ok.fetch(requests);
      return requests.map((r, i) =>
        !state.healed && (state.failIds === undefined || state.failIds.has(r.id))
          ? { ok: false, error: new SecretFetchError(r.id, code, 'connect failed', { retryable: true }) }
          : good[i]!,
      );
    },
  };
  return { source, state, heal: () => void (state.healed = true) };
}

/** A source whose fetch never settles and ignores the abort signal. */
function hungSource(): Source & { calls: number } {
  return {
    kind: 'hung',
    calls: 0,
    fetch() {
      this.calls++;
      return new Promise<never>(() => undefined);
    },
  };
}

describe('awaited timers keep the process alive; the background loop does not (point 1)', () => {
  it('holds a ref while load() waits out startupJitter, and none once loaded', async () => {
    const timers = trackTimers();
    try {
      const store = new SecretStore(defineSecrets({ a: 'a' }), {
        source: memorySource({ a: 'v' }),
        startupJitter: 200,
        logger,
      });
      // Math.random() * 200 may be tiny: look right away, before the jitter can end.
      const loading = store.load();
      const during = timers.refd();
      await loading;
      expect(during).toBeGreaterThan(0);
      // The refresh timer is unref'd.
      await waitFor(() => timers.refd() === 0, 2_000, "no ref'd timer left by the loaded store");
      await store.close();
    } finally {
      timers.restore();
    }
  });

  it('holds a ref while load() backs off after a retryable failure', async () => {
    const { source, state, heal } = failingSource();
    // Every backoff sleep is its full cap (300 ms), so there is a window to look in.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.999);
    const timers = trackTimers();
    try {
      const store = new SecretStore(defineSecrets({ a: 'a' }), {
        source,
        backoff: { initial: 300 },
        bootTimeout: 10_000,
        logger,
      });
      const loading = store.load();
      await waitFor(() => state.calls >= 1, 2_000, 'the first round');
      await waitFor(() => timers.refd() > 0, 250, "a ref'd backoff timer");
      heal();
      await loading;
      await waitFor(() => timers.refd() === 0, 2_000, "no ref'd timer left by the loaded store");
      await store.close();
    } finally {
      timers.restore();
      random.mockRestore();
    }
  });

  it('holds a ref while a forced refresh waits for minRefreshInterval', async () => {
    const store = new SecretStore(defineSecrets({ a: 'a' }), {
      source: memorySource({ a: 'v' }),
      minRefreshInterval: 300,
      logger,
    });
    await store.load();
    const timers = trackTimers();
    try {
      const deferred = store.refresh(); // within minRefreshInterval of the load's fetch: deferred
      await waitFor(() => timers.refd() > 0, 250, "a ref'd deferral timer");
      await deferred;
      await store.close();
    } finally {
      timers.restore();
    }
  });
});

describe('close() settles everything pending (point 2)', () => {
  it('rejects a load() waiting out startupJitter', async () => {
    const store = new SecretStore(defineSecrets({ a: 'a' }), {
      source: memorySource({ a: 'v' }),
      startupJitter: '1h',
      logger,
    });
    const loading = store.load();
    const t0 = performance.now();
    await store.close();
    await expect(loading).rejects.toBeInstanceOf(SecretsStoreClosedError);
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it('rejects a load() sleeping between retry rounds', async () => {
    const { source, state } = failingSource();
    const store = new SecretStore(defineSecrets({ a: 'a' }), {
      source,
      backoff: { initial: '1h', max: '1h' },
      bootTimeout: '1h',
      logger,
    });
    let failedRounds = 0;
    store.onEvent((e) => void (e.type === 'refresh-failed' && failedRounds++));
    const loading = store.load();
    loading.catch(() => undefined);
    await waitFor(() => failedRounds >= 1 && state.calls === 1, 2_000, 'the first round to fail');
    await new Promise((r) => setImmediate(r)); // now sleeping before round 2
    await store.close();
    await expect(loading).rejects.toBeInstanceOf(SecretsStoreClosedError);
  });

  it('rejects refresh() calls deferred by minRefreshInterval', async () => {
    const store = new SecretStore(defineSecrets({ a: 'a', b: 'b' }), {
      source: memorySource({ a: 'v', b: 'w' }),
      minRefreshInterval: '1h',
      logger,
    });
    await store.load();
    const first = store.refresh('a');
    const second = store.refresh('b');
    first.catch(() => undefined);
    second.catch(() => undefined);
    await store.close();
    await expect(first).rejects.toBeInstanceOf(SecretsStoreClosedError);
    await expect(second).rejects.toBeInstanceOf(SecretsStoreClosedError);
  });
});

describe('deadlines hold when a source ignores the abort signal (point 3)', () => {
  it('bootTimeout wins over a fetch that never settles, and close() is not blocked', async () => {
    const source = hungSource();
    const store = new SecretStore(defineSecrets({ a: 'a' }), { source, bootTimeout: 300, logger });
    const t0 = performance.now();
    const error = await store.load().catch((e: unknown) => e);
    const took = performance.now() - t0;
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect((error as SecretsLoadError).failures[0]?.code).toBe('TimeoutError');
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1_500);
    const closing = store.close();
    await expect(closing).resolves.toBeUndefined();
  });

  it('close() during a hung load rejects the load at once', async () => {
    const source = hungSource();
    const store = new SecretStore(defineSecrets({ a: 'a' }), { source, bootTimeout: '1h', logger });
    const loading = store.load();
    loading.catch(() => undefined);
    await waitFor(() => source.calls >= 1, 2_000, 'the fetch to start');
    const t0 = performance.now();
    await store.close();
    await expect(loading).rejects.toBeInstanceOf(SecretsStoreClosedError);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('fetchTimeout wins over a refresh that never settles; the good value stays', async () => {
    let hang = false;
    const good = memorySource({ a: 'v' });
    const source: Source = {
      kind: 'sometimes-hung',
      fetch: (requests) => (hang ? new Promise<never>(() => undefined) : good.fetch(requests)),
    };
    const store = new SecretStore(defineSecrets({ a: 'a' }), {
      source,
      fetchTimeout: 200,
      minRefreshInterval: 0,
      logger,
    });
    await store.load();
    hang = true;
    const t0 = performance.now();
    await store.refresh();
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(store.get('a')).toBe('v');
    expect(store.health().secrets.a?.error).toBe('TimeoutError');
    await store.close();
  });

  describe('with a SecretsManagerClient wrapper that drops abortSignal', () => {
    let emu: Emulator;
    let client: SecretsManagerClient;
    beforeAll(async () => {
      emu = await startEmulator({ seed: { 'app/a': 'value-a' } });
      client = new SecretsManagerClient({ ...emu.clientConfig(), retryStrategy: new ConfiguredRetryStrategy(1) });
    });
    afterAll(async () => {
      client.destroy();
      await emu.close();
    });

    it('load() rejects at bootTimeout although the emulator never answers', async () => {
      emu.injectFault({ hang: true });
      // What a user's logging or tracing wrapper often looks like: the options are not passed on.
      const wrapper = { send: (command: unknown) => client.send(command as never) };
      const store = new SecretStore(defineSecrets({ a: 'app/a' }), {
        source: awsSecretsManager({ client: wrapper }),
        bootTimeout: 400,
        logger,
      });
      const t0 = performance.now();
      const error = await store.load().catch((e: unknown) => e);
      expect(performance.now() - t0).toBeLessThan(2_000);
      expect((error as SecretsLoadError).failures[0]?.code).toBe('TimeoutError');
      await store.close();
      emu.clearFaults();
      await emu.pause();
      await emu.resume();
    });
  });
});

describe('mountedFiles on FIFOs: deadlines hold and libuv threads stay free (point 3)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hush-fifo-'));
  const fifos = Array.from({ length: 6 }, (_, i) => join(dir, `pipe-${i}`));
  beforeAll(() => {
    writeFileSync(join(dir, 'good'), 'good-value');
    execFileSync('mkfifo', fifos);
  });
  afterAll(() => {
    // Release any reader still blocked in open(): a writer that opens without blocking meets it.
    for (let round = 0; round < 20; round++) {
      for (const fifo of fifos) {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // ENXIO: no reader is waiting on this one.
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails six FIFO-named secrets at once, within bootTimeout, while unrelated fs and dns keep working', async () => {
    const decls: Record<string, string> = { good: 'good' };
    fifos.forEach((_, i) => (decls[`pipe${i}`] = `pipe-${i}`));
    const store = new SecretStore(defineSecrets(decls), {
      source: mountedFiles({ dir, watch: false, pollInterval: false, settle: 0 }),
      bootTimeout: 1_000,
      logger,
    });
    const t0 = performance.now();
    const loading = store.load().catch((e: unknown) => e);
    // Four blocked reads would take every libuv thread: these would then never answer.
    const probe = (what: Promise<unknown>) =>
      Promise.race([what.then(() => 'answered'), new Promise((r) => setTimeout(() => r('starved'), 800))]);
    expect(await probe(stat(join(dir, 'good')))).toBe('answered');
    expect(await probe(lookup('localhost'))).toBe('answered');
    const error = (await loading) as SecretsLoadError;
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect(error.failures.map((f) => f.name)).toEqual(fifos.map((_, i) => `pipe${i}`));
    expect(new Set(error.failures.map((f) => f.code))).toEqual(new Set(['NotARegularFile']));
    expect(error.message).toContain('not a regular file');
    const closing = performance.now();
    await store.close();
    expect(performance.now() - closing).toBeLessThan(200);
  });
});

describe('blocking file-system calls are bounded (point 3, a hung mount)', () => {
  it('lets at most MAX_FS_CALLS calls that never return hold libuv threads; the rest wait and end with the signal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hush-hung-'));
    // open(O_RDONLY) of a FIFO without a writer blocks its thread, like a read of a hung NFS mount.
    const fifos = Array.from({ length: 6 }, (_, i) => join(dir, `hung-${i}`));
    execFileSync('mkfifo', fifos);
    const handles: FileHandle[] = [];
    const abort = new AbortController();
    const calls = fifos.map((f) => boundedFs(() => open(f, 'r').then((h) => (handles.push(h), h)), abort.signal));
    for (const c of calls) c.catch(() => undefined);
    try {
      const probe = (what: Promise<unknown>) =>
        Promise.race([what.then(() => 'answered'), new Promise((r) => setTimeout(() => r('starved'), 800))]);
      expect(await probe(stat(dir))).toBe('answered');
      expect(await probe(lookup('localhost'))).toBe('answered');
      abort.abort(new Error('deadline'));
      const settled = await Promise.allSettled(calls);
      expect(settled.map((r) => r.status)).toEqual(fifos.map(() => 'rejected'));
    } finally {
      // A writer that opens without blocking meets each reader still blocked in open().
      let blocked = 0;
      for (const fifo of fifos) {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
          blocked++;
        } catch {
          // ENXIO: no reader on this one (its call waited for a slot and was never started).
        }
      }
      await waitFor(() => handles.length === blocked, 2_000, 'the blocked opens to return');
      for (const h of handles) await h.close();
      rmSync(dir, { recursive: true, force: true });
      expect(blocked).toBe(MAX_FS_CALLS);
    }
    // Both slots came back when the hung calls returned.
    await expect(boundedFs(() => stat(tmpdir()))).resolves.toBeDefined();
  });
});

describe('load() reports the real cause (point 4)', () => {
  it('names ECONNREFUSED, not "no answer within 1 ms", in 20 of 20 boots', async () => {
    const errors = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const { source } = failingSource('ECONNREFUSED', 3 + Math.random() * 10);
        const store = new SecretStore(defineSecrets({ a: 'a' }), {
          source,
          bootTimeout: 300,
          backoff: { initial: 20, max: 60 },
          logger,
        });
        const error = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
        await store.close();
        return error;
      }),
    );
    const codes = errors.map((e) => e.failures[0]?.code);
    expect(codes).toEqual(Array.from({ length: 20 }, () => 'ECONNREFUSED'));
    for (const e of errors) expect(e.message).not.toMatch(/within 1 ms/);
  });
});

describe('optional secrets do not hold boot (point 5)', () => {
  it('finishes once required secrets are in; the optional one arrives in the background', async () => {
    const { source, state, heal } = failingSource('InternalServiceError');
    state.failIds = new Set(['b']);
    const store = new SecretStore(defineSecrets({ a: 'a', b: { id: 'b', optional: true } }), {
      source,
      bootTimeout: '30s',
      backoff: { initial: 100, max: 200 },
      logger,
    });
    const t0 = performance.now();
    await store.load();
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(store.get('a')).toBe('value-a');
    expect(store.get('b')).toBeUndefined();
    expect(store.health().secrets.b).toMatchObject({ status: 'missing', error: 'InternalServiceError' });
    heal();
    await waitFor(() => store.get('b') === 'value-b', 5_000, 'the optional secret to load in the background');
    await store.close();
  });
});
