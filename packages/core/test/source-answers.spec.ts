import {
  awsSecretsManager,
  defineSecrets,
  SecretsLoadError,
  SecretStore,
  secretsManagerAgent,
  type Source,
} from '@hush/core';
import { startAgent, startEmulator, type Agent, type Emulator } from '@hush/emulator';
import { recordingLogger } from '../../../test/support';

const API = 'prod/app/api-key';
const OTHER = 'prod/app/other';
const secrets = defineSecrets({ apiKey: API });
const logger = recordingLogger();

let emu: Emulator;
let agent: Agent;
const stores: SecretStore[] = [];

beforeEach(async () => {
  emu = await startEmulator({ seed: { [API]: 'key-CANARY-1', [OTHER]: 'other-CANARY-"\\\n' } });
  agent = await startAgent({ emulator: emu, token: 'test', ttlSeconds: 0 });
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await agent.close();
  await emu.close();
});
afterAll(() => expect(logger.lines.join('\n')).not.toContain('CANARY'));

type Via = 'BatchGetSecretValue' | 'GetSecretValue' | 'agent';
const VIAS: Via[] = ['BatchGetSecretValue', 'GetSecretValue', 'agent'];

function source(via: Via): Source {
  if (via === 'agent') return secretsManagerAgent({ url: agent.url, token: 'test' });
  return awsSecretsManager({
    region: 'us-east-1',
    endpoint: emu.url,
    batch: via === 'BatchGetSecretValue',
    clientConfig: { credentials: emu.clientConfig().credentials, maxAttempts: 1 },
  });
}

function newStore(via: Via, extra: object = {}): SecretStore<typeof secrets> {
  const s = new SecretStore(secrets, {
    source: source(via),
    refreshInterval: false,
    minRefreshInterval: 0,
    bootTimeout: 400,
    backoff: { initial: 20, max: 50 },
    logger,
    ...extra,
  });
  stores.push(s as unknown as SecretStore);
  return s;
}

/** Rewrites every answer about `API` (the agent reads the emulator in process, so it relays it). */
function rewrite(via: Via, change: (entry: Record<string, unknown>) => Record<string, unknown>): void {
  if (via === 'BatchGetSecretValue') {
    emu.injectFault({
      operation: via,
      rewrite: (body) => ({
        ...body,
        SecretValues: (body.SecretValues as Record<string, unknown>[]).map((e) => (e.Name === API ? change(e) : e)),
      }),
    });
  } else {
    emu.injectFault({ operation: 'GetSecretValue', secretId: API, rewrite: change });
  }
}

/** Everything that must keep working whatever the source answered. */
function expectUsable(store: SecretStore<typeof secrets>, value: string, code: string): void {
  expect(store.get('apiKey')).toBe(value);
  const health = store.health();
  expect(health.secrets.apiKey).toMatchObject({ status: 'error', error: code });
  expect(() => JSON.stringify(store)).not.toThrow();
  expect(JSON.stringify(store.health())).not.toContain('CANARY');
}

const malformed = (via: Via) => (via === 'agent' ? 'InvalidAgentResponse' : 'InvalidSourceResponse');

