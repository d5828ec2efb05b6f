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
    });
    // The real agent serializes GetSecretValueOutputDef: no ResultMetadata (issue 14).
    expect(Object.keys(body)).toEqual(['ARN', 'Name', 'VersionId', 'SecretString', 'VersionStages', 'CreatedDate']);
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
    // The real agent checks the token before the method (issue 14): 405 only with a valid token.
    const post = (headers: Record<string, string>) =>
      fetch(`${agent.url}/secretsmanager/get?secretId=db`, { method: 'POST', headers });
    expect((await post({ 'X-Aws-Parameters-Secrets-Token': TOKEN })).status).toBe(405);
    expect((await post({})).status).toBe(403);
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

/** Behaviours of the real agent (aws/aws-secretsmanager-agent: server.rs, parse.rs, cache_manager.rs, caching lib.rs). */
describe('Agent, aligned with aws-secretsmanager-agent', () => {
  let emu: Emulator;
  const agents: Agent[] = [];
  const h = { 'X-Aws-Parameters-Secrets-Token': TOKEN };
  const start = async (opts: Partial<Parameters<typeof startAgent>[0]> = {}) => {
    const a = await startAgent({ emulator: emu, token: TOKEN, upstreamRetry: { initialBackoffMs: 5 }, ...opts });
    agents.push(a);
    return a;
  };
  const get = (a: Agent, path: string, headers: Record<string, string> = h, method = 'GET') =>
    fetch(`${a.url}${path}`, { headers, method });

  beforeAll(async () => {
    emu = await startEmulator({ seed: { 'app/db': '{"password":"p1"}', plain: 'v1' } });
  });
  afterAll(async () => {
    for (const a of agents) await a.close();
    await emu.close();
  });
  beforeEach(() => {
    emu.resetCalls();
    emu.clearFaults();
  });

  it('checks in the agent order: forwarded (400), token (403), method (405), path (404); /ping needs no token but GET', async () => {
    const a = await start();
    expect((await get(a, '/secretsmanager/get?secretId=plain', {}, 'POST')).status).toBe(403);
    expect((await get(a, '/nope', {})).status).toBe(403);
    expect((await get(a, '/nope')).status).toBe(404);
    const forwarded = await get(a, '/secretsmanager/get?secretId=plain', {
      'X-Aws-Parameters-Secrets-Token': 'wrong',
      'X-Forwarded-For': '10.0.0.1',
    });
    expect([forwarded.status, await forwarded.text()]).toEqual([400, 'Forwarded']);
    expect((await get(a, '/ping', {})).status).toBe(200);
    expect((await get(a, '/ping', {}, 'POST')).status).toBe(405);
    expect(emu.calls().total).toBe(0);
  });

  it('accepts the token in any configured header that matches', async () => {
    const a = await start();
    const both = await get(a, '/secretsmanager/get?secretId=plain', {
      'X-Aws-Parameters-Secrets-Token': 'wrong',
      'X-Vault-Token': TOKEN,
    });
    expect(both.status).toBe(200);
    const custom = await start({ tokenHeaders: ['X-My-Token'] });
    expect((await get(custom, '/secretsmanager/get?secretId=plain')).status).toBe(403);
    expect((await get(custom, '/secretsmanager/get?secretId=plain', { 'x-my-token': TOKEN })).status).toBe(200);
  });

  it('takes /v1/ ids from the raw path: no percent-decoding, no secretId parameter', async () => {
    const a = await start();
    const raw = await get(a, '/v1/app/db');
    expect(((await raw.json()) as { Name: string }).Name).toBe('app/db');
    const encoded = await get(a, '/v1/app%2Fdb');
    expect(encoded.status).toBe(400);
    expect(await encoded.json()).toMatchObject({ __type: 'ValidationException' }); // the id sent was "app%2Fdb"
    const param = await get(a, '/v1/plain?secretId=app/db');
    expect([param.status, await param.text()]).toEqual([400, 'unknown parameter: secretId']);
    expect((await get(a, '/secretsmanager/get?secretId=app%2Fdb')).status).toBe(200); // query values are decoded
  });

  it('answers without Content-Type and with the agent error bodies', async () => {
    const a = await start();
    const ok = await get(a, '/secretsmanager/get?secretId=plain');
    expect(ok.headers.get('content-type')).toBeNull();
    const missing = await get(a, '/secretsmanager/get?secretId=nope');
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      __type: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
    });
  });

  it('TTL 0 still caches: every request revalidates with DescribeSecret instead of reading the value again', async () => {
    const a = await start({ ttlSeconds: 0 });
    for (let i = 0; i < 4; i++) expect((await get(a, '/secretsmanager/get?secretId=plain')).status).toBe(200);
    expect(emu.calls()).toMatchObject({ GetSecretValue: 1, DescribeSecret: 3 });
    emu.rotate('plain', 'v2');
    const next = (await (await get(a, '/secretsmanager/get?secretId=plain')).json()) as { SecretString: string };
    expect(next.SecretString).toBe('v2');
    expect(emu.calls()).toMatchObject({ GetSecretValue: 2, DescribeSecret: 4 });
  });

  it('calls DescribeSecret with the cached ARN, not the id in the request', async () => {
    const described: string[] = [];
    const a = await start({
      emulator: undefined,
      upstream: {
        getSecretValue: (input) => emu.invoke('GetSecretValue', { ...input }),
        describeSecret: (input) => (described.push(input.SecretId), emu.invoke('DescribeSecret', { ...input })),
      },
      ttlSeconds: 0,
    });
    await get(a, '/secretsmanager/get?secretId=app/db');
    await get(a, '/secretsmanager/get?secretId=app/db');
    expect(described).toEqual([emu.store.find('app/db')!.arn]);
  });

  it('after serving a stale value on a transient error it re-arms the TTL', async () => {
    const a = await start({ ttlSeconds: 0.6 });
    await get(a, '/secretsmanager/get?secretId=plain');
    emu.rotate('plain', 'v-new'); // the cached version is no longer AWSCURRENT
    await new Promise((r) => setTimeout(r, 650));
    emu.injectFault({ operation: 'GetSecretValue', error: 'InternalServiceError', times: 3 });
    const stale = (await (await get(a, '/secretsmanager/get?secretId=plain')).json()) as { SecretString: string };
    expect(stale.SecretString).not.toBe('v-new');
    emu.resetCalls();
    // Within the new TTL: served from the cache, no upstream call at all.
    await get(a, '/secretsmanager/get?secretId=plain');
    expect(emu.calls().total).toBe(0);
    await new Promise((r) => setTimeout(r, 650));
    const fresh = (await (await get(a, '/secretsmanager/get?secretId=plain')).json()) as { SecretString: string };
    expect(fresh.SecretString).toBe('v-new');
  });

  it('a transient DescribeSecret failure counts as "still current" (served, TTL re-armed)', async () => {
    const a = await start({ ttlSeconds: 0.6 });
    await get(a, '/secretsmanager/get?secretId=plain');
    emu.resetCalls();
    await new Promise((r) => setTimeout(r, 650));
    emu.injectFault({ operation: 'DescribeSecret', error: 'ServiceUnavailable', times: 3 });
    expect((await get(a, '/secretsmanager/get?secretId=plain')).status).toBe(200);
    expect(emu.calls()).toMatchObject({ DescribeSecret: 3, GetSecretValue: 0 });
    emu.resetCalls();
    expect((await get(a, '/secretsmanager/get?secretId=plain')).status).toBe(200);
    expect(emu.calls().total).toBe(0);
  });

  it('retries upstream like the SDK (3 attempts) before it fails', async () => {
    const a = await start();
    emu.injectFault({ operation: 'GetSecretValue', error: 'ThrottlingException', times: 2 });
    expect((await get(a, '/secretsmanager/get?secretId=app/db')).status).toBe(200);
    expect(a.calls().upstreamGetSecretValue).toBe(3);
    emu.injectFault({ operation: 'GetSecretValue', error: 'InternalServiceError', times: 3 });
    const failed = await get(a, '/secretsmanager/get?secretId=plain&refreshNow=true');
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({
      __type: 'InternalServiceError',
      message: 'An error occurred on the server side.',
    });
    expect(emu.calls().GetSecretValue).toBe(6);
    // Not retried: client errors.
    emu.resetCalls();
    expect((await get(a, '/secretsmanager/get?secretId=gone')).status).toBe(400);
    expect(emu.calls().GetSecretValue).toBe(1);
  });

  it('maps an unreachable upstream to 502 ConnectionError "Read Error"', async () => {
    const down = await startEmulator({ seed: { s: 'v' } });
    const a = await startAgent({ emulator: down, token: TOKEN, upstreamRetry: { maxAttempts: 1 } });
    agents.push(a);
    await down.close();
    const res = await get(a, '/secretsmanager/get?secretId=s');
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ __type: 'ConnectionError', message: 'Read Error' });
  });
});
