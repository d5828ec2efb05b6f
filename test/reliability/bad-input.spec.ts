/**
 * Bad input, table-driven: declarations and options are rejected at construction with a
 * SecretsConfigError naming the option (with a "did you mean" hint for typos); bad secret contents
 * fail load() with a SecretsLoadError whose failure names the secret and the reason. No message,
 * JSON or inspect output of any error contains a value.
 */
import { z } from 'zod';
import {
  awsSecretsManager,
  defineSecrets,
  memorySource,
  MAX_SECRET_BYTES,
  SecretParseError,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  SecretValidationError,
  type MemoryValue,
  type SecretDeclaration,
  type SecretStoreOptions,
} from '@hush/core';
import { normalizeDeclarations } from '@hush/core/internal';
// parseSecret is internal (not in the public entry); the per-secret error class is asserted through it.
import { parseSecret } from '../../packages/core/src/parse';
import { allRenderings } from './helpers';

const ID = 'app/secret';
const source = () => memorySource({ [ID]: 'ok-CANARY' });

interface ConfigCase {
  readonly input: string;
  readonly run: () => unknown;
  /** The option path the error names (SecretsConfigError.option). */
  readonly option: string;
  /** Text the message must contain (the offending name, and the hint when there is one). */
  readonly mentions: readonly string[];
}

const decl = (d: SecretDeclaration | Record<string, unknown>) => () => defineSecrets({ db: d as SecretDeclaration });
const opts = (o: Record<string, unknown>) => () =>
  new SecretStore(defineSecrets({ db: ID }), { source: source(), ...o } as SecretStoreOptions);

