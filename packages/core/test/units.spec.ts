import { inspect } from 'node:util';
import {
  REDACTED,
  SecretStore,
  SecretsConfigError,
  defineSecrets,
  memorySource,
  type FetchContext,
  type HealthReport,
  type LoggerLike,
  type SecretRequest,
  type Source,
} from '@hush/core';
import {
  SECRET_STORE_OPTION_KEYS,
  bootBackoff,
  describeError,
  errorCodeName,
  Fragments,
  failingNames,
  jitteredInterval,
  keysOf,
  refreshBackoff,
  resolveStoreOptions,
  scrub,
} from '@hush/core/internal';

describe('store options', () => {
  it('keysOf lists an options type, and the compiler rejects a list that leaves one out or adds one', () => {
    interface Opts {
      a?: number;
      b: string;
    }
    expect(keysOf<Opts>({ a: true, b: true })).toEqual(['a', 'b']);
    // @ts-expect-error `b` is left out of the list
    keysOf<Opts>({ a: true });
    // @ts-expect-error `c` is not an option of Opts
    keysOf<Opts>({ a: true, b: true, c: true });
  });

  it('lists every option once, and the store accepts exactly those keys', () => {
    expect([...SECRET_STORE_OPTION_KEYS].sort()).toEqual(
      [
        'backoff',
        'bootTimeout',
        'clock',
        'fetchTimeout',
        'logger',
        'maxStaleness',
        'meterProvider',
        'minRefreshInterval',
        'name',
        'refreshInterval',
        'refreshJitter',
        'rotationSchedule',
        'source',
        'sources',
        'startupJitter',
      ].sort(),
    );
    expect(() => resolveStoreOptions({ source: memorySource(), refreshIntervl: '1m' } as never)).toThrow(
      SecretsConfigError,
    );
  });

  it('resolves defaults and durations to milliseconds', () => {
    const resolved = resolveStoreOptions({ source: memorySource(), refreshInterval: false, backoff: { max: '2m' } });
    expect(resolved).toMatchObject({
      refreshInterval: 0,
      jitter: 0.1,
      maxStaleness: 3_600_000,
      bootTimeout: 30_000,
      startupJitter: 0,
      minRefreshInterval: 1_000,
      fetchTimeout: 30_000,
      backoff: { initial: 1_000, max: 120_000 },
    });
    expect(() => resolveStoreOptions({ source: memorySource(), backoff: { inital: 5 } as never })).toThrow(
      /SecretStore\.backoff/,
    );
  });
});

describe('backoff', () => {
  const config = { initial: 1_000, max: 300_000 };

  it('boot backoff is full jitter under min(max, max(initial, bootTimeout/8), initial*2^n)', () => {
    expect(bootBackoff(0, config, 30_000, () => 0)).toBe(0);
    expect(bootBackoff(0, config, 30_000, () => 0.5)).toBe(500);
    expect(bootBackoff(1, config, 30_000, () => 0.5)).toBe(1_000);
    expect(bootBackoff(2, config, 80_000, () => 0.5)).toBe(2_000);
    // bootTimeout / 8 = 3750 caps attempt 10.
    expect(bootBackoff(10, config, 30_000, () => 0.5)).toBe(1_875);
  });

  it('refresh backoff is equal jitter in [cap/2, cap), held to the refresh interval', () => {
    expect(refreshBackoff(1, config, 0, () => 0)).toBe(500);
    expect(refreshBackoff(3, config, 0, () => 0)).toBe(2_000);
    expect(refreshBackoff(3, config, 0, () => 0.999)).toBeCloseTo(3_998, 0);
    expect(refreshBackoff(20, config, 0, () => 0)).toBe(150_000);
    expect(refreshBackoff(20, config, 60_000, () => 0)).toBe(60_000);
  });

  it('jitters the refresh interval by ±jitter', () => {
    expect(jitteredInterval(1_000, 0.1, () => 0)).toBe(900);
    expect(jitteredInterval(1_000, 0.1, () => 1)).toBe(1_100);
    expect(jitteredInterval(1_000, 0, () => 0.3)).toBe(1_000);
  });
});

describe('failingNames', () => {
  const report: HealthReport = {
    status: 'down',
    secrets: {
      db: { status: 'missing' },
      api: { status: 'stale', ageSeconds: 4000 },
      flags: { status: 'missing', optional: true },
      old: { status: 'stale', optional: true },
      ok: { status: 'fresh' },
      erroring: { status: 'error', error: 'ThrottlingException' },
    },
  };

  it('names required missing secrets, and stale ones with failOnStale', () => {
    expect(failingNames(report)).toEqual(['db']);
    expect(failingNames(report, { failOnStale: true })).toEqual(['db', 'api']);
  });
});

