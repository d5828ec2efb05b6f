import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startVaultEmulator, type VaultEmulator } from '@hush/emulator';
import { CANARY, fragmentsIn } from './support';

/**
 * A plain process (`node boot.mjs`, the BUILT packages through node_modules, as an installed app)
 * booting through a Vault that answers late: started before Vault listens, it retries the refused
 * connection within bootTimeout, stays alive meanwhile (no awaited timer is unref'd), loads, exits 0.
 * And one whose Vault never answers exits non-zero within bootTimeout, naming the secret.
 */

const root = join(__dirname, '..', '..', '..');
const app = join(__dirname, 'fixtures', 'boot.mjs');
const PASSWORD = `late-${CANARY}'"\\ λ`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function run(env: Record<string, string>): { exit: Promise<{ code: number | null; output: string; ms: number }> } {
  const started = performance.now();
  const child = spawn(process.execPath, [app], { env: { PATH: process.env['PATH'] ?? '', ...env }, cwd: root });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return {
    exit: new Promise((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output, ms: Math.round(performance.now() - started) });
      }),
    ),
  };
}

let emu: VaultEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

beforeAll(() => {
  for (const f of ['packages/core/dist/index.js', 'packages/vault/dist/index.js'])
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run \`npm run build\` first (npm test does).`);
});

describe('a plain process booting through Vault', () => {
  it('Vault starts listening 2 s after the app: the app waits, loads, exits 0; no value in its output', async () => {
    const port = await freePort();
    const token = `hvs.field-${Date.now()}`;
    const proc = run({ VAULT_ADDR: `http://127.0.0.1:${port}`, VAULT_TOKEN: token });
    await new Promise((r) => setTimeout(r, 2_000));
    emu = await startVaultEmulator({ port, rootToken: token });
    emu.kvPut('secret', 'app/db', { password: PASSWORD });
    const { code, output, ms } = await proc.exit;
    expect(output).toMatch(new RegExp(`ready in \\d+ ms, length ${PASSWORD.length}`));
    expect(code).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(2_000);
    expect(fragmentsIn(output, PASSWORD)).toEqual([]);
  }, 45_000);

  it('Vault answers each read 1.5 s late: the app loads and exits 0', async () => {
    emu = await startVaultEmulator();
    emu.kvPut('secret', 'app/db', { password: PASSWORD });
    emu.injectFault({ path: 'secret/data/app/db', latencyMs: 1_500 });
    const { code, output } = await run({ VAULT_ADDR: emu.url, VAULT_TOKEN: emu.rootToken }).exit;
    expect(output).toMatch(/ready in \d+ ms/);
    expect(code).toBe(0);
  }, 45_000);

  it('Vault never answers: exit 3 within bootTimeout, naming the secret id', async () => {
    const port = await freePort();
    const { code, output, ms } = await run({
      VAULT_ADDR: `http://127.0.0.1:${port}`,
      VAULT_TOKEN: 'hvs.nothing',
      BOOT_TIMEOUT: '3s',
    }).exit;
    expect(code).toBe(3);
    expect(output).toMatch(/load failed after \d+ ms/);
    expect(output).toContain('secret/data/app/db');
    expect(output).toContain('ECONNREFUSED');
    expect(ms).toBeLessThan(10_000);
  }, 45_000);
});
