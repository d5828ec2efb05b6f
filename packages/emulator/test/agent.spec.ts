import { SecretsManager } from '@aws-sdk/client-secrets-manager';
import { startAgent, startEmulator, type Agent, type Emulator } from '../src/index';

const TOKEN = 'agent-test-token';

describe('Agent', () => {
  let emu: Emulator;
  let agent: Agent;

  const get = (query: string, headers: Record<string, string> = { 'X-Aws-Parameters-Secrets-Token': TOKEN }) =>
    fetch(`${agent.url}/secretsmanager/get?${query}`, { headers });

  beforeAll(async () => {
    emu = await startEmulator({
      seed: { db: '{"password":"p1"}', bin: { binary: Buffer.from([1, 2, 3]).toString('base64') } },
    });
    agent = await startAgent({ emulator: emu, token: TOKEN });
  });

  afterAll(async () => {
    await agent.close();
    await agent.close();
    await emu.close();
  });

  beforeEach(() => {
    agent.clearCache();
    agent.clearFaults();
    agent.resetCalls();
    emu.resetCalls();
  });

  it('answers /ping without a token', async () => {
    const res = await fetch(`${agent.url}/ping`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('healthy');
  });

  it('rejects a missing or wrong token with 403 Bad Token', async () => {
    const missing = await get('secretId=db', {});
    expect(missing.status).toBe(403);
    expect(await missing.text()).toBe('Bad Token');
    const wrong = await get('secretId=db', { 'X-Aws-Parameters-Secrets-Token': 'nope' });
    expect(wrong.status).toBe(403);
    expect(emu.calls().total).toBe(0);
  });

  it('returns a string secret in the agent format, CreatedDate as a string', async () => {
    const res = await get('secretId=db');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      Name: 'db',
      SecretString: '{"password":"p1"}',
      VersionStages: ['AWSCURRENT'],
      ResultMetadata: {},
    });
    expect(body.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:db-/);
    expect(typeof body.CreatedDate).toBe('string');
    expect(body.CreatedDate).toMatch(/^\d+(\.\d{1,3})?$/);
  });

  it('returns a binary secret as base64', async () => {
    const body = (await (await get('secretId=bin')).json()) as Record<string, unknown>;
    expect(body.SecretBinary).toBe(Buffer.from([1, 2, 3]).toString('base64'));
    expect(body.SecretString).toBeUndefined();
  });

  it('supports versionStage and the /v1/ path style', async () => {
    emu.putSecret('staged', 'old');
    emu.putSecret('staged', 'new');
    const prev = (await (await get('secretId=staged&versionStage=AWSPREVIOUS')).json()) as Record<string, unknown>;
    expect(prev.SecretString).toBe('old');
    const res = await fetch(`${agent.url}/v1/staged`, { headers: { 'X-Vault-Token': TOKEN } });
    expect(((await res.json()) as Record<string, unknown>).SecretString).toBe('new');
  });

  it('proxies a missing secret as 400 ResourceNotFoundException', async () => {
    const res = await get('secretId=missing');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      __type: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
    });
  });

  it('rejects bad queries like the agent', async () => {
    expect(await (await get('')).text()).toBe('missing parameter secretId');
    const unknown = await get('secretId=db&foo=1');
    expect([unknown.status, await unknown.text()]).toEqual([400, 'unknown parameter: foo']);
    expect((await get('secretId=db&refreshNow=maybe')).status).toBe(400);
    expect((await fetch(`${agent.url}/nope`, { headers: { 'X-Aws-Parameters-Secrets-Token': TOKEN } })).status).toBe(
      404,
    );
    expect((await fetch(`${agent.url}/secretsmanager/get?secretId=db`, { method: 'POST' })).status).toBe(405);
  });

  it('serves the second get from the TTL cache and refreshNow bypasses it', async () => {
    await get('secretId=db');
    await get('secretId=db');
    expect(agent.calls()).toMatchObject({ requests: 2, cacheHits: 1, upstreamGetSecretValue: 1 });
    expect(emu.calls().GetSecretValue).toBe(1);

    emu.rotate('db', '{"password":"p2"}');
    const cached = (await (await get('secretId=db')).json()) as Record<string, unknown>;
    expect(cached.SecretString).toBe('{"password":"p1"}');
    const fresh = (await (await get('secretId=db&refreshNow=true')).json()) as Record<string, unknown>;
    expect(fresh.SecretString).toBe('{"password":"p2"}');
    expect(agent.calls()).toMatchObject({ requests: 4, upstreamGetSecretValue: 2 });
    expect(emu.calls().GetSecretValue).toBe(2);
  });

  it('injects 5xx faults for the next N requests', async () => {
    agent.injectFault({ status: 502, times: 1 });
    const failed = await get('secretId=db');
    expect(failed.status).toBe(502);
    expect(await failed.json()).toMatchObject({ __type: 'ConnectionError' });
    expect((await get('secretId=db')).status).toBe(200);
  });

  it('a hang fault never answers', async () => {
    agent.injectFault({ hang: true, times: 1 });
    const hung = fetch(`${agent.url}/secretsmanager/get?secretId=db`, {
      headers: { 'X-Aws-Parameters-Secrets-Token': TOKEN },
      signal: AbortSignal.timeout(150),
    });
    await expect(hung).rejects.toMatchObject({ name: 'TimeoutError' });
    expect((await get('secretId=db')).status).toBe(200);
  });

  it('maps an upstream outage to 502, and serves stale entries after the TTL', async () => {
    const shortEmu = await startEmulator({ seed: { s: 'v1' } });
    const short = await startAgent({ emulator: shortEmu, token: TOKEN, ttlSeconds: 0.05 });
    try {
      const h = { headers: { 'X-Aws-Parameters-Secrets-Token': TOKEN } };
      expect((await fetch(`${short.url}/secretsmanager/get?secretId=s`, h)).status).toBe(200);
      await shortEmu.pause();
      await new Promise((r) => setTimeout(r, 80));
      const stale = await fetch(`${short.url}/secretsmanager/get?secretId=s`, h);
      expect(stale.status).toBe(200);
      const down = await fetch(`${short.url}/secretsmanager/get?secretId=s&refreshNow=true`, h);
      expect(down.status).toBe(502);
      await shortEmu.resume();
      // After the TTL, the agent revalidates with DescribeSecret, like the real one.
      await new Promise((r) => setTimeout(r, 80));
      shortEmu.resetCalls();
      expect((await fetch(`${short.url}/secretsmanager/get?secretId=s`, h)).status).toBe(200);
      expect(shortEmu.calls()).toMatchObject({ DescribeSecret: 1, GetSecretValue: 0 });
    } finally {
      await short.close();
      await shortEmu.close();
    }
  });

  it('works with an SDK client as upstream', async () => {
    const sdk = new SecretsManager(emu.clientConfig());
    const viaSdk = await startAgent({ upstream: sdk, token: TOKEN });
    try {
      const res = await fetch(`${viaSdk.url}/secretsmanager/get?secretId=db`, {
        headers: { 'X-Aws-Parameters-Secrets-Token': TOKEN },
      });
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ Name: 'db', VersionStages: ['AWSCURRENT'] });
      expect(typeof body.CreatedDate).toBe('string');
      const missing = await fetch(`${viaSdk.url}/secretsmanager/get?secretId=missing`, {
        headers: { 'X-Aws-Parameters-Secrets-Token': TOKEN },
      });
      expect(missing.status).toBe(400);
      expect(await missing.json()).toMatchObject({ __type: 'ResourceNotFoundException' });
    } finally {
      await viaSdk.close();
      sdk.destroy();
    }
  });
});
