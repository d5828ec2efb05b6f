/**
 * ssmParameterStore() against @hush/emulator's Parameter Store, with the real SDK v3 SSM client
 * over HTTP: GetParameters batching, selectors, types, references to Secrets Manager, paths,
 * not-found names, throttling, and the leak rule on every output.
 */
import { inspect } from 'node:util';
import {
  awsSecretsManager,
  defineSecrets,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  ssmParameterStore,
  type SecretDeclarations,
  type SecretsEvent,
} from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { FragmentFinder, errorTexts } from '../../../test/leaks/fragments';
import { recordingLogger } from '../../../test/support';

const HOSTILE = {
  quotes: `q-CANARY "double" 'single' \`back\``,
  backslash: 'b-CANARY \\ \\n \\u0000 end',
  newline: 'n-CANARY line1\nline2\r\nline3\ttab',
  unicode: 'u-CANARY żółć 日本語 🔑 \u202e',
  long: `l-CANARY-${'L'.repeat(4000)}`,
};
const SECRET_JSON = JSON.stringify({ password: 'sm-CANARY-pw-1' });

const logger = recordingLogger();
let emu: Emulator;

function ssm(extra: Parameters<typeof ssmParameterStore>[0] = {}) {
  return ssmParameterStore({ clientConfig: { ...emu.clientConfig(), maxAttempts: 2 }, ...extra });
}

beforeAll(async () => {
  const parameters: Record<string, unknown> = {
    '/app/url': 'https://example.test/a?b=c',
    '/app/hosts': { value: 'h1.internal,h2.internal,h3.internal', type: 'StringList' },
    '/app/key': { value: 'key-CANARY-ssm-1', type: 'SecureString', labels: ['prod'] },
    '/cfg/prod/db/host': 'db.internal',
    '/cfg/prod/db/port': '5432',
    '/cfg/prod/feature': 'on',
    '/cfg/prod/token': { value: 'tok-CANARY-path-1', type: 'SecureString' },
  };
  for (const [k, v] of Object.entries(HOSTILE)) parameters[`/hostile/${k}`] = { value: v, type: 'SecureString' };
  for (let i = 0; i < 23; i++) parameters[`/bulk/p${i}`] = `bulk-${i}`;
  for (let i = 0; i < 25; i++) parameters[`/paged/p${String(i).padStart(2, '0')}`] = `paged-${i}`;
  emu = await startEmulator({
    seed: { secrets: { 'prod/app/db': SECRET_JSON } },
    parameters: parameters as never,
  });
});
afterEach(() => {
  emu.clearFaults();
  emu.setThrottle(null);
  emu.resetCalls();
});
afterAll(async () => {
  await emu.close();
  const finder = new FragmentFinder([
    ...Object.values(HOSTILE),
    'key-CANARY-ssm-1',
    'key-CANARY-ssm-2',
    'tok-CANARY-path-1',
    'sm-CANARY-pw-1',
  ]);
  expect(finder.find('log lines', logger.lines.join('\n'))).toEqual([]);
});

function bulk(n: number): SecretDeclarations {
  const d: Record<string, { id: string }> = {};
  for (let i = 0; i < n; i++) d[`p${i}`] = { id: `/bulk/p${i}` };
  return defineSecrets(d);
}

