/**
 * Type tests: checked by `tsc -p tsconfig.spec.json` (part of `npm test`); the runtime assertions
 * keep Jest honest too. A wrong inference makes the type check fail.
 */
import { z } from 'zod';
import { defineSecrets, memorySource, SecretBytes, SecretStore, type InferSecrets, type Secret } from '@hush/core';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_ok: T): void {}

const Db = z.object({ username: z.string(), port: z.number() });
const secrets = defineSecrets({
  db: { id: 'prod/app/db', format: 'json', schema: Db },
  raw: { id: 'prod/app/db', format: 'json' },
  dbUser: { id: 'prod/app/db', key: 'username' },
  port: { id: 'prod/app/db', key: 'port', schema: z.number() },
  apiKey: 'prod/app/api-key',
  cert: { id: 'prod/app/cert', format: 'binary' },
  old: { id: 'prod/app/db', versionStage: 'AWSPREVIOUS', optional: true, format: 'json', schema: Db },
});

describe('declaration types', () => {
  it('infers value types from declarations', async () => {
    const store = new SecretStore(secrets, {
      source: memorySource({
        'prod/app/db': { username: 'u', port: 5432 },
        'prod/app/api-key': 'k-CANARY',
        'prod/app/cert': new Uint8Array([1]),
      }),
      refreshInterval: false,
    });
    await store.load();
    expectType<Equal<ReturnType<typeof store.get<'db'>>, { username: string; port: number }>>(true);
    expectType<Equal<ReturnType<typeof store.get<'raw'>>, unknown>>(true);
    expectType<Equal<ReturnType<typeof store.get<'dbUser'>>, string>>(true);
    expectType<Equal<ReturnType<typeof store.get<'port'>>, number>>(true);
    expectType<Equal<ReturnType<typeof store.get<'apiKey'>>, string>>(true);
    expectType<Equal<ReturnType<typeof store.get<'cert'>>, SecretBytes>>(true);
    expectType<Equal<ReturnType<typeof store.get<'old'>>, { username: string; port: number } | undefined>>(true);
    expectType<Equal<ReturnType<typeof store.handle<'db'>>, Secret<{ username: string; port: number }>>>(true);
    expectType<Equal<InferSecrets<typeof secrets>['apiKey'], string>>(true);

    // @ts-expect-error an undeclared name does not compile
    expect(() => store.get('nope')).toThrow(/not declared/);
    // @ts-expect-error subscribe is typed by name too
    expect(() => store.subscribe('nope', () => {})).toThrow(/not declared/);

    expect(store.get('port')).toBe(5432);
    expect(store.get('cert')).toBeInstanceOf(SecretBytes);
    await store.close();
  });
});
