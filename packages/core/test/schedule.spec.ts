import fc from 'fast-check';
import {
  changeDueAt,
  failureBackoff,
  LEASE_RENEW_FRACTION,
  leaseDueAt,
  MAX_LEASE_JITTER,
  nextDescribeAt,
  nextFetchAt,
  type ScheduleConfig,
  type ScheduleFacts,
} from '../src/schedule';

/**
 * The derived schedule's promises, checked over arbitrary facts: whatever mix of poll, failure,
 * scheduled rotation and recorded change an id has, the next background attempt keeps its
 * backoff and `minRefreshInterval`, and an id in flight is never due.
 */

const time = fc.double({ min: 0, max: 1e9, noNaN: true });
const draw = fc.double({ min: 0, max: 0.999999, noNaN: true });

const config: fc.Arbitrary<ScheduleConfig> = fc.record({
  jitter: fc.double({ min: 0, max: 0.99, noNaN: true }),
  minRefreshInterval: fc.integer({ min: 0, max: 10_000 }),
  backoff: fc
    .tuple(fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 1, max: 600_000 }))
    .map(([initial, extra]) => ({ initial, max: initial + extra })),
});

const facts: fc.Arbitrary<ScheduleFacts> = fc
  .record({
    interval: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 86_400_000 })),
    inflight: fc.boolean(),
    attempts: fc.integer({ min: 0, max: 1_000 }),
    lastAttemptAt: fc.option(time, { nil: undefined }),
    okAttemptAt: fc.option(time, { nil: undefined }),
    settledAt: fc.option(time, { nil: undefined }),
    failures: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 })),
    retryable: fc.boolean(),
    failureDraw: draw,
    polledAt: fc.option(time, { nil: undefined }),
    pollDraw: draw,
    rotationAt: fc.option(time, { nil: undefined }),
    change: fc.option(fc.record({ at: time, attempt: fc.integer({ min: 0, max: 1_000 }) }), { nil: undefined }),
  })
  // An id that failed has attempted and settled.
  .map((f) =>
    f.failures > 0
      ? { ...f, lastAttemptAt: f.lastAttemptAt ?? 0, settledAt: Math.max(f.settledAt ?? 0, f.lastAttemptAt ?? 0) }
      : f,
  );

/** Any facts, with or without a lease (the properties that hold whatever the reasons). */
const anyFacts: fc.Arbitrary<ScheduleFacts> = fc
  .tuple(facts, fc.option(time, { nil: undefined }), draw)
  .map(([f, leaseEndAt, leaseDraw]) => ({ ...f, leaseEndAt, leaseDraw }));

/** The smallest backoff the configuration allows after `failures` failures, computed independently. */
function minimumBackoff(f: ScheduleFacts, c: ScheduleConfig): number {
  if (f.retryable || f.interval === 0) {
    const cap = Math.min(c.backoff.max, c.backoff.initial * 2 ** (f.failures - 1));
    const half = cap / 2;
    return f.interval > 0 ? Math.min(half, Math.max(f.interval, c.backoff.initial)) : half;
  }
  return f.interval * (1 - c.jitter);
}

