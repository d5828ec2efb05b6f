import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  awsSecretsManager,
  defineSecrets,
  SecretsConfigError,
  SecretStore,
  type SecretDeclarations,
  type SecretStoreOptions,
  type Source,
} from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { runTimersWithIo as runFor } from '../../../test/support/fake-clock';

/**
 * Fleet refresh features against the emulator over HTTP through the real SDK, on Jest's fake
 * clock: per-declaration `refreshInterval`, and `store.invalidate(ids)`.
 */

const HOUR = 3_600_000;

let emu: Emulator;
let client: SecretsManagerClient;

beforeAll(async () => {
  emu = await startEmulator({
    seed: {
      'fleet/a': 'a-CANARY-0',
      'fleet/b': 'b-CANARY-0',
      'fleet/c': 'c-CANARY-0',
      'fleet/d': 'd-CANARY-0',
    },
  });
  client = new SecretsManagerClient(emu.clientConfig());
});
afterAll(async () => {
  client.destroy();
  await emu.close();
});
afterEach(() => {
  jest.useRealTimers();
});

/** The real AWS source, recording the ids of every fetch round and counting rounds in flight. */
function recorded() {
  const inner = awsSecretsManager({ client });
  const rounds: string[][] = [];
  const roundTimes: number[] = [];
  const inflight = { n: 0 };
  const source: Source = {
    kind: inner.kind,
    fetch: (requests, context) => {
      rounds.push(requests.map((r) => r.id));
      roundTimes.push(Date.now());
      inflight.n++;
      return inner.fetch(requests, context).finally(() => inflight.n--);
    },
    describe: (ids, context) => {
      inflight.n++;
      return inner.describe(ids, context).finally(() => inflight.n--);
    },
    stats: () => inner.stats(),
  };
  return { source, rounds, roundTimes, inflight };
}

function fakeClock(): void {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'], now: Date.UTC(2027, 0, 4) });
}

function makeStore<D extends SecretDeclarations>(
  decls: D,
  source: Source,
  options: Omit<SecretStoreOptions, 'source'> = {},
) {
  return new SecretStore(decls, { source, ...options });
}

describe('per-declaration refreshInterval', () => {
  it('overrides the store default per secret; false means never; ids due together share one batch call', async () => {
    fakeClock();
    const { source, rounds, roundTimes, inflight } = recorded();
    const store = makeStore(
      defineSecrets({
        a: 'fleet/a', // store default, 5 min
        b: { id: 'fleet/b', refreshInterval: '15m' },
        c: { id: 'fleet/c', refreshInterval: false },
        d: { id: 'fleet/d', refreshInterval: 300_000 },
      }),
      source,
      { refreshInterval: '5m', maxStaleness: '3h' },
    );
    await store.load();
    rounds.length = 0;
    roundTimes.length = 0;
    emu.resetCalls();
    await runFor(3 * HOUR, inflight);
    const count = (id: string) => rounds.filter((r) => r.includes(id)).length;
    // 5 min ±10% over 3 h: 33 to 40 refreshes; 15 min ±10% (it may ride along up to 10% early): 11 to 14.
    expect(count('fleet/a')).toBeGreaterThanOrEqual(33);
    expect(count('fleet/a')).toBeLessThanOrEqual(40);
    expect(count('fleet/b')).toBeGreaterThanOrEqual(11);
    expect(count('fleet/b')).toBeLessThanOrEqual(15);
    expect(count('fleet/c')).toBe(0);
    // a and d have the same interval and were loaded together: always in the same round.
    expect(rounds.every((r) => r.includes('fleet/a') === r.includes('fleet/d'))).toBe(true);
    // Everything due in the same second goes in one round: never two rounds within a second.
    expect(roundTimes.every((t, i) => i === 0 || t - roundTimes[i - 1]! >= 1_000)).toBe(true);
    // One BatchGetSecretValue per round (up to 20 ids per call), nothing else.
    const calls = emu.calls();
    expect(calls.BatchGetSecretValue).toBe(rounds.length);
    expect(calls.total).toBe(rounds.length);
    // A rotation of the never-refreshed secret is not seen in the background...
    emu.putSecret('fleet/c', 'c-CANARY-1');
    emu.putSecret('fleet/b', 'b-CANARY-1');
    await runFor(20 * 60_000, inflight);
    expect(store.get('c')).toBe('c-CANARY-0');
    expect(store.get('b')).toBe('b-CANARY-1');
    // ...but invalidate() reaches it.
    const refreshed = store.invalidate(['fleet/c']);
    await runFor(1_000, inflight);
    await expect(refreshed).resolves.toEqual(['c']);
    expect(store.get('c')).toBe('c-CANARY-1');
    await store.close();
  });

  it('names with the same id take the shortest interval; bad values are config errors naming the declaration', async () => {
    fakeClock();
    const { source, rounds, inflight } = recorded();
    const store = makeStore(
      defineSecrets({
        slow: { id: 'fleet/a', refreshInterval: '1h' },
        fast: { id: 'fleet/a', refreshInterval: '10m' },
      }),
      source,
      { refreshInterval: false, maxStaleness: '3h' },
    );
    await store.load();
    rounds.length = 0;
    await runFor(HOUR, inflight);
    expect(rounds.length).toBeGreaterThanOrEqual(5);
    expect(rounds.length).toBeLessThanOrEqual(7);
    await store.close();
    expect(() => defineSecrets({ x: { id: 'fleet/a', refreshInterval: 'soon' as never } })).toThrow(SecretsConfigError);
    expect(() => defineSecrets({ x: { id: 'fleet/a', refreshInterval: 'soon' as never } })).toThrow(
      /secrets\.x\.refreshInterval/,
    );
    expect(() => defineSecrets({ x: { id: 'fleet/a', refreshInterval: -5 } })).toThrow(/secrets\.x\.refreshInterval/);
  });
});

