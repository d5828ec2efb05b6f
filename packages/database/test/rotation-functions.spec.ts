import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { postgresSingleUser } from '@hush/emulator/rotation-postgres';
import { SECRET_ID, clearPending, fixture, rotate, type Fixture, type RdsSecret } from './support';

async function stage(fx: Fixture, stage: string): Promise<RdsSecret> {
  const out = await fx.sm.send(new GetSecretValueCommand({ SecretId: SECRET_ID, VersionStage: stage }));
  return JSON.parse(out.SecretString!) as RdsSecret;
}

async function loginCode(s: RdsSecret): Promise<string> {
  const client = new pg.Client({
    host: s.host,
    port: s.port,
    user: s.username,
    password: s.password,
    database: s.dbname,
  });
  try {
    await client.connect();
    return (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  } catch (error) {
    return (error as { code: string }).code;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('PostgreSQL rotation functions (@hush/emulator/rotation-postgres)', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await fixture();
  });
  afterAll(() => fx?.stop());

  describe('postgresSingleUser', () => {
    it('changes the password in the database at setSecret and moves AWSCURRENT at finishSecret', async () => {
      const { value: v1 } = await fx.user('solo', 'pw-solo-1');
      let inWindow: [string, string, string] | undefined;
      await rotate(fx, 'single', {
        onWindow: async () => {
          const pending = await stage(fx, 'AWSPENDING');
          // The single-user window: AWSCURRENT is still the old password, which no longer logs in.
          inWindow = [(await stage(fx, 'AWSCURRENT')).password, await loginCode(v1), await loginCode(pending)];
        },
      });
      expect(inWindow).toEqual(['pw-solo-1', '28P01', 'solo']);
      const current = await stage(fx, 'AWSCURRENT');
      expect(current.username).toBe('solo');
      expect(current.password).not.toBe('pw-solo-1');
      expect(current.password).toMatch(/^CANARY-[\w-]{20,}$/);
      expect(await loginCode(current)).toBe('solo');
      expect((await stage(fx, 'AWSPREVIOUS')).password).toBe('pw-solo-1');
    });

    it('sets hostile generated passwords exactly (quotes, backslashes, unicode, very long)', async () => {
      await fx.user('solo2', 'pw-solo2-1');
      for (const password of [
        `a'b"c\\d\\'e-CANARY`,
        'ünï-çødé-密码-CANARY',
        `CANARY${'p'.repeat(2000)}`,
        `$$;--\nCANARY`,
      ]) {
        fx.passwords.push(password);
        await rotate(fx, 'single');
        const current = await stage(fx, 'AWSCURRENT');
        expect(current.password).toBe(password);
        expect(await loginCode(current)).toBe('solo2');
      }
    });

    it('re-running a step is harmless (Secrets Manager retries steps)', async () => {
      await fx.user('solo3', 'pw-solo3-1');
      const fn = postgresSingleUser();
      const context = { client: fx.sm, endpoint: fx.emu.url, region: fx.emu.region };
      const token = 'retry-token-0000000000000000000000001';
      for (const Step of [
        'createSecret',
        'createSecret',
        'setSecret',
        'setSecret',
        'testSecret',
        'finishSecret',
        'finishSecret',
      ] as const) {
        await fn({ SecretId: SECRET_ID, ClientRequestToken: token, Step }, context);
      }
      const current = await stage(fx, 'AWSCURRENT');
      expect(await loginCode(current)).toBe('solo3');
      // The default generator: 32 characters without the templates' excluded / @ " ' \\
      expect(current.password).toHaveLength(32);
      expect(current.password).not.toMatch(/[/@"'\\]/);
      await expect(
        fn(
          { SecretId: SECRET_ID, ClientRequestToken: 'not-a-version-000000000000000000000001', Step: 'setSecret' },
          context,
        ),
      ).rejects.toThrow(/not AWSPENDING/);
    });
  });

  describe('postgresAlternatingUsers', () => {
    it('alternates between <user> and <user>_clone; the previous credentials keep working for one rotation', async () => {
      const { value: v1 } = await fx.user('duo', 'pw-duo-1');
      const owner = new pg.Client({ host: v1.host, port: v1.port, user: 'duo', password: 'pw-duo-1', database: 'duo' });
      await owner.connect();
      await owner.query('CREATE TABLE items (n int); INSERT INTO items VALUES (7)');
      await owner.end();

      await rotate(fx, 'alternating');
      const first = await stage(fx, 'AWSCURRENT');
      expect(first.username).toBe('duo_clone');
      expect(await loginCode(first)).toBe('duo_clone');
      expect(await loginCode(v1)).toBe('duo'); // the old user is untouched
      // The clone has the original user's privileges.
      const clone = new pg.Client({
        host: first.host,
        port: first.port,
        user: first.username,
        password: first.password,
        database: 'duo',
      });
      await clone.connect();
      expect((await clone.query('SELECT n FROM items')).rows).toEqual([{ n: 7 }]);
      await clone.end();

      await rotate(fx, 'alternating');
      const second = await stage(fx, 'AWSCURRENT');
      expect(second.username).toBe('duo');
      expect(second.password).not.toBe('pw-duo-1');
      expect(await loginCode(second)).toBe('duo');
      expect(await loginCode(first)).toBe('duo_clone'); // AWSPREVIOUS still valid
      expect(await loginCode(v1)).toBe('28P01'); // two rotations old
    });

    const roles = async (prefix: string) =>
      (
        await fx.pg.query<{ r: string }>('SELECT rolname AS r FROM pg_roles WHERE starts_with(rolname, $1)', [prefix])
      ).rows
        .map((row) => row.r)
        .sort();

    it('refuses a clone name over 63 characters, as the MultiUser template does (no truncated third role)', async () => {
      const long = `l${'o'.repeat(58)}ng`; // 61 characters: with _clone, 67
      await fx.user(long, 'pw-long-1');
      await expect(rotate(fx, 'alternating')).rejects.toThrow(/createSecret.*would exceed 63 characters/);
      expect(await roles(long.slice(0, 20))).toEqual([long]);
      expect((await stage(fx, 'AWSCURRENT')).username).toBe(long);
    });

    it('a 57-character user clones to exactly 63 and maps back: two rotations, two roles', async () => {
      const edge = `e${'d'.repeat(55)}g`; // 57 characters: with _clone, 63
      await fx.user(edge, 'pw-edge-1');
      await rotate(fx, 'alternating');
      expect((await stage(fx, 'AWSCURRENT')).username).toBe(`${edge}_clone`);
      await rotate(fx, 'alternating');
      const back = await stage(fx, 'AWSCURRENT');
      expect(back.username).toBe(edge);
      expect(await loginCode(back)).toBe(edge);
      expect(await roles(edge.slice(0, 20))).toEqual([edge, `${edge}_clone`]);
    });
  });

  describe('engines', () => {
    it.each([['single' as const], ['alternating' as const]])(
      'rotates a secret with engine "aurora-postgresql" (%s), as the templates accept',
      async (strategy) => {
        const { value } = await fx.user(`aurora_${strategy}`, 'pw-aurora-1');
        await clearPending(fx.sm, SECRET_ID);
        fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...value, engine: 'aurora-postgresql' }));
        await rotate(fx, strategy);
        const current = await stage(fx, 'AWSCURRENT');
        expect(current.engine).toBe('aurora-postgresql');
        expect(await loginCode(current)).toBe(strategy === 'single' ? 'aurora_single' : 'aurora_alternating_clone');
      },
    );

    it('still refuses another engine, naming the accepted ones', async () => {
      const { value } = await fx.user('mysql_app', 'pw-mysql-1');
      await clearPending(fx.sm, SECRET_ID);
      fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...value, engine: 'mysql' }));
      await expect(rotate(fx, 'single')).rejects.toThrow(/engine "mysql", not one of "postgres", "aurora-postgresql"/);
    });
  });
});
