/**
 * `npm run start:vault` (apps/vault-demo.mjs) on the built packages: a Vault emulator whose database
 * engine creates real roles in an embedded PostgreSQL, a store reading leases through
 * hashicorpVault(), createPgPool under a steady load. Run as a child process with short leases
 * (3 s, max_ttl 5 s): the failed-queries counter stays 0 while new database users replace old ones,
 * then SIGTERM exits 0.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

interface VaultStatus {
  queries: number;
  failed: number;
  users: number;
  status: string;
  lease: { status: string; leaseRemainingSeconds?: number };
}

it('serves queries through lease renewals and new database users with 0 failures, and exits on SIGTERM', async () => {
  for (const built of ['packages/vault/dist/index.js', 'packages/database/dist/testing/index.js']) {
    if (!existsSync(join(root, built)))
      throw new Error(`${built} is missing: run \`npm run build\` first (npm test does).`);
  }
  const child = spawn(process.execPath, ['apps/vault-demo.mjs'], {
    cwd: root,
    env: { ...process.env, VAULT_PORT: '0', VAULT_DEMO_PORT: '0', VAULT_DEMO_TTL_S: '3', VAULT_DEMO_MAX_TTL_S: '5' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const stuck = (phase: string) =>
    new Error(`${phase}; demo exit code ${String(exitCode)}; its output ends:\n${output.slice(-4000)}`);
  let status: VaultStatus | undefined;
  try {
    const bannerBy = Date.now() + 60_000;
    while (!output.includes('Ctrl-C to stop')) {
      if (exitCode !== undefined || Date.now() > bannerBy) throw stuck('no banner within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = /(http:\/\/\S+\/vault)\b/.exec(output)![1]!;
    const by = Date.now() + 30_000;
    for (;;) {
      status = (await (await fetch(url)).json()) as VaultStatus;
      if (status.users >= 3 || Date.now() > by) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(status.users).toBeGreaterThanOrEqual(3);
    expect(status.failed).toBe(0);
    expect(status.queries).toBeGreaterThan(50);
    expect(status.status).toBe('up');
    expect(status.lease.leaseRemainingSeconds).toBeGreaterThanOrEqual(0);
  } finally {
    if (exitCode === undefined) child.kill('SIGTERM');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0) throw stuck('SIGTERM did not exit 0');
  expect(output).toContain('SIGTERM: shutting down');
}, 120_000);
