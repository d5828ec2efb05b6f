/**
 * The Vault emulator cross-checked with a client no one here wrote: `node-vault` (0.12) for every
 * route it covers, plus AppRole, Kubernetes and AWS IAM login, static database roles, seal, rate
 * limit and faults over plain HTTP.
 */
import { createHash, createHmac } from 'node:crypto';
import { startPostgres, type PostgresServer } from '@hush/database/testing';
import { SignatureV4 } from '@smithy/signature-v4';
import nodeVault from 'node-vault';
import pg from 'pg';
import { startVaultEmulator, type VaultEmulator, type VaultEmulatorOptions } from '../src/index';

/** The SHA-256 the AWS SDK's signer wants, on node:crypto. */
class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.h.digest());
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const AWS_KEY = { accessKeyId: 'AKIAEMULATOR0000001', secretAccessKey: 's3cr3t/key+with"odd\\chars' };

/** A SigV4-signed sts:GetCallerIdentity, as Vault's aws iam login wants it (the fields base64). */
async function signedCallerIdentity(
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  opts: { serverId?: string; date?: Date; body?: string } = {},
) {
  const body = opts.body ?? 'Action=GetCallerIdentity&Version=2011-06-15';
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'sts', sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'https:',
      hostname: 'sts.amazonaws.com',
      path: '/',
      headers: {
        host: 'sts.amazonaws.com',
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        ...(opts.serverId ? { 'x-vault-aws-iam-server-id': opts.serverId } : {}),
      },
      body,
    },
    opts.date ? { signingDate: opts.date } : {},
  );
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    iam_http_request_method: 'POST',
    iam_request_url: b64('https://sts.amazonaws.com/'),
    iam_request_body: b64(body),
    iam_request_headers: b64(JSON.stringify(signed.headers)),
  };
}

