import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineSecrets, SecretFetchError, SecretsLoadError, SecretStore, type SecretsEvent } from '@hush/core';
import { hashicorpVault, isVaultError, VaultErrorCodes, type HashicorpVaultOptions } from '@hush/vault';
import type { VaultEmulator } from '@hush/emulator';
import { recordingLogger, sleep, waitFor } from '../../../test/support';
import { CANARY, closeVaults, fragmentsIn, hostile, printed, v1, vault } from './support';

/**
 * `hashicorpVault()` over HTTP against the Vault emulator: KV v2 boot, rotation, version pinning,
 * deleted and destroyed versions, named errors, Vault sealed during refresh, Vault's error text
 * checked like any foreign text, and every auth method (token renew-self, AppRole, Kubernetes,
 * AWS IAM) with re-login when the token cannot be renewed or is refused.
 */

const stores: SecretStore<any>[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await closeVaults();
});

function storeOf<D extends Parameters<typeof defineSecrets>[0]>(
  emu: VaultEmulator,
  decls: D,
  options: HashicorpVaultOptions = {},
  storeOptions: Record<string, unknown> = {},
) {
  const log = recordingLogger();
  const source = hashicorpVault({ address: emu.url, auth: { token: emu.rootToken }, ...options });
  const store = new SecretStore(defineSecrets(decls), {
    source,
    logger: log,
    bootTimeout: '5s',
    backoff: { initial: 100, max: 400 },
    ...storeOptions,
  });
  stores.push(store);
  return { store, source, log };
}

