import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { inspect } from 'node:util';
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';
import {
  awsSecretsManager,
  defineSecrets,
  memorySource,
  SecretBytes,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  SecretValidationError,
  type SecretDeclarations,
  type SecretsEvent,
} from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { FragmentFinder, errorTexts } from '../../../test/leaks/fragments';
import { recordingLogger } from '../../../test/support';
import { otherStoreFailing } from './other-store';

/*
 * Issue 21 §2 and defects 7–12, 14: foreign text (SDK, batch and source messages, error codes,
 * schema issues, listener errors) is checked against every value the process holds, not only the
 * values of the secret it arrived on.
 */

/** A hostile value: quotes, a backslash, a newline, unicode. */
const A_VALUE = 'a-"tok"\\n\n-çé✓-Zq81kPw3xYv';

let emu: Emulator;
const clients: SecretsManagerClient[] = [];
const stores: { close(): Promise<void> }[] = [];

function client(): SecretsManagerClient {
  const c = new SecretsManagerClient({
    ...emu.clientConfig(),
    retryStrategy: new ConfiguredRetryStrategy(1, () => 1),
  });
  clients.push(c);
  return c;
}

function track<S extends { close(): Promise<void> }>(store: S): S {
  stores.push(store);
  return store;
}

/** Every text a failure of `store` puts out: events, log lines, health. */
function outputs(
  store: { health(): unknown },
  events: readonly SecretsEvent[],
  lines: readonly string[],
): Record<string, string> {
  return {
    events: JSON.stringify(events),
    logs: lines.join('\n'),
    health: JSON.stringify(store.health()),
    'health inspect': inspect(store.health(), { depth: 10 }),
  };
}

function findings(finder: FragmentFinder, texts: Record<string, string>): string[] {
  return Object.entries(texts).flatMap(([channel, text]) =>
    finder.find(channel, text).map((f) => `${f.channel}/${f.encoding}: ${f.masked}`),
  );
}

beforeAll(async () => {
  emu = await startEmulator({
    seed: {
      'app/a': A_VALUE,
      'app/b': 'b-value-Hq2mN7',
      'app/c': 'c-value-Lr5tB9',
      ...Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`bulk/s${i}`, `bulk-value-${i}-Wz4`])),
      'bulk/bad': 'bad-value-Jk3',
    },
  });
});
afterEach(async () => {
  emu.clearFaults();
  emu.resetCalls();
  for (const s of stores.splice(0)) await s.close();
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await emu.close();
});

