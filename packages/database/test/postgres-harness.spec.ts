import pg from 'pg';
import { startPostgres, type PostgresServer } from '@hush/database/testing';
import { until } from './support';

/** Hostile passwords, each with CANARY (the run-wide leak scan also looks for it). */
const PASSWORDS = [
  `it's "CANARY" \\ back\\slash`,
  'pässwörd-日本語-CANARY',
  `multi\nline\nCANARY-pw`,
  `CANARY${'q'.repeat(300)}`,
];
const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;

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

  describe.each([
    ['default settings', {}],
    ['log_statement all', { log_statement: 'all', log_min_error_statement: 'error' }],
  ])('onLog never receives a password (%s)', (_label, settings) => {
    it('failing and succeeding CREATE ROLE / ALTER ROLE … PASSWORD, multi-line, syntax errors', async () => {
      const lines: string[] = [];
      const pg2 = await startPostgres({ settings, onLog: (line) => lines.push(line) });
      try {
        await pg2.query(`CREATE ROLE dup LOGIN PASSWORD 'pw-dup-1'`);
        for (const password of PASSWORDS) {
          const attempts = [
            `CREATE ROLE dup LOGIN PASSWORD ${literal(password)}`, // already exists
            `ALTER ROLE nobody_here PASSWORD ${literal(password)}`, // does not exist
            `CREATE ROLE syn LOGIN PASSWORD ${literal(password)} ${literal(password)}`, // syntax error
            `ALTER ROLE dup\n  PASSWORD ${literal(password)}`, // succeeds (logged with log_statement all)
          ];
          for (const sql of attempts) await pg2.query(sql).catch(() => undefined);
        }
        // A last failing statement without a password: once it is in, every earlier line is.
        await pg2.query('SELECT 1/0 AS hush_marker').catch(() => undefined);
        await until(() => lines.some((l) => l.includes('hush_marker')));
      } finally {
        await pg2.stop();
      }
      const text = lines.join('\n');
      // Lines without a password still arrive.
      expect(text).toMatch(/ERROR: {2}division by zero/);
      for (const password of [...PASSWORDS, 'pw-dup-1']) {
        for (const fragment of [password, password.slice(0, 8), password.slice(-8), ...password.split('\n')]) {
          expect(text).not.toContain(fragment);
        }
      }
      expect(text).not.toContain('CANARY');
      // The error and the statement quoting the password arrive as one line.
      expect(text).toMatch(/\[\d+\] ERROR: {2}\[redacted: a message quoting SQL with a password\]/);
    });
  });
});
