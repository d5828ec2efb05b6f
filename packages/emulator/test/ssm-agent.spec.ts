import { SSM } from '@aws-sdk/client-ssm';
import { startAgent, startEmulator, type Agent, type Emulator } from '../src/index';

const TOKEN = 'ssm-agent-token';

describe('Agent: the Lambda extension Parameter Store route', () => {
  let emu: Emulator;
  let agent: Agent;

  const get = (query: string, headers: Record<string, string> = { 'X-Aws-Parameters-Secrets-Token': TOKEN }) =>
    fetch(`${agent.url}/systemsmanager/parameters/get?${query}`, { headers });

  beforeAll(async () => {
    emu = await startEmulator({
      seed: { secrets: { 'prod/db': 'sm-value' } },
      parameters: {
        '/app/url': 'https://example.test',
        '/app/key': { value: 'k2 "quoted"\n', type: 'SecureString', versions: [{ value: 'k1', labels: ['old'] }] },
      },
    });
    agent = await startAgent({ emulator: emu, token: TOKEN });
  });

  afterAll(async () => {
    await agent.close();
    await emu.close();
  });

  beforeEach(() => {
    agent.clearCache();
    agent.clearFaults();
    agent.resetCalls();
    emu.resetCalls();
  });

  it('needs the token like the secrets route (403 Bad Token, nothing sent upstream)', async () => {
    const res = await get('name=%2Fapp%2Furl', {});
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('Bad Token');
    expect(emu.calls().total).toBe(0);
  });

  it('answers the GetParameter shape, decrypting with withDecryption=true, and caches', async () => {
    const res = await get(`name=${encodeURIComponent('/app/key')}&withDecryption=true`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { Parameter: Record<string, unknown> };
    expect(body.Parameter).toMatchObject({
      Name: '/app/key',
      Type: 'SecureString',
      Value: 'k2 "quoted"\n',
      Version: 2,
      ARN: 'arn:aws:ssm:us-east-1:123456789012:parameter/app/key',
      DataType: 'text',
    });
    await get(`name=${encodeURIComponent('/app/key')}&withDecryption=true`);
    expect(agent.calls()).toMatchObject({ requests: 2, cacheHits: 1, upstreamGetParameter: 1 });
    expect(emu.calls().GetParameter).toBe(1);
    const encrypted = (await (await get('name=/app/key')).json()) as { Parameter: { Value: string } };
    expect(encrypted.Parameter.Value).not.toContain('k2');
  });

  it('reads version= and label= as selectors, and a Secrets Manager reference', async () => {
    const v1 = (await (await get('name=/app/key&withDecryption=true&version=1')).json()) as {
      Parameter: Record<string, unknown>;
    };
    expect(v1.Parameter).toMatchObject({ Value: 'k1', Version: 1, Selector: ':1' });
    const old = (await (await get('name=/app/key&withDecryption=true&label=old')).json()) as {
      Parameter: Record<string, unknown>;
    };
    expect(old.Parameter).toMatchObject({ Value: 'k1', Selector: ':old' });
    const ref = (await (
      await get(`name=${encodeURIComponent('/aws/reference/secretsmanager/prod/db')}&withDecryption=true`)
    ).json()) as { Parameter: Record<string, unknown> };
    expect(ref.Parameter).toMatchObject({ Value: 'sm-value', Type: 'SecureString', Version: 0 });
  });

  it('passes upstream errors through with their status and type; rejects bad queries with 400', async () => {
    const missing = await get('name=/nope');
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ __type: 'ParameterNotFound' });
    const noDecrypt = await get(`name=${encodeURIComponent('/aws/reference/secretsmanager/prod/db')}`);
    expect(noDecrypt.status).toBe(400);
    expect(await noDecrypt.json()).toEqual({
      __type: 'ValidationException',
      message: 'WithDecryption flag must be True for retrieving a Secret Manager secret.',
    });
    for (const [query, text] of [
      ['', 'missing parameter name'],
      ['name=/a&version=x', 'invalid version value'],
      ['name=/a&version=1&label=l', 'give version or label, not both'],
      ['name=/a&secretId=b', 'unknown parameter: secretId'],
      ['name=/a&withDecryption=yes', 'invalid withDecryption value'],
    ] as const) {
      const res = await get(query);
      expect([res.status, await res.text()]).toEqual([400, text]);
    }
  });

  it('serves the cached value when a refresh fails transiently, after the TTL', async () => {
    const short = await startAgent({ emulator: emu, token: TOKEN, ttlSeconds: 0, upstreamRetry: { maxAttempts: 1 } });
    try {
      const url = `${short.url}/systemsmanager/parameters/get?name=/app/url`;
      const headers = { 'X-Aws-Parameters-Secrets-Token': TOKEN };
      expect((await fetch(url, { headers })).status).toBe(200);
      emu.injectFault({ operation: 'GetParameter', error: 'InternalServerError', status: 500, times: 1 });
      const stale = await fetch(url, { headers });
      expect(stale.status).toBe(200);
      expect(((await stale.json()) as { Parameter: { Value: string } }).Parameter.Value).toBe('https://example.test');
    } finally {
      await short.close();
    }
  });

  it('reads through a given SDK client with parameterUpstream, and answers 404 without one', async () => {
    const ssm = new SSM(emu.clientConfig());
    const sm = { getSecretValue: () => Promise.reject(new Error('unused')) };
    const viaSdk = await startAgent({ upstream: sm, parameterUpstream: ssm, token: TOKEN });
    const none = await startAgent({ upstream: sm, token: TOKEN });
    try {
      const headers = { 'X-Aws-Parameters-Secrets-Token': TOKEN };
      const res = await fetch(`${viaSdk.url}/systemsmanager/parameters/get?name=/app/url`, { headers });
      const body = (await res.json()) as { Parameter: { Value: string; LastModifiedDate: unknown } };
      expect(body.Parameter.Value).toBe('https://example.test');
      // The same wire shape as with the emulator upstream: epoch seconds, not the SDK's Date.
      const direct = (await (await get('name=/app/url')).json()) as { Parameter: { LastModifiedDate: unknown } };
      expect(body.Parameter.LastModifiedDate).toBe(direct.Parameter.LastModifiedDate);
      const missing = await fetch(`${none.url}/systemsmanager/parameters/get?name=/app/url`, { headers });
      expect(missing.status).toBe(404);
    } finally {
      ssm.destroy();
      await viaSdk.close();
      await none.close();
    }
  });
});