describe('foreign text is checked against every value of the store (issue 21 §2)', () => {
  it('a whole-batch error quoting secret a is withheld on b and c too, not only on a (defect 8)', async () => {
    const logger = recordingLogger();
    const store = track(
      new SecretStore(defineSecrets({ a: 'app/a', b: 'app/b', c: 'app/c' }), {
        source: awsSecretsManager({ client: client() }),
        refreshInterval: false,
        minRefreshInterval: 0,
        logger,
      }),
    );
    await store.load();
    const events: SecretsEvent[] = [];
    store.onEvent((e) => events.push(e));
    emu.injectFault({
      operation: 'BatchGetSecretValue',
      error: 'InternalServiceError',
      message: `upstream said: ${A_VALUE}`,
    });
    await store.refresh();
    const failed = events.filter((e) => e.type === 'refresh-failed');
    expect(failed.map((e) => e.type === 'refresh-failed' && e.name).sort()).toEqual(['a', 'b', 'c']);
    for (const e of failed) expect(e).toMatchObject({ code: 'InternalServiceError' });
    expect(findings(new FragmentFinder([A_VALUE]), outputs(store, events, logger.lines))).toEqual([]);
    expect(store.get('b')).toBe('b-value-Hq2mN7');
  });

  it('a failure of one store quoting a value of another store in the process is withheld', async () => {
    const holder = track(
      new SecretStore(defineSecrets({ token: 'x/token' }), { source: memorySource({ 'x/token': A_VALUE }) }),
    );
    await holder.load();
    const { store, events, logger } = await otherStoreFailing(`proxy body: {"v":${JSON.stringify(A_VALUE)}}`, track);
    expect(findings(new FragmentFinder([A_VALUE]), outputs(store, events, logger.lines))).toEqual([]);
  });

  it('a failure quoting, in base64 or hex, the JSON document that holds another secret is withheld (simulation seed 6999)', async () => {
    // The password has backslashes: in the JSON text each is doubled, so no six characters of it
    // survive in the decoded document as written; the document must be read with its escapes undone.
    const pw = 'tc\\日kt\\B🔑d';
    const doc = JSON.stringify({ user: 'u-244827', pw });
    const held = memorySource({ 'x/db': doc });
    const holder = track(
      new SecretStore(defineSecrets({ pw: { id: 'x/db', key: 'pw' } }), { source: held, minRefreshInterval: 0 }),
    );
    await holder.load();
    // Rotated: the store keeps the previous password (the leak rule covers it), not the old document.
    held.set('x/db', JSON.stringify({ user: 'u-9', pw: 'next-Qz81kPw3' }));
    await holder.refresh();
    for (const echo of [Buffer.from(doc).toString('base64'), Buffer.from(doc).toString('hex')]) {
      const { events, logger } = await otherStoreFailing(`upstream said ${echo}`, track);
      expect(JSON.stringify(events)).not.toContain(echo);
      expect(logger.lines.join('\n')).not.toContain(echo);
    }
  });

  it('a source text longer than 300 characters (a proxy page) is withheld unread, the code kept', async () => {
    // Checking 64 KiB against every encoding costs up to seconds of blocking CPU per failure.
    const page = `<html>${'<p>upstream error</p>'.repeat(3_000)}</html>`;
    const { events } = await otherStoreFailing(page, track);
    const failed = events.find((e) => e.type === 'refresh-failed') as { code: string; message: string };
    expect(failed.code).toBe('InternalServiceError');
    expect(failed.message).toContain(
      `the source answered with ${page.length} characters of text; it is withheld unread`,
    );
    expect(failed.message).not.toContain('upstream error');
  });

  it('an error code quoting another store`s value (base64) never reaches stats() nor metrics outcomes', async () => {
    const value = 'tok-Zq81kPw3xYv-tok';
    const holder = track(
      new SecretStore(defineSecrets({ token: 'x/token' }), { source: memorySource({ 'x/token': value }) }),
    );
    await holder.load();
    emu.seed({ 'y/other': 'other-Pp0-value' });
    const code = Buffer.from(value).toString('base64').replace(/[+/=]/g, '');
    const store = track(
      new SecretStore(defineSecrets({ other: 'y/other' }), {
        source: awsSecretsManager({ client: client() }),
        refreshInterval: false,
        minRefreshInterval: 0,
      }),
    );
    await store.load();
    emu.injectFault({ operation: 'BatchGetSecretValue', error: `X${code}`, status: 400, times: 1 });
    await store.refresh();
    expect(JSON.stringify(store.stats())).not.toContain(code.slice(0, 12));
    expect(JSON.stringify(store.health())).not.toContain(code.slice(0, 12));
  });

  it('a source error code that is not a name (a newline, a body) reads UnknownError in stats()', async () => {
    const source = memorySource({ 'z/one': 'one-Kk4-value' });
    const store = track(
      new SecretStore(defineSecrets({ one: 'z/one' }), { source, refreshInterval: false, minRefreshInterval: 0 }),
    );
    await store.load();
    source.fail('z/one', 'Weird\ninjected: line', { message: 'x' });
    await store.refresh();
    expect(JSON.stringify(store.stats())).not.toContain('injected');
    expect(JSON.stringify(store.stats().outcomes)).toContain('UnknownError');
  });

  it('a failure quoting a value fetched in the same round (not yet in place) is withheld', async () => {
    // b is declared first, so its failure is taken in before a's value is.
    const source = memorySource({ 'app/a': A_VALUE });
    source.fail('app/b', 'DecryptionFailure', { message: `cannot decrypt; neighbour was ${A_VALUE}` });
    const store = track(new SecretStore(defineSecrets({ b: 'app/b', a: 'app/a' }), { source, bootTimeout: 1_000 }));
    const error = await store.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect((error as SecretsLoadError).failures.map((f) => f.name)).toEqual(['b']);
    expect(findings(new FragmentFinder([A_VALUE]), errorTexts(error))).toEqual([]);
  });

  it('keeps up with rotations: after the index is built, a new value and the one it replaced are both withheld', async () => {
    const source = memorySource({ 'r/a': 'a-first-Tm4Qz9', 'r/b': 'b-Val-Np2' });
    const store = track(
      new SecretStore(defineSecrets({ a: 'r/a', b: 'r/b' }), { source, refreshInterval: false, minRefreshInterval: 0 }),
    );
    await store.load();
    const messages: string[] = [];
    store.onEvent((e) => e.type === 'refresh-failed' && messages.push(e.message));
    const failB = async (message: string): Promise<string> => {
      source.fail('r/b', 'InternalServiceError', { message, times: 1 });
      await store.refresh('b');
      return messages.at(-1)!;
    };
    // The first failure builds the index; a text quoting nothing is carried as is.
    expect(await failB('upstream hiccup')).toContain('upstream hiccup');
    source.set('r/a', 'a-second-Wc7Lk3');
    await store.refresh('a');
    expect(await failB('echo a-second-Wc7Lk3')).toMatch(/withheld/);
    expect(await failB('echo a-first-Tm4Qz9')).toMatch(/withheld/);
    expect(messages.join('\n')).not.toMatch(/Wc7Lk3|Tm4Qz9/);
  });

  describe('binary values and schema outputs of any shape (defect 9)', () => {
    const KEY = Uint8Array.from([
      0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x41, 0x42, 0x43, 0x7f, 0x80, 0x10, 0x20, 0x33, 0x99, 0xaa,
    ]);
    const key = Buffer.from(KEY);
    const echoes: Record<string, string> = {
      base64: `bad key ${key.toString('base64')}`,
      'base64 (offset by one byte)': `bad key ${key.subarray(1).toString('base64')}`,
      base64url: `bad key ${key.toString('base64url')}`,
      hex: `bad key ${key.toString('hex').toUpperCase()}`,
      raw: `bad key ${key.toString('latin1')}`,
      // What Node prints for a Buffer in a message (`${util.inspect(buf)}`), and a fingerprint.
      'hex, space-separated (util.inspect of a Buffer)': `bad key ${inspect(key)}`,
      'hex, colon-separated': `bad key ${[...key].map((b) => b.toString(16).padStart(2, '0')).join(':')}`,
      // What JSON.stringify makes of a Buffer in an object, and util.inspect of a Uint8Array.
      'JSON.stringify of a Buffer (decimal bytes)': `bad key ${JSON.stringify({ key })}`,
      'util.inspect of a Uint8Array (decimal bytes)': `bad key ${inspect(new Uint8Array(KEY))}`,
    };

    it.each(Object.entries(echoes))('withholds an echo of a format: "binary" value (%s)', async (_, message) => {
      const source = memorySource({ 'k/key': KEY, 'k/other': 'other-Qq7' });
      const store = track(
        new SecretStore(defineSecrets({ key: { id: 'k/key', format: 'binary' }, other: 'k/other' }), {
          source,
          refreshInterval: false,
          minRefreshInterval: 0,
        }),
      );
      await store.load();
      const events: SecretsEvent[] = [];
      store.onEvent((e) => events.push(e));
      source.fail('k/other', 'InternalServiceError', { message });
      await store.refresh('other');
      const failed = events.find((e) => e.type === 'refresh-failed');
      expect(failed).toMatchObject({ name: 'other', code: 'InternalServiceError' });
      expect(failed?.type === 'refresh-failed' && failed.message).toMatch(/withheld/);
      expect(JSON.stringify(store.health())).not.toContain(message.slice(8, 20));
    });

    class Token {
      readonly #value: string;
      constructor(value: string) {
        this.#value = value;
      }
      toString(): string {
        return this.#value;
      }
    }

    it.each([
      [
        'a URL (a class with no own properties)',
        z.string().transform((s) => new URL(s)),
        'postgres://app:pw-Hunter2-Xq@db:5432/app',
        'pw-Hunter2-Xq',
      ],
      [
        'a class hiding the value in a private field',
        z.string().transform((s) => new Token(s)),
        'tok-Private-77Wz',
        'tok-Private-77Wz',
      ],
      [
        'a class with public fields',
        z
          .object({ user: z.string(), pass: z.string() })
          .transform((o) => Object.assign(Object.create({ kind: 'creds' }) as object, o)),
        JSON.stringify({ user: 'app', pass: 'pass-Public-55Rt' }),
        'pass-Public-55Rt',
      ],
    ])('withholds an echo of a schema output: %s', async (_, schema, raw, echoed) => {
      const source = memorySource({ 'c/out': raw, 'c/other': 'other-Qq8' });
      const store = track(
        new SecretStore(
          defineSecrets({
            out: { id: 'c/out', format: raw.startsWith('{') ? 'json' : 'string', schema },
            other: 'c/other',
          }),
          { source, refreshInterval: false, minRefreshInterval: 0 },
        ),
      );
      await store.load();
      const events: SecretsEvent[] = [];
      store.onEvent((e) => events.push(e));
      source.fail('c/other', 'InternalServiceError', { message: `echo: ${echoed}` });
      await store.refresh('other');
      expect(
        findings(new FragmentFinder([echoed]), {
          events: JSON.stringify(events),
          health: JSON.stringify(store.health()),
        }),
      ).toEqual([]);
    });
  });

  it('a rotation listener whose error code is another secret`s value is reported by name only', async () => {
    const logger = recordingLogger();
    const source = memorySource({ 'l/a': A_VALUE, 'l/b': 'b-1' });
    const store = track(
      new SecretStore(defineSecrets({ a: 'l/a', b: 'l/b' }), {
        source,
        refreshInterval: false,
        minRefreshInterval: 0,
        logger,
      }),
    );
    await store.load();
    store.subscribe('b', () => {
      throw Object.assign(new Error('listener failed'), { code: 'Zq81kPw3xYv' });
    });
    source.set('l/b', 'b-2');
    await store.refresh('b');
    expect(logger.lines.join('\n')).toContain('(message withheld)');
    expect(findings(new FragmentFinder([A_VALUE]), { logs: logger.lines.join('\n') })).toEqual([]);
  });
});

