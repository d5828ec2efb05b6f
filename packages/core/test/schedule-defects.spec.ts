import { inspect } from 'node:util';
import {
  defineSecrets,
  mountedFiles,
  SecretFetchError,
  SecretStore,
  type SecretDescription,
  type DescribeOutcome,
  type Duration,
  type FetchContext,
  type FetchOutcome,
  type SecretRequest,
  type Source,
} from '@hush/core';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingLogger } from '../../../test/support';

/**
 * The schedule defects of issue 21 (one test each, failing before the derived schedule): a
 * scripted source on Jest's fake clock, so every wake-up and call is counted, not raced.
 */

type Fault = (id: string) => SecretFetchError | undefined;

/** A source whose values, faults, gate (a held answer) and descriptions the test scripts. */
class ScriptedSource implements Source {
  readonly kind = 'scripted';
  readonly values = new Map<string, { value: string; version: string }>();
  readonly calls: { ids: string[]; at: number; force: boolean }[] = [];
  describes = 0;
  /** While set, every DescribeSecret answer is a failure (throttled, or the permission revoked). */
  describeFails = false;
  fault: Fault | undefined;
  /** While set, answers wait for it (ignoring the abort signal when `deaf`). */
  gate: Promise<void> | undefined;
  deaf = false;
  description: ((id: string) => SecretDescription | 'hang') | undefined;

  set(id: string, value: string): void {
    const n = (this.values.get(id)?.version.split('-')[1] ?? '0') as string;
    this.values.set(id, { value, version: `v-${Number(n) + 1}` });
  }

  callsFor(id: string): number {
    return this.calls.filter((c) => c.ids.includes(id)).length;
  }

  async fetch(requests: readonly SecretRequest[], context: FetchContext): Promise<readonly FetchOutcome[]> {
    this.calls.push({ ids: requests.map((r) => r.id), at: performance.now(), force: context.force });
    // The values are read when the call starts: a held call answers with what was current then.
    const read = requests.map((r) => this.values.get(r.id));
    const fault = this.fault;
    if (this.gate) {
      const gate = this.gate;
      await (this.deaf
        ? gate
        : new Promise<void>((resolve, reject) => {
            void gate.then(resolve);
            context.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          }));
    }
    return requests.map((r, i): FetchOutcome => {
      const error = fault?.(r.id);
      if (error) return { ok: false, error };
      const v = read[i];
      if (!v)
        return {
          ok: false,
          error: new SecretFetchError(r.id, 'ResourceNotFoundException', 'no such secret', { retryable: false }),
        };
      return { ok: true, secret: { versionId: v.version, string: v.value } };
    });
  }

  describe(ids: readonly string[]): Promise<readonly DescribeOutcome[]> {
    this.describes++;
    if (this.describeFails)
      return Promise.resolve(
        ids.map((id) => ({
          ok: false as const,
          error: new SecretFetchError(id, 'ThrottlingException', 'Rate exceeded', { retryable: true, throttled: true }),
        })),
      );
    const answers = ids.map((id) => this.description?.(id));
    if (answers.includes('hang')) return new Promise(() => undefined);
    return Promise.resolve(
      answers.map((d, i) =>
        d && d !== 'hang'
          ? {
              ok: true as const,
              description: { ...d, currentVersionId: d.currentVersionId ?? this.values.get(ids[i]!)?.version },
            }
          : { ok: true as const, description: { rotationEnabled: false } },
      ),
    );
  }
}

const throttled = (id: string) =>
  new SecretFetchError(id, 'ThrottlingException', 'Rate exceeded', { retryable: true, throttled: true });

const stores: { close(): Promise<void> }[] = [];

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-12-06T12:00:00Z') });
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  jest.useRealTimers();
});

function open<S extends SecretStore<any>>(store: S): S {
  stores.push(store);
  return store;
}