describe('ssmParameterStore() against the emulator (real SDK over HTTP)', () => {
  it('loads 23 parameters in exactly 3 GetParameters calls (10 names a call), with decryption', async () => {
    const store = new SecretStore(bulk(23), { source: ssm(), refreshInterval: false, logger });
    await store.load();
    expect(store.get('p0')).toBe('bulk-0');
    expect(store.get('p22')).toBe('bulk-22');
    expect(emu.calls().GetParameters).toBe(3);
    expect(store.stats()).toMatchObject({ source: 'ssm-parameter-store', calls: { GetParameters: 3 } });
    await store.close();
  });

  it('reads String, StringList (as string[] with format "list"), SecureString, versions and labels', async () => {
    const { version } = emu.putParameter('/app/key', 'key-CANARY-ssm-2');
    expect(version).toBe(2);
    const store = new SecretStore(
      defineSecrets({
        url: '/app/url',
        hosts: { id: '/app/hosts', format: 'list' },
        hostsText: '/app/hosts',
        key: '/app/key',
        keyV1: '/app/key:1',
        keyPinned: { id: '/app/key', versionId: '1' },
        keyProd: '/app/key:prod',
        keyByStage: { id: '/app/key', versionStage: 'prod' },
      }),
      { source: ssm(), refreshInterval: false, logger },
    );
    await store.load();
    expect(store.get('url')).toBe('https://example.test/a?b=c');
    // Typed from the declaration: format 'list' is a readonly string[].
    const hosts: readonly string[] = store.get('hosts');
    expect(hosts).toEqual(['h1.internal', 'h2.internal', 'h3.internal']);
    expect(Object.isFrozen(hosts)).toBe(true);
    expect(store.get('hostsText')).toBe('h1.internal,h2.internal,h3.internal');
    expect(store.get('key')).toBe('key-CANARY-ssm-2');
    expect(store.get('keyV1')).toBe('key-CANARY-ssm-1');
    expect(store.get('keyPinned')).toBe('key-CANARY-ssm-1');
    expect(store.get('keyProd')).toBe('key-CANARY-ssm-1');
    expect(store.get('keyByStage')).toBe('key-CANARY-ssm-1');
    // The version id is the parameter's Version.
    expect(store.health().secrets.key?.version).toBe('2');
    expect(store.health().secrets.keyV1?.version).toBe('1');
    // Every name in one call: `/app/key:1` is declared twice and sent once.
    expect(emu.calls().GetParameters).toBe(1);
    await store.close();
    // Back to one version-1 value for the other tests.
    emu.deleteParameter('/app/key');
    emu.putParameter('/app/key', 'key-CANARY-ssm-1', { type: 'SecureString', labels: ['prod'] });
  });

  it('reads a Secrets Manager secret through /aws/reference/secretsmanager/, with its VersionId', async () => {
    const store = new SecretStore(
      defineSecrets({
        db: { id: '/aws/reference/secretsmanager/prod/app/db', key: 'password' },
        dbPrevious: { id: '/aws/reference/secretsmanager/prod/app/db', versionStage: 'AWSPREVIOUS', optional: true },
      }),
      { source: ssm(), refreshInterval: false, logger },
    );
    await store.load();
    expect(store.get('db')).toBe('sm-CANARY-pw-1');
    expect(store.get('dbPrevious')).toBeUndefined();
    const current = emu.store.find('prod/app/db')!;
    const currentId = [...current.versions.keys()].find((id) => current.versions.get(id)!.stages.has('AWSCURRENT'))!;
    expect(store.health().secrets.db?.version).toBe(currentId.slice(0, 8));
    // A rotation is a new version: the next refresh sees it.
    emu.rotate('prod/app/db', JSON.stringify({ password: 'sm-CANARY-pw-2' }));
    await store.refresh('db');
    expect(store.get('db')).toBe('sm-CANARY-pw-2');
    await store.refresh('dbPrevious');
    expect(store.get('dbPrevious')).toBe(SECRET_JSON);
    await store.close();
  });

  it('InvalidParameters fail only their names, with ParameterNotFound naming the parameter', async () => {
    const store = new SecretStore(
      defineSecrets({
        url: '/app/url',
        gone: '/app/does-not-exist',
        goneVersion: '/app/url:99',
        maybe: { id: '/app/maybe', optional: true },
      }),
      { source: ssm(), refreshInterval: false, bootTimeout: 2_000, logger },
    );
    const error = await store.load().then(
      () => undefined,
      (e: unknown) => e as SecretsLoadError,
    );
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect(error!.failures.map((f) => [f.name, f.code])).toEqual([
      ['gone', 'ParameterNotFound'],
      ['goneVersion', 'ParameterNotFound'],
    ]);
    expect(error!.message).toContain('parameter "/app/does-not-exist" not found');
    expect(error!.message).toContain('parameter "/app/url:99" not found');
    // Not retried: one call.
    expect(emu.calls().GetParameters).toBe(1);
    expect(logger.records.some((r) => r.fields.event === 'optional-missing' && r.level === 'info')).toBe(true);
    await store.close();
  });

  it('a bad selector fails alone: the call is split so the other names load', async () => {
    const store = new SecretStore(defineSecrets({ url: '/app/url', bad: '/app/url:a:b' }), {
      source: ssm(),
      refreshInterval: false,
      bootTimeout: 2_000,
      logger,
    });
    const error = await store.load().then(
      () => undefined,
      (e: unknown) => e as SecretsLoadError,
    );
    expect(error!.failures.map((f) => [f.name, f.code])).toEqual([['bad', 'ValidationException']]);
    expect(store.health().secrets.url?.status).toBe('fresh');
    await store.close();
  });

  it('a path declaration is one record of relative names, paginated, refreshed as a unit', async () => {
    const events: SecretsEvent[] = [];
    const store = new SecretStore(
      defineSecrets({
        cfg: { id: '/cfg/prod/', path: true },
        cfgAll: { id: '/cfg/prod', path: true, recursive: true },
        paged: { id: '/paged', path: true },
      }),
      { source: ssm(), refreshInterval: false, minRefreshInterval: 0, logger },
    );
    store.onEvent((e) => events.push(e));
    await store.load();
    const cfg: Readonly<Record<string, string>> = store.get('cfg');
    expect(cfg).toEqual({ feature: 'on', token: 'tok-CANARY-path-1' });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(store.get('cfgAll')).toEqual({
      'db/host': 'db.internal',
      'db/port': '5432',
      feature: 'on',
      token: 'tok-CANARY-path-1',
    });
    expect(Object.keys(store.get('paged'))).toHaveLength(25);
    // 25 parameters at 10 a page: 3 pages for /paged, 1 each for the others.
    expect(emu.calls().GetParametersByPath).toBe(5);
    const before = store.health().secrets.cfgAll!.version;
    emu.putParameter('/cfg/prod/db/port', '6543');
    // An EventBridge "Parameter Store Change" names one parameter: the paths holding it refresh.
    const refreshed = await store.invalidate(['/cfg/prod/db/port']);
    expect(refreshed).toEqual(['cfgAll']);
    expect(store.get('cfgAll')['db/port']).toBe('6543');
    expect(store.health().secrets.cfgAll!.version).not.toBe(before);
    expect(events.some((e) => e.type === 'rotated' && e.name === 'cfgAll')).toBe(true);
    expect(inspect(store.snapshot())).not.toContain('CANARY');
    await store.close();
  });

  it('an empty path is ParameterNotFound; a path on a source without paths is a SecretsConfigError', async () => {
    const store = new SecretStore(defineSecrets({ none: { id: '/nothing/here/', path: true } }), {
      source: ssm(),
      bootTimeout: 1_000,
      logger,
    });
    await expect(store.load()).rejects.toThrow(/ParameterNotFound: no parameter under path "\/nothing\/here\/"/);
    await store.close();
    expect(
      () =>
        new SecretStore(defineSecrets({ cfg: { id: '/cfg/prod/', path: true } }), {
          source: awsSecretsManager({ region: 'us-east-1' }),
        }),
    ).toThrow(SecretsConfigError);
    expect(() => defineSecrets({ x: { id: '/a', recursive: true } })).toThrow(/add `path: true`/);
    expect(() => defineSecrets({ x: { id: '/a', path: true, format: 'binary' } })).toThrow(SecretsConfigError);
  });

  it('boots through throttling under a low quota (SDK retries with jitter, then the store backs off)', async () => {
    emu.setThrottle('ssm:get', { ratePerSecond: 2, burst: 1 });
    const store = new SecretStore(bulk(23), {
      source: ssm(),
      refreshInterval: false,
      bootTimeout: 20_000,
      backoff: { initial: 200, max: 1_000 },
      logger,
    });
    await store.load();
    expect(store.get('p22')).toBe('bulk-22');
    const stats = store.stats();
    expect(emu.throttled()).toBeGreaterThan(0);
    expect(stats.attempts.GetParameters).toBeGreaterThan(3);
    await store.close();
  });

  it('hostile values arrive intact, and no output of the store carries any of them', async () => {
    const decls: Record<string, string> = {};
    for (const k of Object.keys(HOSTILE)) decls[k] = `/hostile/${k}`;
    const options = {
      source: ssm(),
      refreshInterval: false as const,
      minRefreshInterval: 0,
      bootTimeout: 1_500,
      backoff: { initial: 50, max: 100 },
      logger,
    };
    const store = new SecretStore(defineSecrets(decls), options);
    await store.load();
    for (const [k, v] of Object.entries(HOSTILE)) expect(store.get(k as never)).toBe(v);
    // Failures whose foreign text quotes the values go through the store's (and the process's) redaction.
    emu.injectFault({
      operation: 'GetParameters',
      error: 'InternalServerError',
      status: 500,
      message: `boom ${HOSTILE.quotes} ${HOSTILE.unicode} ${HOSTILE.newline}`,
    });
    await store.refresh();
    const other = new SecretStore(defineSecrets(decls), { ...options, source: ssm() });
    const error = await other.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsLoadError);
    await other.close();
    const finder = new FragmentFinder(Object.values(HOSTILE));
    const channels = {
      ...errorTexts(error),
      health: JSON.stringify(store.health()),
      stats: JSON.stringify(store.stats()),
      inspect: inspect(store, { depth: 10, showHidden: true }),
      json: JSON.stringify(store),
      snapshot: inspect(store.snapshot()) + JSON.stringify(store.snapshot()),
      logs: logger.lines.join('\n'),
    };
    try {
      expect(store.health().secrets.quotes?.status).toBe('error');
      for (const [channel, text] of Object.entries(channels)) expect(finder.find(channel, text)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('one store reads a Secrets Manager secret and a parameter side by side from one endpoint', async () => {
    // An endpoint of its own: the exact call counts cannot meet a call another test's store sent
    // just before its close() (in flight, it reaches the shared emulator after resetCalls()).
    const own = await startEmulator({
      seed: { secrets: { 'prod/app/db': SECRET_JSON } },
      parameters: {
        '/app/url': 'https://example.test/a?b=c',
        '/app/hosts': { value: 'h1.internal,h2.internal,h3.internal', type: 'StringList' },
      } as never,
    });
    const store = new SecretStore(
      defineSecrets({
        db: { id: 'prod/app/db', key: 'password' },
        url: { id: '/app/url', source: 'ssm' },
        hosts: { id: '/app/hosts', source: 'ssm', format: 'list' },
      }),
      {
        source: awsSecretsManager({ clientConfig: own.clientConfig() }),
        sources: { ssm: ssmParameterStore({ clientConfig: { ...own.clientConfig(), maxAttempts: 2 } }) },
        refreshInterval: false,
        logger,
      },
    );
    try {
      await store.load();
      expect(store.get('db')).toMatch(/^sm-CANARY-pw-/);
      expect(store.get('url')).toBe('https://example.test/a?b=c');
      expect(store.get('hosts')).toEqual(['h1.internal', 'h2.internal', 'h3.internal']);
      expect(own.calls()).toMatchObject({ BatchGetSecretValue: 1, GetParameters: 1 });
      expect(store.stats().sources).toMatchObject({
        default: { source: 'aws-secrets-manager', calls: { BatchGetSecretValue: 1 } },
        ssm: { source: 'ssm-parameter-store', calls: { GetParameters: 1 } },
      });
    } finally {
      await store.close();
      await own.close();
    }
  });

  it('rejects bad options with SecretsConfigError naming them', () => {
    expect(() => ssmParameterStore({ regoin: 'x' } as never)).toThrow(/ssmParameterStore/);
    expect(() => ssmParameterStore({ region: 'us-east-1', concurrency: 0 })).toThrow(SecretsConfigError);
    expect(() => ssmParameterStore({ client: {} as never })).toThrow(SecretsConfigError);
  });
});
