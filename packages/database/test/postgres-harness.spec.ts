import pg from 'pg';
import { startPostgres, type PostgresServer } from '@hush/database/testing';

describe('startPostgres', () => {
  let db: PostgresServer;
  beforeAll(async () => {
    db = await startPostgres();
  });
  afterAll(() => db?.stop());

  it('serves a real PostgreSQL 18 on a random port', async () => {
    const { rows } = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    expect(rows[0]!.v).toMatch(/^18\./);
    expect(db.port).toBeGreaterThan(0);
  });

  it('authenticates with SCRAM: a wrong password fails with 28P01', async () => {
    const { rows } = await db.query<{ rule: string }>(
      `SELECT string_agg(auth_method, ',') AS rule FROM pg_hba_file_rules WHERE type = 'host'`,
    );
    expect(rows[0]!.rule).toMatch(/scram-sha-256/);
    const client = new pg.Client({
      host: db.host,
      port: db.port,
      user: db.user,
      password: 'wrong',
      database: 'postgres',
    });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  it('does not print the superuser password', () => {
    expect(JSON.stringify(db)).not.toContain(db.password);
  });

  it('stops and frees the port', async () => {
    const other = await startPostgres();
    await other.stop();
    const client = new pg.Client({ host: other.host, port: other.port, user: other.user, password: other.password });
    await expect(client.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
