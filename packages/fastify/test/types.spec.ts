/**
 * Type tests: checked by `tsc -p tsconfig.spec.json`; a wrong type makes the type check fail.
 * `app.secrets` and `request.secrets` are typed through the `HushSecrets` augmentation in
 * ./helpers, exactly as an application writes it. (The package's own .d.ts is compiled with
 * `skipLibCheck: false` by test/packaging.spec.ts.)
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { SecretStore, memorySource } from '@hush/core';
import hushDefault, { hushSecrets, type HushFastify, type HushSecrets } from '@hush/fastify';
import { dbValue, secrets } from './helpers';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_ok: T): void {}

it('types app.secrets and request.secrets from the augmented registry and rejects undeclared names', async () => {
  expectType<Equal<FastifyRequest['secrets'], HushSecrets>>(true);
  expectType<Equal<FastifyInstance['secrets'], HushSecrets>>(true);
  expectType<Equal<FastifyInstance['hush'], HushFastify>>(true);
  expectType<Equal<HushSecrets['db'], { username: string; password: string; host: string }>>(true);
  expectType<Equal<HushSecrets['dbUser'], string>>(true);
  expectType<Equal<HushSecrets['legacy'], string | undefined>>(true);
  expectType<Equal<typeof hushDefault, typeof hushSecrets>>(true);

  const source = memorySource({
    'app/db': JSON.stringify(dbValue(1)),
    'app/api-key': 'k',
    'app/admin-token': 't',
  });
  const app = Fastify();
  await app.register(hushSecrets, { secrets, source, refreshInterval: '5m', healthPath: '/healthz' });
  app.get('/', (request) => {
    // @ts-expect-error -- request.secrets is read-only
    if (!request) request.secrets = {} as HushSecrets;
    const user: string = request.secrets.db.username;
    return { user, key: app.secrets.apiKey };
  });
  await app.register(async (admin) => {
    await admin.register(hushSecrets, { only: ['adminToken'] });
    admin.get('/t', (request) => request.secrets.adminToken);
  });
  const handler = app.hush.health({ failOnStale: true });
  app.get('/h', handler);
  expect((await app.inject('/')).json()).toEqual({ user: dbValue(1).username, key: 'k' });
  await app.close();
});

/** Misuses the type checker must reject (never run). */
export function rejectedByTypes(app: FastifyInstance, store: SecretStore): void {
  // @ts-expect-error -- only takes declared names
  void app.register(hushSecrets, { only: ['adminTokn'] });
  // @ts-expect-error -- secrets and store are exclusive
  void app.register(hushSecrets, { secrets, store });
  // @ts-expect-error -- refresh takes declared names
  void app.hush.refresh('nope');
  // @ts-expect-error -- not declared
  void app.secrets.nope;
  // @ts-expect-error -- app.secrets is read-only
  app.secrets = {} as HushSecrets;
}