describe('the derived schedule: defects of issue 21', () => {
  it('1. a fetch that fails after the scheduled rotation backs off (no storm at the rotation moment)', async () => {
    const source = new ScriptedSource();
    source.set('db', 'pw-1');
    const wall = Date.now();
    source.description = () => ({ rotationEnabled: true, nextRotationDate: new Date(wall + 60_000) });
    const store = open(
      new SecretStore(defineSecrets({ db: 'db' }), {
        source,
        rotationSchedule: { delay: 0, jitter: 0, safetyInterval: '1h' },
        backoff: { initial: 1_000, max: 60_000 },
      }),
    );
    await store.load();
    await jest.advanceTimersByTimeAsync(1_000); // the first schedule read
    expect(source.describes).toBe(1);
    // From the scheduled rotation on, every fetch fails.
    source.fault = throttled;
    const before = source.callsFor('db');
    await jest.advanceTimersByTimeAsync(59_000 + 60_000);
    const calls = source.callsFor('db') - before;
    // Equal-jitter backoff from 1 s doubling: at most ~7 attempts in the minute after the rotation
    // (1 + 0.5 + 1 + 2 + 4 + 8 + 16 + 32 s of minimum waits). Before: thousands.
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(calls).toBeLessThanOrEqual(8);
    const gaps = source.calls.slice(-calls).map((c, i, all) => (i === 0 ? Infinity : c.at - all[i - 1]!.at));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(500);
  });

  it('2. a DescribeSecret that never answers (signal ignored) does not stop background refresh', async () => {
    const source = new ScriptedSource();
    source.set('db', 'pw-1');
    source.description = () => 'hang';
    const store = open(
      new SecretStore(defineSecrets({ db: 'db' }), {
        source,
        rotationSchedule: { safetyInterval: '10m', describeInterval: '1h' },
        fetchTimeout: '5s',
      }),
    );
    await store.load();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(source.describes).toBe(1);
    source.set('db', 'pw-2');
    // The safety poll still runs (and the describe is tried again after its deadline and interval).
    await jest.advanceTimersByTimeAsync(12 * 60_000);
    expect(store.get('db')).toBe('pw-2');
    await jest.advanceTimersByTimeAsync(60 * 60_000);
    expect(source.describes).toBeGreaterThanOrEqual(2);
  });

  it('3. invalidate() is answered by a fetch that started after it, not by a round already in flight', async () => {
    const source = new ScriptedSource();
    source.set('db', 'pw-1');
    const store = open(
      new SecretStore(defineSecrets({ db: 'db' }), { source, refreshInterval: '1m', refreshJitter: 0 }),
    );
    await store.load();
    let release!: () => void;
    source.gate = new Promise((resolve) => (release = resolve));
    await jest.advanceTimersByTimeAsync(60_000); // the background round starts, reads pw-1, and waits
    expect(source.callsFor('db')).toBe(2);
    source.set('db', 'pw-2');
    const invalidated = store.invalidate(['db']);
    release();
    source.gate = undefined;
    await jest.advanceTimersByTimeAsync(5_000);
    await expect(invalidated).resolves.toEqual(['db']);
    expect(store.get('db')).toBe('pw-2');
    expect(source.callsFor('db')).toBe(3);
  });

  it('4. a schedule() while a round is in flight does not spin zero-delay wake-ups', async () => {
    const source = new ScriptedSource();
    source.set('db', 'pw-1');
    source.set('key', 'k-1');
    const store = open(
      new SecretStore(defineSecrets({ db: 'db', key: { id: 'key', refreshInterval: '1h' } }), {
        source,
        refreshInterval: '1m',
        refreshJitter: 0,
        fetchTimeout: '30s',
      }),
    );
    await store.load();
    source.gate = new Promise(() => undefined); // the next round hangs until its deadline
    await jest.advanceTimersByTimeAsync(60_000);
    source.gate = undefined;
    const spy = jest.spyOn(globalThis, 'setTimeout');
    await store.refresh('key'); // a forced refresh of another secret re-arms the timer
    await jest.advanceTimersByTimeAsync(10_000);
    const zeroDelay = spy.mock.calls.filter(([, ms]) => (ms ?? 0) <= 1).length;
    spy.mockRestore();
    // Before: ~1,000 zero-delay wake-ups a (virtual) second while the round was in flight.
    expect(zeroDelay).toBeLessThanOrEqual(3);
  });

  it('5. close() during a rate-limited invalidate() resolves with no names and logs no error', async () => {
    const source = new ScriptedSource();
    source.set('db', 'pw-1');
    const logger = recordingLogger();
    const store = new SecretStore(defineSecrets({ db: 'db' }), { source, minRefreshInterval: '10s', logger });
    await store.load();
    const invalidated = store.invalidate(['db']); // within minRefreshInterval of the load: waits
    await jest.advanceTimersByTimeAsync(1_000);
    await store.close();
    await expect(invalidated).resolves.toEqual([]);
    expect(source.callsFor('db')).toBe(1);
    expect(logger.at('error')).toEqual([]);
  });

  it('13. refreshInterval: false is never stale: health stays up after maxStaleness', async () => {
    const source = new ScriptedSource();
    source.set('db', 'pw-1');
    const store = open(
      new SecretStore(defineSecrets({ db: 'db' }), { source, refreshInterval: false, maxStaleness: '1m' }),
    );
    await store.load();
    await jest.advanceTimersByTimeAsync(2 * 3_600_000);
    expect(store.health()).toMatchObject({ status: 'up', secrets: { db: { status: 'fresh' } } });
    expect(inspect(store.health())).not.toContain('pw-1');
  });
});