describe('KV v2', () => {
  it('boots with data.data as the value and data.metadata.version as the version; nothing prints a value', async () => {
    const emu = await vault();
    const password = hostile('pw1');
    emu.kvPut('secret', 'app/db', { username: 'app', password });
    emu.kvPut('secret', 'app/api', { key: `api-${CANARY}` });
    const { store, source, log } = storeOf(emu, {
      db: { id: 'secret/data/app/db', format: 'json' },
      apiKey: { id: 'secret/data/app/api', key: 'key' },
    });
    await store.load();
    expect(store.get('db')).toEqual({ username: 'app', password });
    expect(store.get('apiKey')).toBe(`api-${CANARY}`);
    expect(store.health().secrets['db']).toMatchObject({ status: 'fresh', version: '1' });
    expect(store.health().secrets['db']).not.toHaveProperty('leaseRemainingSeconds');
    // Two ids, two parallel reads (Vault has no batch read), plus the token's lookup-self.
    expect(source.stats().calls).toEqual({ 'lookup-self': 1, read: 2 });
    const out = printed(store, source, store.health(), store.stats(), log.lines);
    expect(fragmentsIn(out, password)).toEqual([]);
    expect(out).not.toContain(CANARY);
    expect(out).not.toContain(emu.rootToken);
  });

  it('a new KV version reaches the store on refresh; a pinned versionId keeps its version', async () => {
    const emu = await vault();
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    const { store } = storeOf(emu, {
      db: { id: 'secret/data/app/db', format: 'json', key: 'password' },
      pinned: { id: 'secret/data/app/db', format: 'json', key: 'password', versionId: '1' },
    });
    await store.load();
    emu.kvPut('secret', 'app/db', { password: `two-${CANARY}` });
    await store.refresh();
    expect(store.get('db')).toBe(`two-${CANARY}`);
    expect(store.health().secrets['db']!.version).toBe('2');
    expect(store.get('pinned')).toBe(`one-${CANARY}`);
    expect(store.health().secrets['pinned']!.version).toBe('1');
  });

  it('a deleted or destroyed version is a typed error, never a value; the last good value serves', async () => {
    const emu = await vault();
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    emu.kvPut('secret', 'app/db', { password: `two-${CANARY}` });
    const { store } = storeOf(emu, {
      latest: { id: 'secret/data/app/db', format: 'json', key: 'password' },
    });
    await store.load();
    expect((await v1(emu, 'POST', 'secret/delete/app/db', { versions: [2] })).status).toBeLessThan(300);
    await store.refresh();
    expect(store.get('latest')).toBe(`two-${CANARY}`);
    expect(store.health().secrets['latest']).toMatchObject({ status: 'error', error: 'VaultSecretDeleted' });

    const pinned = storeOf(emu, { v1: { id: 'secret/data/app/db', versionId: '1', format: 'json', key: 'password' } });
    expect((await v1(emu, 'POST', 'secret/destroy/app/db', { versions: [1] })).status).toBeLessThan(300);
    const error = await pinned.store.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect((error as SecretsLoadError).failures[0]).toMatchObject({ name: 'v1', code: 'VaultSecretDestroyed' });
    expect(String(error)).toContain('secret/data/app/db');
  });

  it('names every Vault failure: 404, 403, 429, 503 sealed, each in load() and health, never a value', async () => {
    const emu = await vault();
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    const missing = storeOf(emu, { gone: { id: 'secret/data/nope', format: 'json' } });
    await expect(missing.store.load()).rejects.toMatchObject({
      failures: [expect.objectContaining({ code: 'VaultNotFound' })],
    });
    const codes: Record<number, string> = {
      403: VaultErrorCodes.PERMISSION_DENIED,
      429: VaultErrorCodes.RATE_LIMITED,
      503: VaultErrorCodes.SEALED,
    };
    for (const [status, code] of Object.entries(codes)) {
      const fault = emu.injectFault({
        path: 'secret/data/app/db',
        status: Number(status),
        ...(Number(status) === 503 && { errors: ['Vault is sealed'] }),
      });
      const { store } = storeOf(emu, { db: { id: 'secret/data/app/db', format: 'json' } }, {}, { bootTimeout: '1s' });
      const error = await store.load().catch((e: unknown) => e);
      expect((error as SecretsLoadError).failures[0]!.code).toBe(code);
      emu.clearFaults(fault);
    }
  });

  it('Vault sealed during refresh: the last good value serves (health error VaultSealed), then the next refresh after unseal', async () => {
    const emu = await vault();
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    const { store } = storeOf(
      emu,
      { db: { id: 'secret/data/app/db', format: 'json', key: 'password' } },
      {},
      {
        refreshInterval: '300ms',
      },
    );
    await store.load();
    emu.seal();
    emu.kvPut('secret', 'app/db', { password: `two-${CANARY}` });
    await waitFor(() => store.health().secrets['db']!.error === 'VaultSealed', 5_000, 'a sealed refresh');
    expect(store.get('db')).toBe(`one-${CANARY}`);
    expect(store.health().status).toBe('up');
    emu.unseal();
    await waitFor(() => store.get('db') === `two-${CANARY}`, 5_000, 'the refresh after unseal');
    expect(store.health().secrets['db']).toMatchObject({ status: 'fresh', version: '2' });
  });

  it("Vault's error text that quotes a value held in the process is withheld; the code is kept", async () => {
    const emu = await vault();
    const password = hostile('quoted');
    emu.kvPut('secret', 'app/db', { password });
    emu.kvPut('secret', 'app/other', { password: `other-${CANARY}` });
    const { store, log } = storeOf(emu, {
      db: { id: 'secret/data/app/db', format: 'json', key: 'password' },
      other: { id: 'secret/data/app/other', format: 'json', key: 'password' },
    });
    await store.load();
    emu.injectFault({ path: 'secret/data/app/other', status: 500, errors: [`bad: ${password.slice(0, 40)}`] });
    await store.refresh();
    const health = store.health();
    expect(health.secrets['other']).toMatchObject({ status: 'error', error: 'VaultServerError' });
    expect(fragmentsIn(printed(health, log.lines, store.stats()), password)).toEqual([]);
  });

  it('a value without a version (KV v1): its version id cannot be brute-forced back to a short value', async () => {
    // A KV v1 mount answers `data` with no lease id and no KV v2 metadata (Vault's own shape).
    const pin = '4821';
    const server = createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ lease_id: '', renewable: false, lease_duration: 2764800, data: { pin } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const log = recordingLogger();
      const store = new SecretStore(defineSecrets({ pin: { id: 'kv1/app', format: 'json', key: 'pin' } }), {
        source: hashicorpVault({ address: `http://127.0.0.1:${port}`, auth: { token: 'hvs.kv1-test' } }),
        logger: log,
        bootTimeout: '5s',
      });
      stores.push(store);
      await store.load();
      expect(store.get('pin')).toBe(pin);
      const out = printed(store.health(), log.lines, store.stats());
      const version = store.health().secrets['pin']!.version!;
      expect(out).toContain(version);
      // Every 4-digit PIN, hashed as the source would without a key: none matches what is printed.
      const matches: string[] = [];
      for (let n = 0; n < 10_000; n++) {
        const candidate = String(n).padStart(4, '0');
        const digest = createHash('sha256')
          .update(JSON.stringify({ pin: candidate }))
          .digest('hex');
        if (digest.startsWith(version)) matches.push(candidate);
      }
      expect(matches).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('namespace: X-Vault-Namespace selects the namespace the secret lives in', async () => {
    const emu = await vault();
    emu.kvPut('secret', 'app/db', { password: `team-a-${CANARY}` }, { namespace: 'team-a' });
    const inNamespace = storeOf(
      emu,
      { db: { id: 'secret/data/app/db', format: 'json', key: 'password' } },
      { namespace: 'team-a' },
    );
    await inNamespace.store.load();
    expect(inNamespace.store.get('db')).toBe(`team-a-${CANARY}`);
    const root = storeOf(emu, { db: { id: 'secret/data/app/db', format: 'json' } }, {}, { bootTimeout: '1s' });
    await expect(root.store.load()).rejects.toMatchObject({
      failures: [expect.objectContaining({ code: 'VaultNotFound' })],
    });
  });

  it('reads in parallel, at most `concurrency` at a time', async () => {
    const emu = await vault();
    const decls: Record<string, { id: string; format: 'json' }> = {};
    for (let i = 0; i < 12; i++) {
      emu.kvPut('secret', `bulk/${i}`, { v: `${i}-${CANARY}` });
      decls[`s${i}`] = { id: `secret/data/bulk/${i}`, format: 'json' };
    }
    emu.injectFault({ path: 'secret/data/bulk/', latencyMs: 150 });
    const { store } = storeOf(emu, decls, { concurrency: 4 });
    const started = performance.now();
    await store.load();
    const ms = performance.now() - started;
    // 12 reads of 150 ms, 4 at a time: 3 waves (~450 ms), not 12 × 150 ms nor 1 wave.
    expect(ms).toBeGreaterThanOrEqual(440);
    expect(ms).toBeLessThan(1_500);
  });
});

describe('auth methods', () => {
  it('token: a renewable token is renewed with renew-self before it expires', async () => {
    const emu = await vault();
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    const created = await v1(emu, 'POST', 'auth/token/create', { ttl: '3s', policies: ['default'] });
    const token = created.body.auth.client_token as string;
    const { store, source } = storeOf(
      emu,
      { db: { id: 'secret/data/app/db', format: 'json', key: 'password' } },
      { auth: { token } },
      { refreshInterval: '500ms' },
    );
    await store.load();
    // Past the token's first TTL, reads still work: it was renewed at about 2 s.
    await waitFor(() => (source.stats().calls['renew-self'] ?? 0) >= 2, 8_000, 'two renew-self calls');
    expect(store.health().secrets['db']!.status).toBe('fresh');
    expect(source.stats().outcomes['read']).toEqual({ ok: expect.any(Number) });
  });

  it('AppRole: logs in, logs in again when the token reaches its max TTL, and again when Vault refuses it', async () => {
    const emu = await vault({
      appRoles: { app: { roleId: 'role-1', secretIds: [`secret-${CANARY}`], tokenTtl: '2s', tokenMaxTtl: '3s' } },
    });
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    const { store, source } = storeOf(
      emu,
      { db: { id: 'secret/data/app/db', format: 'json', key: 'password' } },
      { auth: { appRole: { roleId: 'role-1', secretId: `secret-${CANARY}` } } },
      { refreshInterval: '300ms' },
    );
    await store.load();
    await waitFor(() => (source.stats().calls['login'] ?? 0) >= 3, 10_000, 'logins past the max TTL');
    expect(store.health().secrets['db']!.status).toBe('fresh');
    // Vault refuses the token (403, as for a revoked one): the source logs in again and retries once.
    const logins = source.stats().calls['login']!;
    const failed: SecretsEvent[] = [];
    store.onEvent((e) => void (e.type === 'refresh-failed' && failed.push(e)));
    emu.injectFault({ path: 'secret/data/app/db', status: 403, times: 1 });
    emu.kvPut('secret', 'app/db', { password: `two-${CANARY}` });
    // Answered by a read that started after the write (refresh() joins a background round already
    // in flight, every 300 ms here, which may have read the old value before it).
    await expect(store.invalidate(['secret/data/app/db'])).resolves.toEqual(['db']);
    expect(store.get('db')).toBe(`two-${CANARY}`);
    expect(store.health().secrets['db']!.status).toBe('fresh');
    // The 403 went to that read or to a background one; either way it logged in again and read.
    expect(failed).toEqual([]);
    expect(source.stats().calls['login']!).toBeGreaterThan(logins);
  });

  it('a token with a TTL longer than a timer can wait (9000 h) is not renewed in a loop', async () => {
    const emu = await vault({
      maxLeaseTtl: '10000h',
      appRoles: { app: { roleId: 'role-1', secretIds: [`long-${CANARY}`], tokenTtl: '9000h', tokenMaxTtl: '9000h' } },
    });
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    const { store } = storeOf(
      emu,
      { db: { id: 'secret/data/app/db', format: 'json', key: 'password' } },
      { auth: { appRole: { roleId: 'role-1', secretId: `long-${CANARY}` } } },
    );
    await store.load();
    emu.resetCalls();
    await sleep(1_500);
    // Two-thirds of 9000 h overflows setTimeout, which then fires after 1 ms: hundreds of renew-self a second.
    expect(emu.calls()['PUT auth/token/renew-self'] ?? 0).toBe(0);
  });

  it('AppRole with a wrong secret id: load fails with a named code, the secret id never printed', async () => {
    const emu = await vault({ appRoles: { app: { roleId: 'role-1', secretIds: [`right-${CANARY}`] } } });
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    const wrong = `wrong-${CANARY}-secret-id`;
    const { store, log } = storeOf(
      emu,
      { db: { id: 'secret/data/app/db', format: 'json' } },
      { auth: { appRole: { roleId: 'role-1', secretId: wrong } } },
      { bootTimeout: '1s' },
    );
    const error = await store.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect(['VaultPermissionDenied', 'VaultBadRequest']).toContain((error as SecretsLoadError).failures[0]!.code);
    expect(printed(error, log.lines)).not.toContain(CANARY);
  });

  it("Vault's error text that quotes the source's own credentials (token, secret id, role id) is withheld; the code is kept", async () => {
    const secretId = hostile('sid7').slice(0, 80);
    const roleId = 'role-id-7f3a9c2e';
    const emu = await vault({ appRoles: { app: { roleId, secretIds: [secretId] } } });
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    // A proxy or plugin echoing the login body: the secret id, JSON-escaped, and the role id.
    emu.injectFault({
      path: 'auth/approle/login',
      status: 400,
      errors: [`invalid secret id ${JSON.stringify(secretId)} for role id ${roleId}`],
    });
    const login = storeOf(
      emu,
      { db: { id: 'secret/data/app/db', format: 'json' } },
      { auth: { appRole: { roleId, secretId } } },
      { bootTimeout: '1s' },
    );
    const loginError = await login.store.load().catch((e: unknown) => e);
    expect((loginError as SecretsLoadError).failures[0]!.code).toBe('VaultBadRequest');
    const loginOut = printed(loginError, login.log.lines, login.store.health());
    expect(fragmentsIn(loginOut, secretId)).toEqual([]);
    expect(fragmentsIn(loginOut, roleId)).toEqual([]);

    // A read refused with text quoting the token that was sent.
    emu.clearFaults();
    emu.injectFault({ path: 'secret/', status: 403, errors: [`permission denied for token ${emu.rootToken}`] });
    const read = storeOf(emu, { db: { id: 'secret/data/app/db', format: 'json' } }, {}, { bootTimeout: '1s' });
    const readError = await read.store.load().catch((e: unknown) => e);
    expect((readError as SecretsLoadError).failures[0]!.code).toBe('VaultPermissionDenied');
    expect(fragmentsIn(printed(readError, read.log.lines, read.store.health()), emu.rootToken)).toEqual([]);
  });

  it('Kubernetes: logs in with the service-account JWT read from jwtFile', async () => {
    const jwt = `eyJ.${CANARY}.sig`;
    const emu = await vault({ kubernetesRoles: { app: { jwts: [jwt] } } });
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    const dir = await mkdtemp(join(tmpdir(), 'hush-vault-k8s-'));
    try {
      const jwtFile = join(dir, 'token');
      await writeFile(jwtFile, `${jwt}\n`);
      const { store, source } = storeOf(
        emu,
        { db: { id: 'secret/data/app/db', format: 'json', key: 'password' } },
        { auth: { kubernetes: { role: 'app', jwtFile } } },
      );
      await store.load();
      expect(store.get('db')).toBe(`one-${CANARY}`);
      expect(source.stats().calls['login']).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('AWS IAM: signs sts:GetCallerIdentity with the default credential chain (environment here)', async () => {
    const keys = { accessKeyId: 'AKIAVAULTTEST0000001', secretAccessKey: `sk-${CANARY}-0123456789` };
    const emu = await vault({
      awsCredentials: [{ ...keys, arn: 'arn:aws:iam::123456789012:role/app' }],
      awsRoles: { app: { boundIamPrincipalArns: ['arn:aws:iam::123456789012:role/app'] } },
    });
    emu.kvPut('secret', 'app/db', { password: `one-${CANARY}` });
    const saved = { ...process.env };
    process.env['AWS_ACCESS_KEY_ID'] = keys.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = keys.secretAccessKey;
    delete process.env['AWS_SESSION_TOKEN'];
    delete process.env['AWS_PROFILE'];
    try {
      const { store, source } = storeOf(
        emu,
        { db: { id: 'secret/data/app/db', format: 'json', key: 'password' } },
        { auth: { aws: { role: 'app' } } },
      );
      await store.load();
      expect(store.get('db')).toBe(`one-${CANARY}`);
      expect(source.stats().calls['login']).toBe(1);
    } finally {
      process.env = saved;
    }
  });
});

describe('options', () => {
  it('rejects a missing address, credentials in the URL, unknown options', () => {
    const saved = process.env['VAULT_ADDR'];
    delete process.env['VAULT_ADDR'];
    try {
      expect(() => hashicorpVault()).toThrow(/hashicorpVault.address/);
      expect(() => hashicorpVault({ address: 'http://u:p@vault:8200' })).toThrow(/credentials/);
      expect(() => hashicorpVault({ address: 'http://vault:8200', adress: 'x' } as never)).toThrow(/Did you mean/);
    } finally {
      if (saved !== undefined) process.env['VAULT_ADDR'] = saved;
    }
  });

  it('isVaultError names the code of a SecretFetchError', () => {
    const e = new SecretFetchError('secret/data/x', 'VaultSealed', 'sealed', { retryable: true });
    expect(isVaultError(e, VaultErrorCodes.SEALED)).toBe(true);
    expect(isVaultError(e, VaultErrorCodes.NOT_FOUND)).toBe(false);
  });
});