describe('schema issue paths print only the keys the schema declares (defect 10)', () => {
  const RECORD_KEY = 'sk_live_RecordKey9Qw';
  const data = JSON.stringify({ tenants: { [RECORD_KEY]: { plan: 7 } }, password: 5 });

  it.each([
    ['zod', z.object({ tenants: z.record(z.string(), z.object({ plan: z.string() })), password: z.string() })],
    ['valibot', v.object({ tenants: v.record(v.string(), v.object({ plan: v.string() })), password: v.string() })],
    ['arktype', type({ tenants: type.Record('string', { plan: 'string' }), password: 'string' })],
  ])('%s: a record key (a secret) is withheld; the declared keys stay readable', async (_, schema) => {
    const store = track(
      new SecretStore(defineSecrets({ cfg: { id: 'r/cfg', format: 'json', schema } }), {
        source: memorySource({ 'r/cfg': data }),
        bootTimeout: 1_000,
      }),
    );
    const error = await store.load().catch((e: unknown) => e);
    const cause = (error as SecretsLoadError).failures[0];
    expect(cause?.code).toBe('SECRET_VALIDATION_FAILED');
    expect(findings(new FragmentFinder([RECORD_KEY]), errorTexts(error))).toEqual([]);
    expect(cause?.message).toContain('$.tenants.[redacted].plan');
    expect(cause?.message).toContain('$.password');
  });

  it('the error of the schema names the paths the same way', async () => {
    const store = track(
      new SecretStore(
        defineSecrets({
          cfg: {
            id: 'r/cfg',
            format: 'json',
            schema: z.object({ tenants: z.record(z.string(), z.object({ plan: z.string() })) }),
          },
        }),
        { source: memorySource({ 'r/cfg': data }), bootTimeout: 1_000 },
      ),
    );
    await store.load().catch(() => undefined);
    const error = store.health().secrets['cfg'];
    expect(JSON.stringify(error)).not.toContain(RECORD_KEY);
    const failure = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(failure.failures[0]?.message).not.toContain(RECORD_KEY);
    expect(SecretValidationError).toBeDefined();
  });
});