const HOUR = 3_600_000;

/**
 * A store loaded while a rotation runs: the load read the version before it ('pw-1'), and the
 * schedule says a rotation is under way (AWSPENDING on another version), the next one a day away.
 */
async function underWayAtLoad(schedule: { safetyInterval: Duration; describeInterval?: Duration }) {
  const source = new ScriptedSource();
  source.set('db', 'pw-1');
  const wall = Date.now();
  source.description = () => ({
    rotationEnabled: true,
    nextRotationDate: new Date(wall + 24 * HOUR),
    rotationPending: true,
  });
  const store = open(
    new SecretStore(defineSecrets({ db: 'db' }), {
      source,
      rotationSchedule: { delay: '1m', jitter: 0, ...schedule },
    }),
  );
  await store.load();
  return { source, store, wall };
}

describe('a DescribeSecret that lands while the known scheduled rotation runs', () => {
  // Found by rotation-schedule.spec under load: its daily describe (describeInterval 24 h) met the
  // daily rotation under way, which already reported the next day's date, and the store dropped the
  // fetch of the rotation running then: seen up to the safety poll later instead of within delay + jitter.
  it('keeps the fetch of the rotation under way (its NextRotationDate already moved on)', async () => {
    const source = new ScriptedSource();
    source.set('db', 'pw-1');
    const wall = Date.now();
    source.description = () => ({ rotationEnabled: true, nextRotationDate: new Date(wall + HOUR) });
    const store = open(
      new SecretStore(defineSecrets({ db: 'db' }), {
        source,
        rotationSchedule: { delay: '1m', jitter: 0, safetyInterval: '6h', describeInterval: '1h' },
      }),
    );
    await store.load();
    await jest.advanceTimersByTimeAsync(1_000); // the first schedule read: the rotation in 1 h
    expect(source.describes).toBe(1);
    // The rotation starts on time; the service already reports the next one and AWSPENDING.
    await jest.advanceTimersByTimeAsync(HOUR - 2_000);
    source.description = () => ({
      rotationEnabled: true,
      nextRotationDate: new Date(wall + 2 * HOUR),
      rotationPending: true,
    });
    const fetchesBefore = source.callsFor('db');
    await jest.advanceTimersByTimeAsync(5_000); // the hourly describe lands now, mid-rotation
    expect(source.describes).toBe(2);
    // The rotation finishes 30 s in; its result is fetched delay (1 min) after the rotation time.
    await jest.advanceTimersByTimeAsync(25_000);
    source.set('db', 'pw-2');
    source.description = () => ({ rotationEnabled: true, nextRotationDate: new Date(wall + 2 * HOUR) });
    await jest.advanceTimersByTimeAsync(2 * 60_000);
    expect(store.get('db')).toBe('pw-2');
    expect(source.callsFor('db') - fetchesBefore).toBe(1);
  });

  it('a rotation already under way at load is fetched after it lands, not at the safety poll', async () => {
    const { source, store, wall } = await underWayAtLoad({ safetyInterval: '6h' });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(source.describes).toBe(1);
    // The rotation lands 90 s in: after the first fetch (at 1 min), a recheck finds it.
    await jest.advanceTimersByTimeAsync(89_000);
    source.set('db', 'pw-2');
    source.description = () => ({ rotationEnabled: true, nextRotationDate: new Date(wall + 24 * HOUR) });
    await jest.advanceTimersByTimeAsync(5 * 60_000);
    expect(store.get('db')).toBe('pw-2');
  });

  it('an AWSPENDING left for good (a failed rotation) costs one extra fetch and a few rechecks, once', async () => {
    const { source, store } = await underWayAtLoad({ safetyInterval: '1h', describeInterval: '1h' });
    await jest.advanceTimersByTimeAsync(6 * HOUR);
    // 1 load + 1 fetch for the rotation under way + 6 safety polls (1 h, jittered) at most.
    expect(source.callsFor('db')).toBeLessThanOrEqual(1 + 1 + 7);
    // 6 hourly reads plus at most 7 rechecks (1, 2, 4, 8, 16, 32 min) after that one fetch.
    expect(source.describes).toBeLessThanOrEqual(1 + 6 + 7);
    expect(store.get('db')).toBe('pw-1');
  });
});

