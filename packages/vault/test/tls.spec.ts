import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineSecrets, SecretsLoadError, SecretStore } from '@hush/core';
import type { VaultEmulator } from '@hush/emulator';
import { hashicorpVault, type HashicorpVaultOptions } from '@hush/vault';
import { selfSignedCert } from '../../../test/support';
import { CANARY, closeVaults, vault } from './support';

/**
 * `https://` Vault addresses: a self-signed certificate (openssl) on a TLS front that forwards to
 * the emulator. Trusted through `tls.ca` or the file at VAULT_CACERT; refused (a named TLS code)
 * without it; accepted with `rejectUnauthorized: false`.
 */

let dir: string;
let cert: Buffer;
let key: Buffer;
let emu: VaultEmulator;
let front: https.Server;
let address: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hush-vault-tls-'));
  const { keyFile, certFile } = selfSignedCert(dir, 'vault');
  cert = readFileSync(certFile);
  key = readFileSync(keyFile);
  emu = await vault();
  emu.kvPut('secret', 'app/db', { password: `tls-${CANARY}` });
  const target = new URL(emu.url);
  front = https.createServer({ cert, key }, (req, res) => {
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  address = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
});

afterAll(async () => {
  front.closeAllConnections();
  await new Promise((resolve) => front.close(resolve));
  await closeVaults();
  rmSync(dir, { recursive: true, force: true });
});

const stores: SecretStore<any>[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

function load(options: HashicorpVaultOptions) {
  const store = new SecretStore(defineSecrets({ db: { id: 'secret/data/app/db', format: 'json', key: 'password' } }), {
    source: hashicorpVault({ address, auth: { token: emu.rootToken }, ...options }),
    bootTimeout: '1s',
  });
  stores.push(store);
  return store.load().then(() => store);
}

describe('TLS', () => {
  it('trusts a private CA given as tls.ca', async () => {
    const store = await load({ tls: { ca: cert } });
    expect(store.get('db')).toBe(`tls-${CANARY}`);
  });

  it('trusts the CA file named by VAULT_CACERT', async () => {
    process.env['VAULT_CACERT'] = join(dir, 'vault.crt');
    try {
      const store = await load({});
      expect(store.get('db')).toBe(`tls-${CANARY}`);
    } finally {
      delete process.env['VAULT_CACERT'];
    }
  });

  it('refuses an untrusted certificate with a named TLS code; rejectUnauthorized: false accepts it', async () => {
    const error = await load({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect((error as SecretsLoadError).failures[0]!.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    const store = await load({ tls: { rejectUnauthorized: false } });
    expect(store.get('db')).toBe(`tls-${CANARY}`);
  });

  it('an unreadable VAULT_CACERT is a configuration error at construction', () => {
    process.env['VAULT_CACERT'] = join(dir, 'missing.pem');
    try {
      expect(() => hashicorpVault({ address, auth: { token: 'x' } })).toThrow(/VAULT_CACERT/);
    } finally {
      delete process.env['VAULT_CACERT'];
    }
  });
});
