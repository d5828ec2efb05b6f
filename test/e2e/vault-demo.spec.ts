/**
 * `npm run start:vault` (apps/vault-demo.mjs) on the built packages: a Vault emulator whose database
 * engine creates real roles in an embedded PostgreSQL, a store reading leases through
 * hashicorpVault(), createPgPool under a steady load. Run as a child process with short leases
 * (3 s, max_ttl 5 s): the failed-queries counter stays 0 while new database users replace old ones,
 * then SIGTERM exits 0.
 */
import { startDemo } from './demo-process';

interface VaultStatus {
  queries: number;
  failed: number;
  users: number;
  status: string;
  lease: { status: string; leaseRemainingSeconds?: number };
}

it('serves queries through lease renewals and new database users with 0 failures, and exits on SIGTERM', async () => {
  const demo = startDemo(
    'apps/vault-demo.mjs',
    { VAULT_PORT: '0', VAULT_DEMO_PORT: '0', VAULT_DEMO_TTL_S: '3', VAULT_DEMO_MAX_TTL_S: '5' },
    ['packages/vault/dist/index.js', 'packages/database/dist/testing/index.js'],
  );
  let status: VaultStatus | undefined;
  try {
    const output = await demo.banner(60_000);
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
    if (demo.exitCode() === undefined) demo.child.kill('SIGTERM');
  }
  const code = await demo.stop('SIGTERM', 20_000);
  if (code !== 0) throw demo.stuck('SIGTERM did not exit 0');
  expect(demo.output()).toContain('SIGTERM: shutting down');
}, 120_000);