describe('a foreign error code goes through errorCodeName (defect 11)', () => {
  it('a batch Errors[].ErrorCode of 261 characters with a newline and another value becomes UnknownError everywhere', async () => {
    const code = `${'X'.repeat(240)}\n${A_VALUE}`.slice(0, 261);
    expect(code).toHaveLength(261);
    emu.injectFault({
      operation: 'BatchGetSecretValue',
      secretId: 'app/b',
      perSecret: true,
      error: code,
      message: 'nope',
    });
    const logger = recordingLogger();
    const store = track(
      new SecretStore(defineSecrets({ a: 'app/a', b: 'app/b' }), {
        source: awsSecretsManager({ client: client() }),
        bootTimeout: 1_000,
        logger,
      }),
    );
    const events: SecretsEvent[] = [];
    store.onEvent((e) => events.push(e));
    const error = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect(error.failures).toEqual([expect.objectContaining({ name: 'b', code: 'UnknownError' })]);
    const texts = { ...errorTexts(error), ...outputs(store, events, logger.lines) };
    for (const [channel, text] of Object.entries(texts)) {
      expect([channel, text.includes('XXXXXXXXXXXX')]).toEqual([channel, false]);
    }
    expect(findings(new FragmentFinder([A_VALUE]), texts)).toEqual([]);
    expect(store.health().secrets['b']).toMatchObject({ error: 'UnknownError' });
  });
});