const configCases: ConfigCase[] = [
  { input: 'no declarations ({})', run: () => defineSecrets({}), option: 'secrets', mentions: ['no secrets declared'] },
  {
    input: 'declarations not an object (array)',
    run: () => defineSecrets([] as never),
    option: 'secrets',
    mentions: ['expected an object'],
  },
  {
    input: 'empty secret name ("")',
    run: () => defineSecrets({ '': ID }),
    option: 'secrets.',
    mentions: ['invalid secret name ""'],
  },
  {
    input: 'secret name with a space',
    run: () => defineSecrets({ 'my db': ID }),
    option: 'secrets.my db',
    mentions: ['"my db"'],
  },
  {
    input: 'duplicate names (differ only by case: apiKey / apikey)',
    run: () => defineSecrets({ apiKey: 'app/a', apikey: 'app/b' }),
    option: 'secrets.apikey',
    mentions: ['"apikey"', '"apiKey"', 'duplicate'],
  },
  { input: 'empty id ("")', run: decl(''), option: 'secrets.db.id', mentions: ['id is empty'] },
  { input: 'blank id ("   ")', run: decl({ id: '   ' }), option: 'secrets.db.id', mentions: ['id is empty'] },
  { input: 'id not a string (42)', run: decl({ id: 42 }), option: 'secrets.db.id', mentions: ['id is empty'] },
  {
    input: 'id over 2048 characters',
    run: decl({ id: 'x'.repeat(2049) }),
    option: 'secrets.db.id',
    mentions: ['2048'],
  },
  {
    input: 'unknown format ("yaml")',
    run: decl({ id: ID, format: 'yaml' }),
    option: 'secrets.db.format',
    mentions: ['"yaml"', '"json"'],
  },
  {
    input: 'key on a string secret',
    run: decl({ id: ID, format: 'string', key: 'password' }),
    option: 'secrets.db.key',
    mentions: ['format is "string"'],
  },
  {
    input: 'key on a binary secret',
    run: decl({ id: ID, format: 'binary', key: 'password' }),
    option: 'secrets.db.key',
    mentions: ['format is "binary"'],
  },
  { input: 'empty key ("")', run: decl({ id: ID, key: '' }), option: 'secrets.db.key', mentions: ['non-empty'] },
  {
    input: 'unknown declaration key ("versionstage")',
    run: decl({ id: ID, versionstage: 'AWSPREVIOUS' }),
    option: 'secrets.db.versionstage',
    mentions: ['Did you mean `versionStage`?'],
  },
  {
    input: 'a value pasted into the declaration ({ value: "…" })',
    run: decl({ id: ID, value: 'pasted-CANARY-value' }),
    option: 'secrets.db.value',
    mentions: ['unknown option "value"'],
  },
  {
    input: 'schema that is not a Standard Schema',
    run: decl({ id: ID, schema: { parse() {} } }),
    option: 'secrets.db.schema',
    mentions: ['Standard Schema'],
  },
  {
    input: 'optional: "yes"',
    run: decl({ id: ID, optional: 'yes' }),
    option: 'secrets.db.optional',
    mentions: ['true or false'],
  },
  {
    input: 'empty versionStage',
    run: decl({ id: ID, versionStage: '' }),
    option: 'secrets.db.versionStage',
    mentions: ['non-empty'],
  },
  {
    input: 'unknown store option ("refreshIntervall")',
    run: opts({ refreshIntervall: '5m' }),
    option: 'SecretStore.refreshIntervall',
    mentions: ['Did you mean `refreshInterval`?'],
  },
  {
    input: 'unknown store option ("maxStale")',
    run: opts({ maxStale: '1h' }),
    option: 'SecretStore.maxStale',
    mentions: ['Did you mean `maxStaleness`?'],
  },
  {
    input: 'negative refreshInterval (-1)',
    run: opts({ refreshInterval: -1 }),
    option: 'SecretStore.refreshInterval',
    mentions: ['negative'],
  },
  {
    input: 'NaN maxStaleness',
    run: opts({ maxStaleness: Number.NaN }),
    option: 'SecretStore.maxStaleness',
    mentions: ['finite'],
  },
  {
    input: 'Infinity bootTimeout',
    run: opts({ bootTimeout: Number.POSITIVE_INFINITY }),
    option: 'SecretStore.bootTimeout',
    mentions: ['finite'],
  },
  {
    input: 'zero bootTimeout',
    run: opts({ bootTimeout: 0 }),
    option: 'SecretStore.bootTimeout',
    mentions: ['greater than 0'],
  },
  {
    input: 'malformed duration ("5 minutes")',
    run: opts({ fetchTimeout: '5 minutes' }),
    option: 'SecretStore.fetchTimeout',
    mentions: ['"30s"'],
  },
  {
    input: 'negative duration string ("-5s")',
    run: opts({ maxStaleness: '-5s' }),
    option: 'SecretStore.maxStaleness',
    mentions: ['cannot parse'],
  },
  {
    input: 'duration past the timer limit (30 days)',
    run: opts({ maxStaleness: '30d' }),
    option: 'SecretStore.maxStaleness',
    mentions: ['maximum timer delay'],
  },
  {
    input: 'duration of the wrong type (true)',
    run: opts({ refreshInterval: true }),
    option: 'SecretStore.refreshInterval',
    mentions: ['boolean'],
  },
  {
    input: 'refreshJitter out of range (1.5)',
    run: opts({ refreshJitter: 1.5 }),
    option: 'SecretStore.refreshJitter',
    mentions: ['[0, 1)'],
  },
  {
    input: 'unknown backoff key ("mx")',
    run: opts({ backoff: { mx: '1m' } }),
    option: 'SecretStore.backoff.mx',
    mentions: ['Did you mean `max`?'],
  },
  {
    input: 'negative backoff.initial',
    run: opts({ backoff: { initial: -10 } }),
    option: 'SecretStore.backoff.initial',
    mentions: ['negative'],
  },
  {
    input: 'missing source',
    run: opts({ source: undefined }),
    option: 'SecretStore.source',
    mentions: ['source is required'],
  },
  {
    input: 'no options at all',
    run: () => new SecretStore(defineSecrets({ db: ID }), undefined as never),
    option: 'SecretStore',
    mentions: ['options are required'],
  },
  {
    input: 'unknown awsSecretsManager option ("regoin")',
    run: () => awsSecretsManager({ regoin: 'eu-west-1' } as never),
    option: 'awsSecretsManager.regoin',
    mentions: ['Did you mean `region`?'],
  },
];