describe('redaction', () => {
  const hostile = { password: 'p"a\\s\ns-ü€-😀', pin: 123456, nested: { deep: 'tok-CANARY-1' }, short: 'ab' };

  it('scrubs every string and number leaf of 4+ characters, longest first', () => {
    const text = `bad ${hostile.password} and ${hostile.pin} and ${hostile.nested.deep}-suffix, ab stays`;
    const out = scrub(text, hostile);
    expect(out).toBe(`bad ${REDACTED} and ${REDACTED} and ${REDACTED}-suffix, ab stays`);
    expect(scrub('tok-CANARY-1', 'tok-CANARY')).toBe(`${REDACTED}-1`);
  });

  it('describes a thrown error by name and code, never by its message', () => {
    expect(describeError(new TypeError(`cannot use ${hostile.nested.deep}`), hostile)).toBe(
      'TypeError (message withheld)',
    );
    const withCode = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(describeError(withCode)).toBe('Error (code ECONNREFUSED) (message withheld)');
    // A code made of the value is dropped too.
    expect(describeError(Object.assign(new Error('x'), { code: 'tok-CANARY-1' }), hostile)).toBe(
      'Error (message withheld)',
    );
    expect(describeError('tok-CANARY-1', hostile)).toBe('a non-Error value was thrown (string)');
  });

  it('finds a 6-character fragment in every common encoding, and a short value when quoted', () => {
    const value = 'pw-"q\\u\n-é😀-CANARY-end';
    const f = Fragments.of({ nested: [value], pin: 'ab' });
    const fragment = value.slice(3, 12);
    const encodings = {
      raw: fragment,
      json: JSON.stringify(fragment),
      json2: JSON.stringify(JSON.stringify(fragment)),
      inspect: inspect(fragment),
      url: encodeURIComponent(fragment),
      base64: Buffer.from(fragment).toString('base64'),
      base64url: Buffer.from(fragment).toString('base64url'),
      hex: Buffer.from(fragment).toString('hex'),
      HEX: Buffer.from(fragment).toString('hex').toUpperCase(),
    };
    for (const [encoding, text] of Object.entries(encodings)) {
      expect([encoding, f.in(`message (was ${text}) end`)]).toEqual([encoding, true]);
    }
    expect(f.in('must be an email address (was "ab")')).toBe(true);
    expect(f.in('must be an email address (was a string), ab unquoted')).toBe(false);
    expect(f.in('Secret "db" failed schema validation: $.password: Invalid input')).toBe(false);
    expect(f.safe('Invalid input: expected string', 'withheld')).toBe('Invalid input: expected string');
    expect(f.safe(`received "${value.slice(0, 8)}"`, 'withheld')).toBe('withheld');
  });

  it('catches every one of 1,000 messages quoting slices of a 64 KiB value (its cost is in bench/)', () => {
    const value = Buffer.alloc(48_000, 'k3Y9-"\\\n').toString('base64');
    const f = Fragments.of(value);
    let withheld = 0;
    for (let i = 0; i < 1_000; i++) if (!f.in(`must match (was "${value.slice(i * 40, i * 40 + 60)}")`)) withheld++;
    expect(withheld).toBe(0);
  });
});

describe('FetchContext.logger', () => {
  it("hands the store's logger to the source on every call, and the source's lines reach it", async () => {
    const lines: string[] = [];
    const logger: LoggerLike = {
      info: () => {},
      warn: (message) => void lines.push(message),
      error: () => {},
    };
    const contexts: FetchContext[] = [];
    const inner: Source = memorySource({ 'prod/app/key': 'value-CANARY-ctx' });
    const source: Source = {
      kind: 'recording',
      fetch(requests: readonly SecretRequest[], context: FetchContext) {
        contexts.push(context);
        context.logger?.warn('source line', { event: 'test' });
        return inner.fetch(requests, context);
      },
    };
    const store = new SecretStore(defineSecrets({ key: 'prod/app/key' }), {
      source,
      logger,
      refreshInterval: false,
      minRefreshInterval: 0,
    });
    await store.load();
    await store.refresh();
    expect(contexts).toHaveLength(2);
    expect(contexts.every((c) => c.logger !== undefined)).toBe(true);
    expect(lines).toEqual(['source line', 'source line']);
    // The store does not write onto the source any more.
    expect(Object.keys(source)).toEqual(['kind', 'fetch']);
    await store.close();
  });
});

describe('errorCodeName', () => {
  it('keeps identifier-like codes and turns quoted text into UnknownError', () => {
    expect(errorCodeName('ResourceNotFoundException')).toBe('ResourceNotFoundException');
    expect(errorCodeName('com.amazonaws.secretsmanager:Throttling')).toBe('com.amazonaws.secretsmanager:Throttling');
    expect(errorCodeName('pw "CANARY" \n')).toBe('UnknownError');
    expect(errorCodeName('x'.repeat(65))).toBe('UnknownError');
    expect(errorCodeName(undefined)).toBe('UnknownError');
  });
});