describe('store.invalidate(ids)', () => {
  it('refreshes only the named secrets, matching names, full ARNs and partial ARNs; ignores unknown ids', async () => {
    const { source, rounds } = recorded();
    const store = makeStore(defineSecrets({ a: 'fleet/a', b: 'fleet/b', alsoA: { id: 'fleet/a' } }), source, {
      refreshInterval: false,
      minRefreshInterval: 0,
    });
    expect(await store.invalidate(['fleet/a'])).toEqual([]); // before load: nothing to refresh
    await store.load();
    const arn = (await client.send(new DescribeSecretCommand({ SecretId: 'fleet/b' }))).ARN!;
    rounds.length = 0;

    emu.putSecret('fleet/b', 'b-CANARY-2');
    expect(await store.invalidate([arn])).toEqual(['b']);
    expect(store.get('b')).toBe('b-CANARY-2');
    expect(rounds).toEqual([['fleet/b']]);

    emu.putSecret('fleet/a', 'a-CANARY-2');
    const partial = arn.replace(/fleet\/b-[A-Za-z0-9]{6}$/, 'fleet/a');
    expect(await store.invalidate([partial, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other'])).toEqual([
      'a',
      'alsoA',
    ]);
    expect(store.get('alsoA')).toBe('a-CANARY-2');
    expect(await store.invalidate(['fleet/unknown', ''])).toEqual([]);
    expect(rounds).toEqual([['fleet/b'], ['fleet/a']]);
    await expect(store.invalidate('fleet/a' as never)).rejects.toThrow(TypeError);
    await store.close();
    expect(await store.invalidate(['fleet/a'])).toEqual([]);
  });

  it('coalesces ids invalidated in the same tick into one batch call, and rate-limits a burst to one call per minRefreshInterval', async () => {
    fakeClock();
    const { source, rounds, inflight } = recorded();
    const store = makeStore(defineSecrets({ a: 'fleet/a', b: 'fleet/b', c: 'fleet/c' }), source, {
      refreshInterval: false,
      minRefreshInterval: '10s',
    });
    await store.load();
    await runFor(20_000, inflight); // past minRefreshInterval since the load
    rounds.length = 0;
    emu.resetCalls();
    // An SQS batch of three events handled in one loop: one call.
    const one = [store.invalidate(['fleet/a']), store.invalidate(['fleet/b']), store.invalidate(['fleet/c'])];
    await runFor(100, inflight);
    await Promise.all(one);
    expect(rounds).toEqual([['fleet/a', 'fleet/b', 'fleet/c']]);
    expect(emu.calls().BatchGetSecretValue).toBe(1);
    // A burst of 50 events for the same secret within 10 s: the first already went; the rest wait
    // for the end of minRefreshInterval and share one call.
    emu.putSecret('fleet/a', 'a-CANARY-3');
    const burst: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      burst.push(store.invalidate(['fleet/a']));
      await jest.advanceTimersByTimeAsync(100);
    }
    await runFor(15_000, inflight);
    await Promise.all(burst);
    expect(rounds.length).toBe(2);
    expect(rounds[1]).toEqual(['fleet/a']);
    expect(store.get('a')).toBe('a-CANARY-3');
    await store.close();
  });
});