describe('declarations and options', () => {
  it.each(configCases.map((c) => [c.input, c] as const))('%s', (_input, c) => {
    let error: unknown;
    try {
      c.run();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SecretsConfigError);
    const e = error as SecretsConfigError;
    expect(e.code).toBe('SECRETS_CONFIG_INVALID');
    expect(e.option).toBe(c.option);
    expect(e.message).toContain(`\`${c.option}\``);
    for (const m of c.mentions) expect(e.message).toContain(m);
    expect(allRenderings(e)).not.toContain('CANARY');
  });
});

interface ContentCase {
  readonly input: string;
  readonly decl: SecretDeclaration;
  readonly value: MemoryValue;
  /** SecretFailure.code: `SECRET_PARSE_FAILED:<reason>` or `SECRET_VALIDATION_FAILED`. */
  readonly code: string;
  readonly errorClass: typeof SecretParseError | typeof SecretValidationError;
  /** Text the failure message must contain. */
  readonly mentions?: readonly string[];
}

const nested = (depth: number) => `${'{"a":'.repeat(depth)}"deep-CANARY"${'}'.repeat(depth)}`;
const bytes = (text: string) => new TextEncoder().encode(text);

const contentCases: ContentCase[] = [
  {
    input: 'invalid JSON (unterminated)',
    decl: { id: ID, format: 'json' },
    value: '{"password": "pw-CANARY',
    code: 'SECRET_PARSE_FAILED:INVALID_JSON',
    errorClass: SecretParseError,
    mentions: ['not valid JSON'],
  },
  {
    input: 'invalid JSON (a bare word, which V8 quotes in its message)',
    decl: { id: ID, format: 'json' },
    value: 'pw-CANARY-bare',
    code: 'SECRET_PARSE_FAILED:INVALID_JSON',
    errorClass: SecretParseError,
  },
  {
    input: 'JSON array where key is used',
    decl: { id: ID, key: 'password' },
    value: '["pw-CANARY"]',
    code: 'SECRET_PARSE_FAILED:NOT_AN_OBJECT',
    errorClass: SecretParseError,
    mentions: ['an array'],
  },
  {
    input: 'JSON string where key is used',
    decl: { id: ID, key: 'password' },
    value: '"pw-CANARY"',
    code: 'SECRET_PARSE_FAILED:NOT_AN_OBJECT',
    errorClass: SecretParseError,
    mentions: ['a string'],
  },
  {
    input: 'JSON null where key is used',
    decl: { id: ID, key: 'password' },
    value: 'null',
    code: 'SECRET_PARSE_FAILED:NOT_AN_OBJECT',
    errorClass: SecretParseError,
    mentions: ['null'],
  },
  {
    input: 'missing key',
    decl: { id: ID, key: 'password' },
    value: { username: 'user-CANARY' },
    code: 'SECRET_PARSE_FAILED:MISSING_KEY',
    errorClass: SecretParseError,
    // Key names present are not listed (in a map keyed by secrets they are the secrets).
    mentions: ['"password"', 'the object has 1 other key (names not shown)'],
  },
  {
    input: 'key holding a number, no schema',
    decl: { id: ID, key: 'port' },
    value: { port: 54321, pw: 'pw-CANARY' },
    code: 'SECRET_PARSE_FAILED:KEY_NOT_STRING',
    errorClass: SecretParseError,
    mentions: ['a number'],
  },
  {
    input: 'key holding an empty string',
    decl: { id: ID, key: 'password' },
    value: { password: '', user: 'u-CANARY' },
    code: 'SECRET_PARSE_FAILED:EMPTY',
    errorClass: SecretParseError,
  },
  {
    input: 'binary where a string is declared',
    decl: ID,
    value: bytes('bin-CANARY'),
    code: 'SECRET_PARSE_FAILED:BINARY_AS_STRING',
    errorClass: SecretParseError,
    mentions: ['format "binary"'],
  },
  {
    input: 'binary where JSON is declared',
    decl: { id: ID, format: 'json' },
    value: bytes('{"a":"bin-CANARY"}'),
    code: 'SECRET_PARSE_FAILED:BINARY_AS_STRING',
    errorClass: SecretParseError,
  },
  {
    input: 'string where binary is declared',
    decl: { id: ID, format: 'binary' },
    value: 'str-CANARY',
    code: 'SECRET_PARSE_FAILED:STRING_AS_BINARY',
    errorClass: SecretParseError,
  },
  {
    input: 'empty string',
    decl: ID,
    value: '',
    code: 'SECRET_PARSE_FAILED:EMPTY',
    errorClass: SecretParseError,
    mentions: ['empty'],
  },
  {
    input: 'empty binary',
    decl: { id: ID, format: 'binary' },
    value: new Uint8Array(0),
    code: 'SECRET_PARSE_FAILED:EMPTY',
    errorClass: SecretParseError,
  },
  {
    input: 'value over 64 KiB (65,537 bytes)',
    decl: ID,
    value: `CANARY${'x'.repeat(MAX_SECRET_BYTES - 5)}`,
    code: 'SECRET_PARSE_FAILED:TOO_LARGE',
    errorClass: SecretParseError,
    mentions: ['65536'],
  },
  {
    input: 'multi-byte value over 64 KiB in bytes (40,000 chars)',
    decl: ID,
    value: `CANARY${'é'.repeat(40_000)}`,
    code: 'SECRET_PARSE_FAILED:TOO_LARGE',
    errorClass: SecretParseError,
  },
  {
    input: 'binary over 64 KiB',
    decl: { id: ID, format: 'binary' },
    value: new Uint8Array(MAX_SECRET_BYTES + 1).fill(67),
    code: 'SECRET_PARSE_FAILED:TOO_LARGE',
    errorClass: SecretParseError,
  },
  {
    input: 'deeply nested JSON (depth 40)',
    decl: { id: ID, format: 'json' },
    value: nested(40),
    code: 'SECRET_PARSE_FAILED:TOO_DEEP',
    errorClass: SecretParseError,
    mentions: ['32 levels'],
  },
  {
    input: 'very deeply nested JSON (depth 10,000)',
    decl: { id: ID, format: 'json' },
    value: nested(10_000),
    code: 'SECRET_PARSE_FAILED:TOO_DEEP',
    errorClass: SecretParseError,
  },
  {
    input: 'key "__proto__"',
    decl: { id: ID, format: 'json' },
    value: '{"__proto__": {"admin": true}, "pw": "pw-CANARY"}',
    code: 'SECRET_PARSE_FAILED:UNSAFE_KEY',
    errorClass: SecretParseError,
    mentions: ['"__proto__"'],
  },
  {
    input: 'key "constructor" (nested)',
    decl: { id: ID, key: 'pw' },
    value: '{"pw": "pw-CANARY", "x": {"constructor": {"prototype": {}}}}',
    code: 'SECRET_PARSE_FAILED:UNSAFE_KEY',
    errorClass: SecretParseError,
    mentions: ['$.x.constructor'],
  },
  {
    input: 'key "prototype" in an array item',
    decl: { id: ID, format: 'json' },
    value: '[{"prototype": "pw-CANARY"}]',
    code: 'SECRET_PARSE_FAILED:UNSAFE_KEY',
    errorClass: SecretParseError,
    mentions: ['$[0].prototype'],
  },
  {
    input: 'schema failure (wrong type)',
    decl: { id: ID, format: 'json', schema: z.object({ port: z.number() }) },
    value: { port: 'port-CANARY' },
    code: 'SECRET_VALIDATION_FAILED',
    errorClass: SecretValidationError,
    mentions: ['$.port'],
  },
  {
    input: 'schema failure whose message quotes the value',
    decl: {
      id: ID,
      key: 'token',
      schema: z.string().refine(() => false, { error: (issue) => `bad token ${String(issue.input)}` }),
    },
    value: { token: 'tok-CANARY-quoted' },
    code: 'SECRET_VALIDATION_FAILED',
    errorClass: SecretValidationError,
    mentions: ['$: does not match the schema (the schema message is withheld: it quotes the value)'],
  },
];

