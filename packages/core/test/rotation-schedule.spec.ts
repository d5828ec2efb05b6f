import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  awsSecretsManager,
  defineSecrets,
  memorySource,
  SecretsConfigError,
  SecretStore,
  type Source,
} from '@hush/core';
import { startEmulator, type Emulator, type RotationFunction } from '@hush/emulator';
import { recordingLogger } from '../../../test/support';
import { runTimersWithIo as runFor } from '../../../test/support/fake-clock';

/**
 * Rotation-schedule-aware refresh over a simulated month, against the emulator over HTTP through
 * the real SDK. The emulator runs real scheduled rotations (RotateSecret with
 * `AutomaticallyAfterDays`, a four-step rotation function) on its clock, which follows Jest's
 * fake `Date`; a fake-clock timer starts the due rotations every minute, as the service's own
 * scheduler would.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:rotate';

let emu: Emulator;
let client: SecretsManagerClient;
/** Emulator-clock times at which each secret's AWSCURRENT moved by rotation (finishSecret). */
const rotatedAt: Record<string, number[]> = {};
let counter = 0;

/** The shape of AWS's rotation template: createSecret puts AWSPENDING, finishSecret moves AWSCURRENT. */
const rotate: RotationFunction = async ({ SecretId, ClientRequestToken, Step }, { client: c }) => {
  if (Step === 'createSecret') {
    const pending = await c
      .send(new GetSecretValueCommand({ SecretId, VersionId: ClientRequestToken, VersionStage: 'AWSPENDING' }))
      .catch(() => undefined);
    if (!pending) {
      await c.send(
        new PutSecretValueCommand({
          SecretId,
          ClientRequestToken,
          SecretString: `rot-CANARY-${++counter}`,
          VersionStages: ['AWSPENDING'],
        }),
      );
    }
  } else if (Step === 'finishSecret') {
    const current = await c.send(new GetSecretValueCommand({ SecretId }));
    await c.send(
      new UpdateSecretVersionStageCommand({
        SecretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: ClientRequestToken,
        RemoveFromVersionId: current.VersionId,
      }),
    );
    const name = SecretId.replace(/^.*:secret:/, '').replace(/-[A-Za-z0-9]{6}$/, '');
    (rotatedAt[name] ??= []).push(emu.now());
  }
};

beforeAll(async () => {
  emu = await startEmulator({
    seed: { 'sched/weekly': 'w-CANARY-0', 'sched/static': 's-CANARY-0', 'sched/daily': 'd-CANARY-0' },
    rotationFunctions: { [LAMBDA]: rotate },
  });
  client = new SecretsManagerClient(emu.clientConfig());
});
afterAll(async () => {
  client.destroy();
  await emu.close();
});
afterEach(() => jest.useRealTimers());

/** The real source, counting calls in flight so the clock waits for their HTTP. */
function scheduled(inner = awsSecretsManager({ client })) {
  const inflight = { n: 0 };
  const source: Source = {
    kind: inner.kind,
    fetch: async (requests, context) => {
      inflight.n++;
      try {
        return await inner.fetch(requests, context);
      } finally {
        inflight.n--;
      }
    },
    describe: async (ids, context) => {
      inflight.n++;
      try {
        return await inner.describe(ids, context);
      } finally {
        inflight.n--;
      }
    },
    stats: () => inner.stats(),
  };
  return { source, inflight };
}