describe('the derived refresh schedule (properties)', () => {
  it('after a failed attempt, the next one is at least its backoff away, whatever else is due', () => {
    fc.assert(
      fc.property(anyFacts, config, (f, c) => {
        fc.pre(f.failures > 0 && !f.inflight);
        const next = nextFetchAt(f, c);
        expect(next).toBeGreaterThanOrEqual(f.settledAt! + failureBackoff(f, c));
        expect(failureBackoff(f, c)).toBeGreaterThanOrEqual(minimumBackoff(f, c) * (1 - 1e-9));
      }),
      { numRuns: 1_500 },
    );
  });

  it('a fetch that started before the rotation time cannot make the rotation due at once (no spin)', () => {
    fc.assert(
      fc.property(facts, config, (f, c) => {
        fc.pre(!f.inflight && f.failures === 0);
        // The last (successful) attempt started just before the rotation time, which is now past.
        const early: ScheduleFacts = {
          ...f,
          interval: 0,
          change: undefined,
          okAttemptAt: f.lastAttemptAt,
          rotationAt: (f.lastAttemptAt ?? 0) + 0.25,
        };
        fc.pre(early.lastAttemptAt !== undefined);
        expect(nextFetchAt(early, c)).toBeGreaterThanOrEqual(early.lastAttemptAt! + 1);
      }),
      { numRuns: 1_500 },
    );
  });

  it('a recorded change is answered no sooner than minRefreshInterval after the last attempt', () => {
    fc.assert(
      fc.property(facts, config, (f, c) => {
        fc.pre(f.lastAttemptAt !== undefined && !f.inflight);
        // Only a change is pending: no poll, no failure, no rotation.
        const onlyChange: ScheduleFacts = {
          ...f,
          interval: 0,
          failures: 0,
          rotationAt: undefined,
          change: { at: f.change?.at ?? 0, attempt: f.attempts },
        };
        expect(nextFetchAt(onlyChange, c)).toBeGreaterThanOrEqual(f.lastAttemptAt! + c.minRefreshInterval);
        expect(changeDueAt(onlyChange, c)).toBe(nextFetchAt(onlyChange, c));
      }),
      { numRuns: 1_500 },
    );
  });

  it('an id with a round in flight is never due (the timer never re-arms in the past for it)', () => {
    fc.assert(
      fc.property(anyFacts, config, (f, c) => {
        expect(nextFetchAt({ ...f, inflight: true }, c)).toBe(Infinity);
      }),
    );
  });

  it('a pending rotation date or change never overrides a backoff', () => {
    fc.assert(
      fc.property(anyFacts, config, time, (f, c, at) => {
        fc.pre(f.failures > 0 && !f.inflight);
        // The rotation time and the change are due long before the backoff ends.
        const withReasons: ScheduleFacts = {
          ...f,
          rotationAt: f.settledAt! - 1,
          okAttemptAt: undefined,
          change: { at: Math.min(at, f.settledAt!), attempt: f.attempts },
        };
        expect(nextFetchAt(withReasons, c)).toBeGreaterThanOrEqual(f.settledAt! + failureBackoff(f, c));
      }),
      { numRuns: 1_500 },
    );
  });

  it('an id with no reason to be fetched is never due, and no due time is NaN', () => {
    fc.assert(
      fc.property(anyFacts, config, (f, c) => {
        const idle: ScheduleFacts = {
          ...f,
          interval: 0,
          failures: 0,
          rotationAt: undefined,
          change: undefined,
          leaseEndAt: undefined,
        };
        expect(nextFetchAt(idle, c)).toBe(Infinity);
        expect(Number.isNaN(nextFetchAt(f, c))).toBe(false);
      }),
    );
  });

  it('a polling id that is not failing is due one jittered interval after its poll period began', () => {
    fc.assert(
      fc.property(facts, config, (f, c) => {
        const polling: ScheduleFacts = {
          ...f,
          inflight: false,
          failures: 0,
          rotationAt: undefined,
          change: undefined,
          lastAttemptAt: undefined,
          polledAt: f.polledAt ?? 0,
          interval: Math.max(1, f.interval),
          leaseEndAt: undefined,
        };
        const next = nextFetchAt(polling, c);
        expect(next).toBeGreaterThanOrEqual(polling.polledAt! + polling.interval * (1 - c.jitter) - 1e-6);
        expect(next).toBeLessThanOrEqual(polling.polledAt! + polling.interval * (1 + c.jitter) + 1e-6);
      }),
    );
  });

  it('a scheduled rotation is answered once: a successful fetch that started after it ends its pull', () => {
    fc.assert(
      fc.property(facts, config, time, (f, c, rotationAt) => {
        const answered: ScheduleFacts = {
          ...f,
          inflight: false,
          failures: 0,
          interval: 0,
          change: undefined,
          rotationAt,
          okAttemptAt: rotationAt,
        };
        expect(nextFetchAt(answered, c)).toBe(Infinity);
        const pending: ScheduleFacts = { ...answered, okAttemptAt: rotationAt - 1 };
        const due = nextFetchAt(pending, c);
        expect(due).toBeGreaterThanOrEqual(rotationAt);
        if (pending.lastAttemptAt !== undefined) {
          expect(due).toBeGreaterThanOrEqual(pending.lastAttemptAt + Math.max(1, c.minRefreshInterval));
        }
      }),
    );
  });

  it('schedule reads: first at start, right after the post-rotation fetch, rechecks doubling, then every describeInterval', () => {
    const rs = { describeInterval: 86_400_000, delay: 60_000 };
    const base = { pinned: false, rechecks: 0, rotationFetch: undefined };
    expect(nextDescribeAt({ ...base, describedAt: undefined }, 5, rs)).toBe(5);
    expect(nextDescribeAt({ ...base, pinned: true, describedAt: undefined }, 5, rs)).toBe(Infinity);
    expect(nextDescribeAt({ ...base, describedAt: 100 }, 5, rs)).toBe(100 + rs.describeInterval);
    expect(nextDescribeAt({ ...base, describedAt: 100, rotationFetch: { at: 150 } }, 5, rs)).toBe(150);
    expect(nextDescribeAt({ ...base, describedAt: 200, rotationFetch: { at: 150 }, rechecks: 1 }, 5, rs)).toBe(
      200 + 60_000,
    );
    expect(nextDescribeAt({ ...base, describedAt: 200, rotationFetch: { at: 150 }, rechecks: 3 }, 5, rs)).toBe(
      200 + 4 * 60_000,
    );
    expect(nextDescribeAt({ ...base, describedAt: 200, rotationFetch: { at: 150 }, rechecks: 40 }, 5, rs)).toBe(
      200 + 64 * 60_000,
    );
  });
});