describe('stores sharing one mountedFiles source (defect 6)', () => {
  let dir: string;
  beforeEach(async () => {
    jest.useRealTimers();
    dir = await mkdtemp(join(tmpdir(), 'hush-shared-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('every store sees a rewritten file, even when another store fetched it first', async () => {
    await writeFile(join(dir, 'api-key'), 'key-1');
    const source = mountedFiles({ dir, pollInterval: 150, watch: false, settle: 0 });
    const make = (refreshInterval: number | false) =>
      open(new SecretStore(defineSecrets({ apiKey: 'api-key' }), { source, refreshInterval, refreshJitter: 0 }));
    // The first store polls often: its fetch reads the new file before the watchers scan it.
    const first = make(20);
    const second = make(false);
    const third = make(false);
    await Promise.all([first.load(), second.load(), third.load()]);
    // Rewritten, and dated in the past so it counts as settled at once: the first store's next poll
    // (20 ms) reads it before the watchers' next scan (150 ms).
    await writeFile(join(dir, 'api-key'), 'key-2');
    const past = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'api-key'), past, past);
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && [first, second, third].some((s) => s.get('apiKey') !== 'key-2')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect([first, second, third].map((s) => s.get('apiKey'))).toEqual(['key-2', 'key-2', 'key-2']);
  });

  it('13 (mountedFiles that neither watches nor polls): refreshInterval: false is never stale', async () => {
    await writeFile(join(dir, 'api-key'), 'key-Zq81kP');
    const source = mountedFiles({ dir, pollInterval: false, watch: false });
    const store = open(
      new SecretStore(defineSecrets({ apiKey: 'api-key' }), { source, refreshInterval: false, maxStaleness: 200 }),
    );
    await store.load();
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Nothing refreshes this secret: its age grows, but readiness must not fail for it.
    expect(store.health()).toMatchObject({ status: 'up', secrets: { apiKey: { status: 'fresh' } } });
  });
});

describe('isRefreshDue() / refreshDue(): a runtime that freezes between requests', () => {
  beforeEach(() => jest.useRealTimers());

  it('after a freeze the refresh is due; the caller and the timer share one fetch; a non-due check fetches nothing', async () => {
    let t = 1_000_000;
    const clock = { now: () => t, wallNow: () => Date.now() };
    const source = new ScriptedSource();
    source.set('db', 'pw-1');
    const store = open(
      new SecretStore(defineSecrets({ db: 'db' }), { source, refreshInterval: '5m', refreshJitter: 0, clock }),
    );
    expect(store.isRefreshDue()).toBe(false); // not loaded: nothing is due
    await store.load();
    expect(store.isRefreshDue()).toBe(false);
    t += 4 * 60_000;
    expect(store.isRefreshDue()).toBe(false);
    await expect(store.refreshDue()).resolves.toEqual([]);
    expect(source.callsFor('db')).toBe(1);

    // Frozen for 10 minutes (no timer ran), then thawed with a new version at the source.
    source.set('db', 'pw-2');
    t += 6 * 60_000;
    expect(store.isRefreshDue()).toBe(true);
    let release!: () => void;
    source.gate = new Promise((resolve) => (release = resolve));
    const first = store.refreshDue();
    const second = store.refreshDue(); // joins the round in flight
    expect(store.isRefreshDue()).toBe(true); // under way
    release();
    source.gate = undefined;
    await expect(first).resolves.toEqual(['db']);
    await expect(second).resolves.toEqual(['db']);
    expect(source.callsFor('db')).toBe(2);
    expect(store.get('db')).toBe('pw-2');
    expect(store.isRefreshDue()).toBe(false);
    await store.close();
    await expect(store.refreshDue()).rejects.toMatchObject({ name: 'SecretsStoreClosedError' });
  });
});

