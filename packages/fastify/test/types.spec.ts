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
    const user: string = request.secrets.db.username;
    // @ts-expect-error -- not declared
    void request.secrets.nope;
    // @ts-expect-error -- read-only
    request.secrets = {} as HushSecrets;
    return { user, key: app.secrets.apiKey };
  });
  await app.register(async (admin) => {
    await admin.register(hushSecrets, { only: ['adminToken'] });
    // @ts-expect-error -- only takes declared names
    await admin.register(hushSecrets, { only: ['adminTokn'] });
  });
  // @ts-expect-error -- secrets and store are exclusive
  void app.register(hushSecrets, { secrets, store: new SecretStore(secrets, { source }) });
  const handler = app.hush.health({ failOnStale: true });
  app.get('/h', handler);
  // @ts-expect-error -- refresh takes declared names
  void app.hush.refresh('nope');
  expect(typeof handler).toBe('function');
});