/**
 * A leased value (`RawSecret.expiresAt`): fetched again at about two-thirds of the lease it had,
 * strictly before it ends while no backoff holds the attempt back, and a backoff still wins.
 */
describe('the lease schedule (properties)', () => {
  /** Facts of an id whose last successful fetch (the last attempt) brought a lease. */
  const leased = fc
    .tuple(facts, time, fc.double({ min: 1, max: 1e8, noNaN: true }))
    .map(([f, grantedAt, length]): ScheduleFacts => ({
      ...f,
      inflight: false,
      failures: 0,
      okAttemptAt: grantedAt,
      lastAttemptAt: grantedAt,
      settledAt: grantedAt,
      leaseEndAt: grantedAt + length,
    }));

  it('a leased value that is not failing is due at about two-thirds of its lease, strictly before it ends', () => {
    fc.assert(
      fc.property(leased, config, (f, c) => {
        const granted = f.leaseEndAt! - f.okAttemptAt!;
        const next = nextFetchAt(f, c);
        // Another reason (a change, a rotation) may make it earlier, never later.
        expect(next).toBeLessThanOrEqual(f.okAttemptAt! + granted * LEASE_RENEW_FRACTION + 1e-6);
        expect(next).toBeLessThan(f.leaseEndAt!);
        // With no other reason, it is the lease's own time: no earlier than the jitter allows.
        const alone = nextFetchAt({ ...f, change: undefined, rotationAt: undefined }, c);
        expect(alone).toBe(leaseDueAt(f, c));
        expect(alone).toBeGreaterThanOrEqual(
          f.okAttemptAt! + granted * LEASE_RENEW_FRACTION * (1 - MAX_LEASE_JITTER) - 1e-6,
        );
        expect(alone).toBeGreaterThan(f.okAttemptAt!);
      }),
      { numRuns: 1_500 },
    );
  });

  it('after a failed renewal the retry keeps its backoff, and comes before the lease ends whenever the backoff allows', () => {
    fc.assert(
      fc.property(
        leased,
        config,
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1e8, noNaN: true }),
        (f, c, failures, after) => {
          const failing: ScheduleFacts = {
            ...f,
            failures,
            lastAttemptAt: f.okAttemptAt! + after,
            settledAt: f.okAttemptAt! + after,
          };
          const next = nextFetchAt(failing, c);
          const backoffEnds = failing.settledAt! + failureBackoff(failing, c);
          expect(next).toBeGreaterThanOrEqual(backoffEnds);
          if (backoffEnds < f.leaseEndAt!) expect(next).toBeLessThan(f.leaseEndAt!);
        },
      ),
      { numRuns: 1_500 },
    );
  });

  it('a leased value is not polled: its lease decides, however short the refresh interval', () => {
    fc.assert(
      fc.property(leased, config, fc.integer({ min: 1, max: 1_000 }), (f, c, interval) => {
        const polling: ScheduleFacts = {
          ...f,
          interval,
          polledAt: f.okAttemptAt,
          change: undefined,
          rotationAt: undefined,
        };
        expect(nextFetchAt(polling, c)).toBe(leaseDueAt(polling, c));
      }),
    );
  });

  it('a lease already over when granted is fetched again no sooner than max(1 ms, minRefreshInterval) (no spin)', () => {
    fc.assert(
      fc.property(leased, config, fc.double({ min: 0, max: 1e6, noNaN: true }), (f, c, late) => {
        const over: ScheduleFacts = {
          ...f,
          leaseEndAt: f.okAttemptAt! - late,
          change: undefined,
          rotationAt: undefined,
        };
        expect(nextFetchAt(over, c)).toBe(f.lastAttemptAt! + Math.max(1, c.minRefreshInterval));
      }),
    );
  });

  it('a lease that ended while its fetch was in flight (a lease of 0 s) is fetched again no sooner than max(1 ms, minRefreshInterval) (no spin)', () => {
    fc.assert(
      fc.property(
        leased,
        config,
        fc.double({ min: 1, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (f, c, latency, share) => {
          const settledAt = f.okAttemptAt! + latency;
          const ended: ScheduleFacts = {
            ...f,
            settledAt,
            leaseEndAt: f.okAttemptAt! + Math.max(Number.MIN_VALUE, latency * share),
            change: undefined,
            rotationAt: undefined,
          };
          expect(nextFetchAt(ended, c)).toBe(f.lastAttemptAt! + Math.max(1, c.minRefreshInterval));
        },
      ),
    );
  });
});
