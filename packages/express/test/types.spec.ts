/**
 * Type tests: checked by `tsc -p tsconfig.spec.json`; a wrong type makes the type check fail.
 * `req.secrets` is typed through the `HushSecrets` augmentation in ./helpers, exactly as an
 * application would write it.
 */
import express, { type Request } from 'express';
import express4 from 'express4';
import request from 'supertest';
import type { Secret, SecretStore } from '@hush/core';
import { createSecrets, type Hush, type HushSecrets, type SecretsMiddleware } from '@hush/express';
import type { Emulator } from '@hush/emulator';
import { emulator, secrets, source } from './helpers';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_ok: T): void {}

let emu: Emulator;
beforeAll(async () => {
  emu = await emulator();
});
afterAll(() => emu.close());

describe('types', () => {
  it('types req.secrets from the augmented registry and rejects undeclared names', async () => {
    const hush = await createSecrets({ secrets, source: source(emu), refreshInterval: false });
    expectType<Equal<typeof hush, Hush<typeof secrets>>>(true);
    expectType<Equal<typeof hush.store, SecretStore<typeof secrets>>>(true);
    expectType<Equal<ReturnType<typeof hush.get<'apiKey'>>, string>>(true);
    expectType<
      Equal<ReturnType<typeof hush.store.handle<'db'>>, Secret<{ username: string; password: string; host: string }>>
    >(true);
    expectType<Equal<Request['secrets'], HushSecrets>>(true);
    expectType<Equal<HushSecrets['db'], { username: string; password: string; host: string }>>(true);
    expectType<Equal<HushSecrets['dbUser'], string>>(true);
    expectType<Equal<HushSecrets['legacy'], string | undefined>>(true);

    const app = express();
    const mw: SecretsMiddleware = hush.middleware();
    app.use(mw);
    // The same handlers fit Express 4's types.
    express4()
      .use(hush.middleware(), hush.middleware({ only: ['db'] }))
      .get('/healthz', hush.health());
    app.get('/', (req, res) => {
      expectType<Equal<typeof req.secrets.db.password, string>>(true);
      expectType<Equal<typeof req.secrets.apiKey, string>>(true);
      // Both lines fail to compile, and throw at runtime for JavaScript callers.
      // @ts-expect-error an undeclared name does not compile
      const undeclared = () => req.secrets.dbPasword;
      // @ts-expect-error req.secrets is read-only
      const assign = () => (req.secrets = {} as HushSecrets);
      expect(undeclared).toThrow(/"dbPasword" is not declared/);
      expect(assign).toThrow(TypeError);
      res.send(req.secrets.dbUser);
    });
    app.get('/healthz', hush.health());
    app.get('/readyz', hush.readiness({ key: 'vault' }));
    // @ts-expect-error `only` accepts declared names only
    expect(() => hush.middleware({ only: ['nope'] })).toThrow(/not a declared secret/);
    // @ts-expect-error refresh is typed by name
    await expect(hush.refresh('nope')).rejects.toThrow(/not declared/);

    await request(app).get('/').expect(200, 'user-CANARY-1');
    const ready = await request(app).get('/readyz').expect(200);
    expect(Object.keys(ready.body.details)).toEqual(['vault']);
    await hush.close();
  });
});