describe('a custom source whose error name is foreign text', () => {
  it.each([
    ['a line break and a body', 'Bad\nName: {"a":1}'],
    ['another secret`s value', 'Zq81kPw3xYv'],
  ])('reports UnknownError for %s (health, events, load error)', async (_, name) => {
    const holder = track(
      new SecretStore(defineSecrets({ token: 'x/token' }), { source: memorySource({ 'x/token': A_VALUE }) }),
    );
    await holder.load();
    const source = {
      kind: 'custom',
      fetch: () => Promise.reject(Object.assign(new Error('nope'), { name })),
    };
    const store = track(new SecretStore(defineSecrets({ other: 'c/other' }), { source, bootTimeout: 1_000 }));
    const events: SecretsEvent[] = [];
    store.onEvent((e) => events.push(e));
    const error = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(error.failures).toEqual([expect.objectContaining({ name: 'other', code: 'UnknownError' })]);
    expect(store.health().secrets['other']).toMatchObject({ error: 'UnknownError' });
    const texts = { ...errorTexts(error), events: JSON.stringify(events), health: JSON.stringify(store.health()) };
    for (const [channel, text] of Object.entries(texts))
      expect([channel, text.includes(name)]).toEqual([channel, false]);
  });
});

describe('secret names that collide with object hooks are rejected (defect 7)', () => {
  const RESERVED = [
    'toJSON',
    'toString',
    'inspect',
    'constructor',
    '__proto__',
    'valueOf',
    'then',
    'hasOwnProperty',
    'toLocaleString',
  ];

  it.each(RESERVED)('defineSecrets and new SecretStore reject "%s" with a SecretsConfigError naming it', (name) => {
    const declarations = JSON.parse(`{${JSON.stringify(name)}: "some/id", "ok": "other/id"}`) as SecretDeclarations;
    expect(Object.keys(declarations)).toContain(name);
    expect(() => defineSecrets(declarations)).toThrow(SecretsConfigError);
    expect(() => defineSecrets(declarations)).toThrow(
      new RegExp(`secrets\\.${name.replace(/\$/g, '\\$')}.*cannot be a secret name`),
    );
    expect(() => new SecretStore(declarations, { source: memorySource({}) })).toThrow(SecretsConfigError);
  });

  it('names that only resemble a hook still work, and the snapshot spreads and prints safely', async () => {
    const store = track(
      new SecretStore(defineSecrets({ toJSONKey: 'n/a', inspector: 'n/b', thenable: 'n/c' }), {
        source: memorySource({ 'n/a': 'va-Hook11', 'n/b': 'vb-Hook22', 'n/c': 'vc-Hook33' }),
      }),
    );
    await store.load();
    const snap = store.snapshot();
    expect({ ...snap }).toEqual({ toJSONKey: 'va-Hook11', inspector: 'vb-Hook22', thenable: 'vc-Hook33' });
    expect(JSON.stringify(snap)).toBe('"[redacted]"');
    expect(await Promise.resolve(snap)).toBe(snap);
  });
});

