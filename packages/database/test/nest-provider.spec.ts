/**
 * The Nest provider recipe (apps/db-demo/src/pg-pool.provider.ts) in a real Nest app on the real
 * database: the pool is injectable, survives a rotation, and is closed by app.close().
 */
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { SecretStore, awsSecretsManager } from '@hush/core';
import type { HushPgPool } from '@hush/database/pg';
import { PG_POOL, PgPoolModule } from '@hush/db-demo';
import { SecretsModule } from '@hush/nestjs';
import { fixture, rotate, secrets, type Fixture } from './support';

describe('Nest provider recipe (PgPoolModule)', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await fixture();
  });
  afterAll(() => fx?.stop());

  it('injects a createPgPool pool that follows a rotation and is closed on app.close()', async () => {
    await fx.user('nest_app', 'pw-nest-CANARY-1');
    const moduleRef = await Test.createTestingModule({
      imports: [
        SecretsModule.forRoot({
          secrets,
          source: awsSecretsManager({ clientConfig: { ...fx.emu.clientConfig(), maxAttempts: 1 } }),
          refreshInterval: false,
          isGlobal: true,
        }),
        PgPoolModule,
      ],
    }).compile();
    const app = await moduleRef.createNestApplication({ logger: false }).init();
    const pool = app.get<HushPgPool>(PG_POOL);
    expect(pool.secretName).toBe('db');
    expect((await pool.query('SELECT current_user AS u')).rows[0].u).toBe('nest_app');
    await rotate(fx, 'alternating');
    await app.get(SecretStore).refresh('db');
    expect((await pool.query('SELECT current_user AS u')).rows[0].u).toBe('nest_app_clone');
    await app.close();
    expect(pool.ended).toBe(true);
  });
});