async function v1(
  vault: VaultEmulator,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = vault.rootToken,
) {
  const res = await fetch(`${vault.url}/v1/${path}`, {
    method,
    headers: { ...(token ? { 'X-Vault-Token': token } : {}), 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function tryLogin(db: PostgresServer, user: string, password: string): Promise<string> {
  const c = new pg.Client({ host: db.host, port: db.port, user, password, database: 'postgres' });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return 'ok';
  } catch (err) {
    return String((err as { code?: string }).code ?? (err as Error).message);
  } finally {
    await c.end().catch(() => {});
  }
}

const K8S_JWT = [
  Buffer.from('{"alg":"RS256"}').toString('base64url'),
  Buffer.from(
    JSON.stringify({
      sub: 'system:serviceaccount:shop:checkout',
      'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'checkout', uid: 'u-1' } },
    }),
  ).toString('base64url'),
  'sig',
].join('.');

const started: VaultEmulator[] = [];
async function vaultWith(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const v = await startVaultEmulator(options);
  started.push(v);
  return v;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((v) => v.close()));
});

const authOptions: VaultEmulatorOptions = {
  appRoles: {
    web: { roleId: 'role-123', secretIds: ['secret-abc'], policies: ['app'], tokenTtl: '20m', tokenMaxTtl: '1h' },
  },
  kubernetesRoles: { checkout: { jwts: [K8S_JWT], policies: ['app'], tokenTtl: '10m' } },
  awsRoles: { app: { boundIamPrincipalArns: ['arn:aws:iam::123456789012:role/app'], tokenTtl: '15m' } },
  awsCredentials: [{ ...AWS_KEY, arn: 'arn:aws:sts::123456789012:assumed-role/app/i-0abc' }],
};

describe('node-vault against the Vault emulator', () => {
  it('health and seal status; sealed, every call is 503 "Vault is sealed" until unsealed', async () => {
    const vault = await vaultWith({ kv: { 'secret/app': { v: '1' } } });
    const client = nodeVault({ endpoint: vault.url, token: vault.rootToken });
    expect(await client.health()).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(await client.status()).toMatchObject({ sealed: false, t: 1, n: 1, progress: 0 });
    await client.seal();
    expect(vault.sealed).toBe(true);
    await expect(client.read('secret/data/app')).rejects.toMatchObject({
      response: { statusCode: 503 },
      message: 'Vault is sealed',
    });
    // node-vault resolves any sys/health answer; the status is Vault's 503 for sealed.
    expect(await client.health()).toMatchObject({ sealed: true });
    expect((await fetch(`${vault.url}/v1/sys/health`)).status).toBe(503);
    expect(await client.health({ sealedcode: 200 })).toMatchObject({ sealed: true });
    expect(await client.status()).toMatchObject({ sealed: true });
    await expect(client.unseal({ key: 'wrong' })).rejects.toMatchObject({ response: { statusCode: 400 } });
    expect(await client.unseal({ key: vault.unsealKey })).toMatchObject({ sealed: false });
    expect((await client.read('secret/data/app')).data.data).toEqual({ v: '1' });
  });

  it('KV v2 write and read (data.data, data.metadata.version), 404 as an error', async () => {
    const vault = await vaultWith();
    const client = nodeVault({ endpoint: vault.url, token: vault.rootToken });
    const written = await client.write('secret/data/app/db', { data: { user: 'u', password: 'p1' } });
    expect(written.data.version).toBe(1);
    await client.write('secret/data/app/db', { data: { user: 'u', password: 'p2' } });
    const read = await client.read('secret/data/app/db');
    expect(read.data).toMatchObject({
      data: { user: 'u', password: 'p2' },
      metadata: { version: 2, destroyed: false },
    });
    expect((await client.read('secret/data/app/db?version=1')).data.data.password).toBe('p1');
    await client.write('secret/data/app/sub/x', { data: { a: 1 } });
    const lister = nodeVault({ endpoint: vault.url, token: vault.rootToken, noCustomHTTPVerbs: true });
    expect((await lister.list('secret/metadata/app')).data.keys).toEqual(['db', 'sub/']);
    await expect(lister.list('secret/metadata/none')).rejects.toMatchObject({ response: { statusCode: 404 } });
    await client.delete('secret/data/app/db');
    await expect(client.read('secret/data/app/db')).rejects.toMatchObject({ response: { statusCode: 404 } });
  });

  it('approleLogin, tokenLookupSelf, tokenRenewSelf; a bad secret_id is 400 and never echoed', async () => {
    const vault = await vaultWith(authOptions);
    const client = nodeVault({ endpoint: vault.url });
    const login = await client.approleLogin({ role_id: 'role-123', secret_id: 'secret-abc' });
    expect(login.auth).toMatchObject({
      policies: ['default', 'app'],
      lease_duration: 1200,
      renewable: true,
      metadata: { role_name: 'web' },
    });
    expect(client.token).toBe(login.auth.client_token);
    const self = await client.tokenLookupSelf();
    expect(self.data).toMatchObject({ display_name: 'approle', path: 'auth/approle/login', creation_ttl: 1200 });
    await vault.advanceClock('10m');
    const renewed = await client.tokenRenewSelf({ increment: '20m' });
    expect(renewed.auth.lease_duration).toBe(1200);
    const bad = await v1(
      vault,
      'POST',
      'auth/approle/login',
      { role_id: 'role-123', secret_id: 'guess-"\\\n-XYZ' },
      null,
    );
    expect(bad).toMatchObject({ status: 400, body: { errors: ['invalid role or secret ID'] } });
    expect(JSON.stringify(bad.body)).not.toContain('XYZ');
    await vault.advanceClock('21m');
    await expect(client.tokenLookupSelf()).rejects.toMatchObject({
      response: { statusCode: 403 },
      message: 'permission denied',
    });
  });

  it('kubernetesLogin with a configured service-account JWT; another JWT is 403', async () => {
    const vault = await vaultWith(authOptions);
    const client = nodeVault({ endpoint: vault.url });
    // node-vault renders `{{kubernetesPath}}` from the call's arguments, not its config: without
    // mount_point it posts to /v1/auth//login (a node-vault bug), so the mount is named here.
    const k8s = { mount_point: 'kubernetes' };
    const login = await client.kubernetesLogin({ ...k8s, role: 'checkout', jwt: K8S_JWT });
    expect(login.auth).toMatchObject({
      lease_duration: 600,
      metadata: { role: 'checkout', service_account_name: 'checkout', service_account_namespace: 'shop' },
    });
    expect((await client.tokenLookupSelf()).data.display_name).toBe('kubernetes-shop-checkout');
    await expect(client.kubernetesLogin({ ...k8s, role: 'checkout', jwt: `${K8S_JWT}x` })).rejects.toMatchObject({
      response: { statusCode: 403 },
    });
    await expect(client.kubernetesLogin({ ...k8s, role: 'nope', jwt: K8S_JWT })).rejects.toMatchObject({
      response: { statusCode: 400 },
      message: 'invalid role name "nope"',
    });
  });

  it('awsIamLogin with a request signed by the AWS SDK signer; wrong key, stale date, other body are refused', async () => {
    const vault = await vaultWith(authOptions);
    const client = nodeVault({ endpoint: vault.url });
    const login = await client.awsIamLogin({ role: 'app', ...(await signedCallerIdentity(AWS_KEY)) });
    expect(login.auth).toMatchObject({
      lease_duration: 900,
      metadata: { auth_type: 'iam', account_id: '123456789012', canonical_arn: 'arn:aws:iam::123456789012:role/app' },
    });
    // The headers may also be sent as a JSON object.
    const asObject = await signedCallerIdentity(AWS_KEY);
    const headersObject = JSON.parse(Buffer.from(asObject.iam_request_headers, 'base64').toString()) as object;
    expect(
      (
        await v1(
          vault,
          'POST',
          'auth/aws/login',
          { role: 'app', ...asObject, iam_request_headers: headersObject },
          null,
        )
      ).status,
    ).toBe(200);
    const wrongSecret = await signedCallerIdentity({ ...AWS_KEY, secretAccessKey: 'other' });
    await expect(client.awsIamLogin({ role: 'app', ...wrongSecret })).rejects.toMatchObject({
      response: { statusCode: 400 },
      message: expect.stringMatching(/SignatureDoesNotMatch/),
    });
    const unknownKey = await signedCallerIdentity({ accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' });
    await expect(client.awsIamLogin({ role: 'app', ...unknownKey })).rejects.toMatchObject({
      message: expect.stringMatching(/InvalidClientTokenId/),
    });
    const stale = await signedCallerIdentity(AWS_KEY, { date: new Date(Date.now() - 20 * 60_000) });
    await expect(client.awsIamLogin({ role: 'app', ...stale })).rejects.toMatchObject({
      response: { statusCode: 400 },
    });
    // A signature over one body does not vouch for another.
    const tampered = {
      ...(await signedCallerIdentity(AWS_KEY)),
      iam_request_body: Buffer.from('Action=GetCallerIdentity&Version=2011-06-16').toString('base64'),
    };
    await expect(client.awsIamLogin({ role: 'app', ...tampered })).rejects.toMatchObject({
      message: expect.stringMatching(/SignatureDoesNotMatch/),
    });
    const otherAction = await signedCallerIdentity(AWS_KEY, { body: 'Action=GetSessionToken&Version=2011-06-15' });
    await expect(client.awsIamLogin({ role: 'app', ...otherAction })).rejects.toMatchObject({
      response: { statusCode: 400 },
    });
    await expect(client.awsIamLogin({ role: 'other', ...(await signedCallerIdentity(AWS_KEY)) })).rejects.toMatchObject(
      {
        response: { statusCode: 400 },
      },
    );
  });

  it('a 429 from the rate limit quota and injected faults reach the client as errors', async () => {
    const vault = await vaultWith({ kv: { 'secret/a': { v: 1 } }, rateLimit: { ratePerSecond: 1, burst: 2 } });
    const client = nodeVault({ endpoint: vault.url, token: vault.rootToken });
    await client.read('secret/data/a');
    await client.read('secret/data/a');
    await expect(client.read('secret/data/a')).rejects.toMatchObject({
      response: { statusCode: 429 },
      message: 'request path "secret/data/a": rate limit quota exceeded',
    });
    vault.setRateLimit(null);
    vault.injectFault({ path: 'secret/data/', status: 500, errors: ['boom'], times: 1 });
    await expect(client.read('secret/data/a')).rejects.toMatchObject({
      response: { statusCode: 500 },
      message: 'boom',
    });
    expect((await client.read('secret/data/a')).data.data).toEqual({ v: 1 });
    // Through the control API, as another process would.
    await fetch(`${vault.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ path: 'secret/', status: 403, times: 1 }),
    });
    await expect(client.read('secret/data/a')).rejects.toMatchObject({ response: { statusCode: 403 } });
    await fetch(`${vault.url}/_emulator/seal`, { method: 'POST' });
    await expect(client.read('secret/data/a')).rejects.toMatchObject({ response: { statusCode: 503 } });
    await fetch(`${vault.url}/_emulator/unseal`, { method: 'POST' });
    expect(vault.calls()['GET secret/data/a']).toBe(7);
  });
});

describe('node-vault and the database engine on a real PostgreSQL', () => {
  let db: PostgresServer;
  beforeAll(async () => {
    db = await startPostgres();
    await db.query(`CREATE ROLE "app-static" LOGIN PASSWORD 'initial'`);
  }, 60_000);
  afterAll(async () => {
    await db?.stop();
  });
  const database = (): VaultEmulatorOptions['database'] => ({
    connection: { host: db.host, port: db.port, user: db.user, password: db.password },
    roles: { app: { defaultTtl: '10m', maxTtl: '30m' } },
    staticRoles: { fixed: { username: 'app-static', rotationPeriod: '1h' } },
  });

  it('read creds, renew and revoke through node-vault; the issued user logs in until revoked', async () => {
    const vault = await vaultWith({ ...authOptions, database: database() });
    const client = nodeVault({ endpoint: vault.url });
    await client.approleLogin({ role_id: 'role-123', secret_id: 'secret-abc' });
    const creds = await client.read('database/creds/app');
    expect(creds).toMatchObject({ renewable: true, lease_duration: 600 });
    expect(creds.data.username).toMatch(/^v-approle-app-[A-Za-z0-9]{20}-\d+$/);
    expect(await tryLogin(db, creds.data.username, creds.data.password)).toBe('ok');
    const renewed = await client.renew({ lease_id: creds.lease_id, increment: 3600 });
    expect(renewed).toMatchObject({ lease_id: creds.lease_id, renewable: true });
    // Capped at max_ttl (30 min) from issue; Vault truncates both times to the second.
    expect(renewed.lease_duration).toBeGreaterThanOrEqual(1799);
    expect(renewed.lease_duration).toBeLessThanOrEqual(1800);
    expect(renewed.warnings[0]).toMatch(/capped/);
    await client.revoke({ lease_id: creds.lease_id });
    expect(await tryLogin(db, creds.data.username, creds.data.password)).toBe('28P01');
  });

  it("a token's expiry revokes the leases it created (RevokeByToken)", async () => {
    const vault = await vaultWith({ ...authOptions, database: database() });
    const client = nodeVault({ endpoint: vault.url });
    await client.approleLogin({ role_id: 'role-123', secret_id: 'secret-abc' }); // token ttl 20m
    const creds = await client.read('database/creds/app');
    await vault.advanceClock('9m');
    await client.renew({ lease_id: creds.lease_id, increment: 600 });
    await vault.advanceClock('12m'); // the token expired; the lease had 7 more minutes
    expect(vault.activeLeases()).toEqual([]);
    expect(await tryLogin(db, creds.data.username, creds.data.password)).toBe('28P01');
  });

  it("static-creds: the role password is Vault's; rotate-role and the rotation period change it", async () => {
    const vault = await vaultWith({ database: database() });
    const client = nodeVault({ endpoint: vault.url, token: vault.rootToken });
    expect(await tryLogin(db, 'app-static', 'initial')).toBe('28P01'); // rotated when the role was set up
    const first = await client.read('database/static-creds/fixed');
    expect(first.data).toMatchObject({ username: 'app-static', rotation_period: 3600 });
    expect(first.lease_duration).toBe(0);
    expect(await tryLogin(db, 'app-static', first.data.password)).toBe('ok');
    await client.write('database/rotate-role/fixed', {});
    const second = await client.read('database/static-creds/fixed');
    expect(second.data.password).not.toBe(first.data.password);
    expect(await tryLogin(db, 'app-static', first.data.password)).toBe('28P01');
    expect(await tryLogin(db, 'app-static', second.data.password)).toBe('ok');
    await vault.advanceClock('61m');
    const third = await client.read('database/static-creds/fixed');
    expect(third.data.password).not.toBe(second.data.password);
    expect(third.data.ttl).toBeGreaterThan(3500);
    expect(await tryLogin(db, 'app-static', third.data.password)).toBe('ok');
  });

  it('log lines carry no secret value (KV data, passwords, secret ids, tokens)', async () => {
    const lines: string[] = [];
    const logger = {
      debug: (m: string) => lines.push(m),
      info: (m: string) => lines.push(m),
      warn: (m: string) => lines.push(m),
      error: (m: string) => lines.push(m),
    };
    const vault = await vaultWith({ ...authOptions, database: database(), logger });
    const client = nodeVault({ endpoint: vault.url });
    const login = await client.approleLogin({ role_id: 'role-123', secret_id: 'secret-abc' });
    await client.write('secret/data/x', { data: { password: 'kv-value-Zq9' } });
    await client.read('secret/data/x');
    const creds = await client.read('database/creds/app');
    await client.revoke({ lease_id: creds.lease_id });
    await v1(vault, 'POST', 'auth/approle/login', { role_id: 'role-123', secret_id: 'wrong-Qx7' }, null);
    expect(lines.length).toBeGreaterThan(4);
    const all = lines.join('\n');
    for (const value of [
      'kv-value-Zq9',
      'secret-abc',
      'wrong-Qx7',
      creds.data.password,
      login.auth.client_token,
      vault.rootToken,
    ]) {
      expect(all).not.toContain(value);
      expect(all).not.toContain(Buffer.from(value).toString('base64'));
    }
  });
});