describe('rotationSchedule', () => {
  it('over a simulated month: each weekly and daily rotation is picked up within delay + jitter, other changes within the safety poll, for a fraction of 5-minute polling', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'], now: Date.UTC(2027, 1, 1) });
    // Schedules start when RotateSecret runs (it rotates at once, then every N days).
    await client.send(
      new RotateSecretCommand({
        SecretId: 'sched/weekly',
        RotationLambdaARN: LAMBDA,
        RotationRules: { AutomaticallyAfterDays: 7 },
      }),
    );
    await client.send(
      new RotateSecretCommand({
        SecretId: 'sched/daily',
        RotationLambdaARN: LAMBDA,
        RotationRules: { AutomaticallyAfterDays: 1 },
      }),
    );
    await emu.rotationsSettled();
    for (const k of Object.keys(rotatedAt)) delete rotatedAt[k];

    const { source, inflight } = scheduled();
    const logger = recordingLogger();
    const store = new SecretStore(
      defineSecrets({ weekly: 'sched/weekly', daily: 'sched/daily', static: 'sched/static' }),
      {
        source,
        logger,
        maxStaleness: '3h',
        rotationSchedule: { safetyInterval: '1h', describeInterval: '24h', delay: '1m', jitter: '1m' },
      },
    );
    const seenAt: Record<string, number[]> = {};
    store.onEvent((e) => {
      if (e.type === 'rotated') (seenAt[e.name] ??= []).push(Date.now());
    });
    // The service's scheduler on the fake clock: due rotations start within a minute.
    const scheduler = setInterval(() => {
      inflight.n++;
      emu.runDueRotations();
      void emu.rotationsSettled().finally(() => inflight.n--);
    }, MIN);
    await store.load();
    emu.resetCalls();
    const boot = { ...store.stats().calls };

    // Mid-month, an operator changes the static secret by hand (no schedule, no event).
    let putAt = 0;
    setTimeout(
      () => {
        putAt = Date.now();
        emu.putSecret('sched/static', 's-CANARY-1');
      },
      15 * DAY + 7 * HOUR,
    );
    const end = Date.now() + 30 * DAY;
    await runFor(30 * DAY, inflight);
    clearInterval(scheduler);

    // Every scheduled rotation reached the store, each within delay + jitter (+ the store's 1 s batch window).
    expect(rotatedAt['sched/weekly']!.length).toBe(4);
    expect(rotatedAt['sched/daily']!.length).toBeGreaterThanOrEqual(29);
    for (const [name, id] of [
      ['weekly', 'sched/weekly'],
      ['daily', 'sched/daily'],
    ] as const) {
      // A rotation in the last minutes may not have been fetched when the month ends.
      const rotations = rotatedAt[id]!.filter((at) => at < end - 3 * MIN);
      const seen = seenAt[name]!.slice(0, rotations.length);
      expect(seenAt[name]!.length - rotations.length).toBeLessThanOrEqual(1);
      expect(seen.length).toBe(rotations.length);
      rotations.forEach((at, i) => {
        const lag = seen[i]! - at;
        expect(lag).toBeGreaterThanOrEqual(0);
        expect(lag).toBeLessThanOrEqual(2 * MIN + 1_000);
      });
    }
    expect(store.get('weekly')).toMatch(/^rot-CANARY-/);
    // The out-of-schedule change arrived with the safety poll, within 1 h + 10% jitter.
    expect(store.get('static')).toBe('s-CANARY-1');
    const staticLag = seenAt['static']![0]! - putAt;
    expect(staticLag).toBeLessThanOrEqual(66 * MIN);

    // What it cost: one batch per safety poll (all three ids due together), one describe per id
    // per day plus one after each rotation, and a fetch per rotation.
    // Counted by the pod's source (the rotation function's own calls reach the emulator too).
    const calls = store.stats().calls;
    const describes = (calls['DescribeSecret'] ?? 0) - (boot['DescribeSecret'] ?? 0);
    const fetches =
      (calls['BatchGetSecretValue'] ?? 0) +
      (calls['GetSecretValue'] ?? 0) -
      (boot['BatchGetSecretValue'] ?? 0) -
      (boot['GetSecretValue'] ?? 0);
    expect(emu.calls().BatchGetSecretValue).toBe(
      (calls['BatchGetSecretValue'] ?? 0) - (boot['BatchGetSecretValue'] ?? 0),
    );
    const rotations = rotatedAt['sched/weekly']!.length + rotatedAt['sched/daily']!.length;
    expect(describes).toBeGreaterThanOrEqual(3 * 30);
    expect(describes).toBeLessThanOrEqual(3 * 31 + rotations + 5);
    expect(fetches).toBeGreaterThanOrEqual(30 * 22);
    expect(fetches).toBeLessThanOrEqual(30 * 27 + rotations);
    // Default 5-minute polling would have made 8,640 batch calls for these 30 days.
    expect(describes + fetches).toBeLessThan(8_640 / 5);
    expect(store.health().status).toBe('up');
    expect(logger.lines.join('\n')).not.toContain('CANARY');
    await store.close();
  });

  it('a source that cannot describe (the Agent, files, memory) polls on the safety interval and says so once', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const source = memorySource({ 'm/a': 'a-CANARY' });
    let fetches = 0;
    const counted: Source = { kind: source.kind, fetch: (r) => (fetches++, source.fetch(r)) };
    const logger = recordingLogger();
    const store = new SecretStore(defineSecrets({ a: 'm/a' }), {
      source: counted,
      logger,
      maxStaleness: '3h',
      rotationSchedule: true,
    });
    await store.load();
    fetches = 0;
    await jest.advanceTimersByTimeAsync(10 * HOUR);
    expect(fetches).toBeGreaterThanOrEqual(9);
    expect(fetches).toBeLessThanOrEqual(12);
    expect(logger.at('warn').filter((m) => m.includes('cannot read rotation schedules'))).toHaveLength(1);
    await store.close();
  });

  it('DescribeSecret denied: warns once, keeps polling on the safety interval, values stay good', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'], now: Date.UTC(2027, 5, 1) });
    const fault = emu.injectFault({ operation: 'DescribeSecret', error: 'AccessDeniedException' });
    try {
      const { source, inflight } = scheduled();
      const logger = recordingLogger();
      const store = new SecretStore(defineSecrets({ s: 'sched/static' }), {
        source,
        logger,
        maxStaleness: '3h',
        rotationSchedule: true,
      });
      await store.load();
      emu.resetCalls();
      await runFor(3 * DAY, inflight);
      const calls = emu.calls();
      expect(calls.DescribeSecret).toBeGreaterThanOrEqual(3);
      expect(calls.DescribeSecret).toBeLessThanOrEqual(4);
      expect(calls.BatchGetSecretValue).toBeGreaterThanOrEqual(65);
      expect(calls.BatchGetSecretValue).toBeLessThanOrEqual(80);
      expect(logger.at('warn').filter((m) => m.includes('DescribeSecret failed'))).toHaveLength(1);
      expect(store.health().status).toBe('up');
      await store.close();
    } finally {
      emu.clearFaults(fault);
    }
  });

  it('rejects bad options naming them', () => {
    const source = memorySource({ x: 'y' });
    expect(
      () => new SecretStore({ x: 'x' }, { source, rotationSchedule: { safetyInterval: 'often' as never } }),
    ).toThrow(/rotationSchedule\.safetyInterval/);
    expect(() => new SecretStore({ x: 'x' }, { source, rotationSchedule: { every: '1h' } as never })).toThrow(
      SecretsConfigError,
    );
    expect(() => new SecretStore({ x: 'x' }, { source, rotationSchedule: 'yes' as never })).toThrow(/rotationSchedule/);
  });
});
