/**
 * secretsManagerAgent({ service: 'ssm' }): Parameter Store through the Parameters and Secrets
 * Lambda extension's route (`/systemsmanager/parameters/get`), beside Secrets Manager through the
 * same agent, in one store. The agent is @hush/emulator's, over HTTP.
 */
import { inspect } from 'node:util';
import {
  defineSecrets,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  secretsManagerAgent,
  ssmParameterStore,
} from '@hush/core';
import { startAgent, startEmulator, type Agent, type Emulator } from '@hush/emulator';
import { recordingLogger } from '../../../test/support';

const TOKEN = 'agent-ssm-token';
const logger = recordingLogger();
let emu: Emulator;
let agent: Agent;

beforeAll(async () => {
  emu = await startEmulator({
    seed: { secrets: { 'prod/app/db': JSON.stringify({ password: 'pw-CANARY-agent-1' }) } },
    parameters: {
      '/app/url': 'https://example.test',
      '/app/hosts': { value: 'a.internal,b.internal', type: 'StringList' },
      '/app/key': {
        value: 'key-CANARY-v2 "q"\n',
        type: 'SecureString',
        versions: [{ value: 'key-CANARY-v1', labels: ['old'] }],
      },
    },
  });
  agent = await startAgent({ emulator: emu, token: TOKEN, ttlSeconds: 0 });
});
afterAll(async () => {
  await agent.close();
  await emu.close();
  expect(logger.lines.join('\n')).not.toContain('CANARY');
});

const secrets = defineSecrets({
  db: { id: 'prod/app/db', key: 'password' },
  url: { id: '/app/url', source: 'ssm' },
  hosts: { id: '/app/hosts', source: 'ssm', format: 'list' },
  key: { id: '/app/key', source: 'ssm' },
  keyV1: { id: '/app/key', source: 'ssm', versionId: '1' },
  keyOld: { id: '/app/key', source: 'ssm', versionStage: 'old' },
  keyOldInId: { id: '/app/key:old', source: 'ssm' },
  ref: { id: '/aws/reference/secretsmanager/prod/app/db', source: 'ssm', key: 'password' },
});

describe("secretsManagerAgent({ service: 'ssm' }) through the Lambda extension's Parameter Store route", () => {
  it('reads parameters and secrets side by side, each through its route, with the token header', async () => {
    agent.resetCalls();
    const store = new SecretStore(secrets, {
      source: secretsManagerAgent({ url: agent.url, token: TOKEN }),
      sources: { ssm: secretsManagerAgent({ url: agent.url, token: TOKEN, service: 'ssm' }) },
      refreshInterval: false,
      logger,
    });
    await store.load();
    expect(store.get('db')).toBe('pw-CANARY-agent-1');
    expect(store.get('url')).toBe('https://example.test');
    expect(store.get('hosts')).toEqual(['a.internal', 'b.internal']);
    expect(store.get('key')).toBe('key-CANARY-v2 "q"\n');
    expect(store.get('keyV1')).toBe('key-CANARY-v1');
    expect(store.get('keyOld')).toBe('key-CANARY-v1');
    expect(store.get('keyOldInId')).toBe('key-CANARY-v1');
    expect(store.get('ref')).toBe('pw-CANARY-agent-1');
    expect(store.health().secrets.key?.version).toBe('2');
    expect(agent.calls()).toMatchObject({ upstreamGetParameter: 7 });
    expect(store.stats().sources?.ssm?.calls).toEqual({ AgentGetParameter: 7 });
    expect(store.stats().sources?.default?.calls).toEqual({ AgentGet: 1 });
    // A new version is seen on refresh (the agent's TTL is 0 here).
    emu.putParameter('/app/url', 'https://example.test/v2');
    await store.refresh('url');
    expect(store.get('url')).toBe('https://example.test/v2');
    expect(store.health().secrets.url?.version).toBe('2');
    expect(inspect(store)).not.toContain('CANARY');
    await store.close();
  });

  it('ParameterNotFound names the parameter; a bad token is AgentForbidden', async () => {
    const store = new SecretStore(defineSecrets({ gone: '/app/nope', url: '/app/url' }), {
      source: secretsManagerAgent({ url: agent.url, token: TOKEN, service: 'ssm' }),
      refreshInterval: false,
      bootTimeout: 1_000,
      logger,
    });
    const error = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect(error.failures.map((f) => [f.name, f.code])).toEqual([['gone', 'ParameterNotFound']]);
    expect(error.message).toContain('"/app/nope"');
    await store.close();
    const denied = new SecretStore(defineSecrets({ url: '/app/url' }), {
      source: secretsManagerAgent({ url: agent.url, token: 'wrong', service: 'ssm' }),
      bootTimeout: 500,
      logger,
    });
    await expect(denied.load()).rejects.toThrow(/AgentForbidden/);
    await denied.close();
  });

  it('rejects path declarations, unknown services and roleArn for the ssm route at construction', () => {
    expect(
      () =>
        new SecretStore(defineSecrets({ cfg: { id: '/app/', path: true } }), {
          source: secretsManagerAgent({ url: agent.url, token: TOKEN, service: 'ssm' }),
        }),
    ).toThrow(/cannot read Parameter Store paths/);
    expect(() => secretsManagerAgent({ url: agent.url, token: TOKEN, service: 'sns' as never })).toThrow(
      SecretsConfigError,
    );
    expect(() =>
      secretsManagerAgent({
        url: agent.url,
        token: TOKEN,
        service: 'ssm',
        roleArn: 'arn:aws:iam::123456789012:role/r',
      }),
    ).toThrow(SecretsConfigError);
  });

  it('answers the same declarations as ssmParameterStore(), value for value', async () => {
    const viaAgent = new SecretStore(secrets, {
      source: secretsManagerAgent({ url: agent.url, token: TOKEN }),
      sources: { ssm: secretsManagerAgent({ url: agent.url, token: TOKEN, service: 'ssm' }) },
      refreshInterval: false,
    });
    const viaApi = new SecretStore(secrets, {
      source: secretsManagerAgent({ url: agent.url, token: TOKEN }),
      sources: { ssm: ssmParameterStore({ clientConfig: emu.clientConfig() }) },
      refreshInterval: false,
    });
    await Promise.all([viaAgent.load(), viaApi.load()]);
    for (const name of viaAgent.names) expect([name, viaAgent.get(name)]).toEqual([name, viaApi.get(name)]);
    const versions = (s: SecretStore<typeof secrets>) =>
      Object.fromEntries(Object.entries(s.health().secrets).map(([n, h]) => [n, h.version]));
    expect(versions(viaAgent)).toEqual(versions(viaApi));
    await Promise.all([viaAgent.close(), viaApi.close()]);
  });
});