describe('secret contents', () => {
  it.each(contentCases.map((c) => [c.input, c] as const))('%s', async (_input, c) => {
    const errors: unknown[] = [];
    const store = new SecretStore(defineSecrets({ mySecret: c.decl }), {
      source: memorySource({ [ID]: c.value }),
      refreshInterval: false,
      logger: { info() {}, warn() {}, error: (m, f) => void errors.push(m, f) },
    });
    let error: unknown;
    try {
      await store.load();
    } catch (e) {
      error = e;
    }
    await store.close();
    expect(error).toBeInstanceOf(SecretsLoadError);
    const e = error as SecretsLoadError;
    expect(e.code).toBe('SECRETS_LOAD_FAILED');
    expect(e.failures).toHaveLength(1);
    const [failure] = e.failures;
    expect(failure).toMatchObject({ name: 'mySecret', id: ID, code: c.code });
    expect(failure!.message).toContain('Secret "mySecret"');
    for (const m of c.mentions ?? []) expect(failure!.message).toContain(m);
    expect(e.message).toContain('mySecret');
    expect(allRenderings(e)).not.toContain('CANARY');
    expect(allRenderings(store)).not.toContain('CANARY');
    expect(JSON.stringify(errors)).not.toContain('CANARY');
    // The per-secret error class and code are visible through the store's event stream too.
    const store2 = new SecretStore(defineSecrets({ mySecret: c.decl }), {
      source: memorySource({ [ID]: c.value }),
      refreshInterval: false,
    });
    let classError: unknown;
    store2.onEvent((ev) => {
      if (ev.type === 'refresh-failed') classError = ev;
    });
    await store2.load().catch(() => undefined);
    await store2.close();
    expect(classError).toMatchObject({ name: 'mySecret', code: c.code });
    // The per-secret error: its class, code, secret name, and no value.
    const [d] = normalizeDeclarations({ mySecret: c.decl });
    const raw =
      c.value instanceof Uint8Array
        ? { versionId: 'v1', binary: c.value }
        : { versionId: 'v1', string: typeof c.value === 'string' ? c.value : JSON.stringify(c.value) };
    const parseError = await parseSecret(d!, raw).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(parseError).toBeInstanceOf(c.errorClass);
    expect(parseError).toMatchObject({ secretName: 'mySecret', secretId: ID });
    expect((parseError as Error).message).toContain('Secret "mySecret"');
    expect(allRenderings(parseError)).not.toContain('CANARY');
  });

  it('accepts a value of exactly 64 KiB (the AWS limit) and a JSON nesting of 32 levels', async () => {
    const big = `CANARY${'x'.repeat(MAX_SECRET_BYTES - 6)}`;
    const store = new SecretStore(defineSecrets({ big: 'app/big', deep: { id: 'app/deep', format: 'json' } }), {
      source: memorySource({ 'app/big': big, 'app/deep': nested(31) }),
      refreshInterval: false,
    });
    await store.load();
    expect(store.get('big')).toHaveLength(MAX_SECRET_BYTES);
    expect(Object.isFrozen(store.get('deep'))).toBe(true);
    await store.close();
  });
});