describe('attack: rotationSchedule storms (counted over 24 h of fake time)', () => {
  async function run(
    script: (source: ScriptedSource, wall: number, at: (ms: number) => Promise<void>) => Promise<void>,
    options: { safetyInterval?: Duration; describeInterval?: Duration; minRefreshInterval?: Duration } = {},
  ): Promise<{ fetches: number; describes: number; source: ScriptedSource; store: SecretStore<any> }> {
    const source = new ScriptedSource();
    source.set('db', 'pw-1');
    const wall = Date.now();
    const store = open(
      new SecretStore(defineSecrets({ db: 'db' }), {
        source,
        rotationSchedule: {
          delay: '1m',
          jitter: 0,
          safetyInterval: options.safetyInterval ?? '1h',
          describeInterval: options.describeInterval ?? '24h',
        },
        ...(options.minRefreshInterval ? { minRefreshInterval: options.minRefreshInterval } : {}),
      }),
    );
    let now = 0;
    const at = async (ms: number): Promise<void> => {
      await jest.advanceTimersByTimeAsync(ms - now);
      now = ms;
    };
    let loaded = false;
    const step = async (ms: number): Promise<void> => {
      if (!loaded) {
        loaded = true;
        await store.load();
      }
      await at(ms);
    };
    await script(source, wall, step);
    await step(24 * HOUR);
    return { fetches: source.callsFor('db'), describes: source.describes, source, store };
  }

  it('describe failures during the rechecks of a rotation that never lands do not poll DescribeSecret forever', async () => {
    // A failed rotation leaves AWSPENDING for good; DescribeSecret starts failing (throttled, or
    // the permission revoked) during the rechecks after the one fetch.
    const { fetches, describes } = await run(async (source, wall, at) => {
      source.description = () => ({
        rotationEnabled: true,
        nextRotationDate: new Date(wall + 48 * HOUR),
        rotationPending: true,
      });
      await at(0);
      await at(2 * 60_000 + 5_000); // first describe, fetch at 1 min, describe after it, 1 recheck due
      source.describeFails = true;
    });
    // 1 load + 1 fetch for the rotation under way + 24 safety polls.
    expect(fetches).toBeLessThanOrEqual(1 + 1 + 25);
    // The rechecks end one safety interval after that fetch: then one read a day. Before: one a minute.
    expect(describes).toBeLessThanOrEqual(2 + 8 + 1);
  });

  it('the same after a scheduled rotation that does not land (the path before a rotation under way at load)', async () => {
    const { fetches, describes } = await run(async (source, wall, at) => {
      source.description = () => ({ rotationEnabled: true, nextRotationDate: new Date(wall + HOUR) });
      await at(HOUR - 1_000);
      // The rotation starts and stalls: the next date moves on, AWSPENDING stays.
      source.description = () => ({
        rotationEnabled: true,
        nextRotationDate: new Date(wall + 25 * HOUR),
        rotationPending: true,
      });
      await at(HOUR + 3 * 60_000 + 5_000); // fetch at 1 h 1 min, describe after it, 1 recheck
      source.describeFails = true;
    });
    expect(fetches).toBeLessThanOrEqual(1 + 1 + 25);
    expect(describes).toBeLessThanOrEqual(3 + 8 + 1);
  });
});