describe.each(VIAS)('what a source answers is validated (%s over HTTP)', (via) => {
  it('a numeric VersionId is rejected at refresh: health, JSON.stringify and refresh() keep working', async () => {
    const store = newStore(via);
    await store.load();
    emu.putSecret(API, 'key-CANARY-2');
    rewrite(via, (e) => ({ ...e, VersionId: 12345 }));
    await expect(store.refresh()).resolves.toBeUndefined();
    expectUsable(store, 'key-CANARY-1', malformed(via));
    emu.clearFaults();
    await store.refresh();
    expect(store.get('apiKey')).toBe('key-CANARY-2');
    expect(store.health().secrets.apiKey).toMatchObject({ status: 'fresh' });
  });

  it('a missing VersionId never freezes the value behind a `fresh` health', async () => {
    const store = newStore(via);
    await store.load();
    rewrite(via, ({ VersionId: _dropped, ...rest }) => rest);
    emu.putSecret(API, 'key-CANARY-2');
    await store.refresh();
    emu.putSecret(API, 'key-CANARY-3');
    await store.refresh();
    // Without a version id, v2 and v3 are indistinguishable: neither is taken, and health says so.
    expectUsable(store, 'key-CANARY-1', malformed(via));
    emu.clearFaults();
    await store.refresh();
    expect(store.get('apiKey')).toBe('key-CANARY-3');
  });

  it('a body for another secret (Name/ARN mismatch) is rejected', async () => {
    const other = await emu.invoke('GetSecretValue', { SecretId: OTHER });
    const store = newStore(via);
    await store.load();
    emu.resetCalls();
    rewrite(via, () => ({ ...other }));
    await store.refresh();
    if (via === 'BatchGetSecretValue') {
      // A batch entry that names no requested id is not taken; the id is asked for on its own.
      expect(store.get('apiKey')).toBe('key-CANARY-1');
      expect(emu.calls().GetSecretValue).toBe(1);
    } else {
      expectUsable(store, 'key-CANARY-1', malformed(via));
    }
  });

  it('at load, a malformed answer fails with its typed cause after retrying, not a TypeError', async () => {
    rewrite(via, (e) => ({ ...e, VersionId: 7 }));
    const store = newStore(via);
    const codes: string[] = [];
    store.onEvent((e) => void (e.type === 'refresh-failed' && codes.push(e.code)));
    const error = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect(error.failures.map((f) => f.name)).toEqual(['apiKey']);
    // Every round failed with the typed cause and was retried. (The reported code of the last
    // round can still be a TimeoutError when it started with ~1 ms left: issue 12 point 4.)
    expect(codes.length).toBeGreaterThan(1);
    expect(new Set(codes.filter((c) => c !== 'TimeoutError'))).toEqual(new Set([malformed(via)]));
    expect(() => store.health()).not.toThrow();
    expect(store.health().secrets.apiKey?.status).toBe('missing');
  });
});

describe('a malformed 200 from the agent', () => {
  it.each([
    ['SecretString is a number', { SecretString: 42 }],
    ['SecretBinary is not base64', { SecretString: undefined, SecretBinary: '%%not-base64%%' }],
    ['neither SecretString nor SecretBinary', { SecretString: undefined }],
  ])('%s: InvalidAgentResponse, the last good value kept', async (_label, change) => {
    const store = newStore('agent');
    await store.load();
    rewrite('agent', (e) => ({ ...e, ...change }));
    await store.refresh();
    expectUsable(store, 'key-CANARY-1', 'InvalidAgentResponse');
  });
});

describe('the store checks any source against the Source contract', () => {
  it('a custom source resolving garbage fails its secrets without throwing or half-applying a refresh', async () => {
    let answer: unknown = null;
    const good = (versionId: string, v: string) => [
      { ok: true, secret: { versionId, string: `${v}-a` } },
      { ok: true, secret: { versionId, string: `${v}-b` } },
    ];
    const custom: Source = { kind: 'custom', fetch: async () => answer as never };
    const store = new SecretStore(defineSecrets({ a: 'a', b: 'b' }), {
      source: custom,
      refreshInterval: false,
      minRefreshInterval: 0,
      logger,
    });
    answer = good('v1', 'x1');
    await store.load();
    for (const bad of [
      null,
      'nope',
      [
        { ok: true, secret: { versionId: 'v2', string: 'x2-a' } },
        { ok: true, secret: { versionId: 5, string: 'x' } },
      ],
      [{ ok: true, secret: { versionId: 'v2', string: 42 } }, undefined],
      [{ ok: 'yes' }, { ok: false, error: new Error('plain') }],
      [{ ok: true, secret: { versionId: 'v2', string: 'x', createdDate: 'today' } }, 7],
    ]) {
      answer = bad;
      await expect(store.refresh()).resolves.toBeUndefined();
      expect(() => store.health()).not.toThrow();
      expect(() => JSON.stringify(store)).not.toThrow();
      // b never takes a malformed outcome (a, another id, may take its own well-formed one).
      expect(store.get('b')).toBe('x1-b');
      expect(store.health().secrets.b?.status).toBe('error');
    }
    answer = good('v3', 'x3');
    await store.refresh();
    expect([store.get('a'), store.get('b')]).toEqual(['x3-a', 'x3-b']);
    expect(store.health().status).toBe('up');
    await store.close();
  });
});