describe('SecretBytes cannot be converted into a well-known key (defect 12)', () => {
  const bytes = SecretBytes.from(Uint8Array.from([1, 2, 3, 250]));

  it.each([
    ['Buffer.from', () => Buffer.from(bytes as unknown as Uint8Array)],
    ['new Uint8Array', () => new Uint8Array(bytes as unknown as ArrayLike<number>)],
    ['Uint8Array.from', () => Uint8Array.from(bytes as unknown as ArrayLike<number>)],
    ['Array.from', () => Array.from(bytes as unknown as ArrayLike<number>)],
    ['spreading', () => [...(bytes as unknown as number[])]],
  ])('%s throws a TypeError that says how to copy the bytes', (_, convert) => {
    expect(convert).toThrow(TypeError);
    expect(convert).toThrow(/toBuffer\(\) or \.toUint8Array\(\)/);
  });

  it('the explicit copies still give the real bytes, and printing still shows [redacted]', () => {
    expect([...bytes.toBuffer()]).toEqual([1, 2, 3, 250]);
    expect([...bytes.toUint8Array()]).toEqual([1, 2, 3, 250]);
    expect(`${bytes}`).toBe('[redacted]');
    expect(JSON.stringify({ bytes })).toBe('{"bytes":"[redacted]"}');
    expect(inspect(bytes)).toBe('SecretBytes [redacted]');
  });
});

describe('a whole-batch error one id causes fails that id alone (defect 14)', () => {
  const bulk = (): SecretDeclarations =>
    defineSecrets({
      ...Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`s${i}`, `bulk/s${i}`])),
      bad: { id: 'bulk/bad', optional: true },
    });

  function breakBatchesWith(id: string): void {
    // As moto and LocalStack do for a secret with no value: the whole call fails, and so does the id alone.
    emu.injectFault({
      operation: 'BatchGetSecretValue',
      secretId: id,
      error: 'ResourceNotFoundException',
      message: 'no value',
    });
    emu.injectFault({
      operation: 'GetSecretValue',
      secretId: id,
      error: 'ResourceNotFoundException',
      message: 'no value',
    });
  }

  it('the 19 good ids load; the bad one fails alone; later refreshes keep it out of the batch', async () => {
    breakBatchesWith('bulk/bad');
    const store = track(
      new SecretStore(bulk(), {
        source: awsSecretsManager({ client: client() }),
        refreshInterval: false,
        minRefreshInterval: 0,
        logger: false,
      }),
    );
    await store.load();
    for (let i = 0; i < 19; i++) expect(store.get(`s${i}`)).toBe(`bulk-value-${i}-Wz4`);
    expect(store.health().secrets['bad']).toMatchObject({ error: 'ResourceNotFoundException' });
    // One batch call, then each id of the failed batch alone, once.
    expect(emu.calls()).toMatchObject({ BatchGetSecretValue: 1, GetSecretValue: 20 });
    emu.resetCalls();
    await store.refresh();
    expect(emu.calls()).toMatchObject({ BatchGetSecretValue: 1, GetSecretValue: 1 });
    expect(store.health().secrets['s3']).toMatchObject({ status: 'fresh' });
  });

  it('stops calling GetSecretValue once it is throttled (no storm)', async () => {
    breakBatchesWith('bulk/bad');
    emu.injectFault({ operation: 'GetSecretValue', error: 'ThrottlingException' });
    const store = track(
      new SecretStore(bulk(), {
        source: awsSecretsManager({ client: client(), concurrency: 1 }),
        refreshInterval: false,
        bootTimeout: 500,
        logger: false,
      }),
    );
    await store.load().catch(() => undefined);
    const calls = emu.calls();
    // Each load round: one batch call, then one GetSecretValue, throttled; the other 19 are not
    // called. (The boot deadline may cut the last round between its two calls.)
    expect(calls.BatchGetSecretValue).toBeGreaterThanOrEqual(1);
    expect(calls.GetSecretValue).toBeGreaterThanOrEqual(1);
    expect(calls.GetSecretValue).toBeLessThanOrEqual(calls.BatchGetSecretValue ?? 0);
  });
});
