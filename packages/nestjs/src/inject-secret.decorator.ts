import { Inject, type FactoryProvider } from '@nestjs/common';
import { SecretStore, SecretsConfigError } from '@hush/core';
import { addSecretUsage } from './secret-usage.metadata';
import type { SecretKey } from './secrets.registry';

// Everything `@InjectSecret` needs lives here: the token, the names it was used with, and the
// providers SecretsModule registers for them (as nestjs-pino keeps InjectPinoLogger in one file).

/**
 * The injection token of one declared secret's live handle (`Secret<T>`). Exported so tests can
 * override a single secret with `overrideProvider(getSecretToken('db'))`.
 *
 * @example
 * Test.createTestingModule({ imports: [AppModule] })
 *   .overrideProvider(getSecretToken('db'))
 *   .useValue({ value: { username: 'u', password: 'p' } });
 */
export function getSecretToken(name: string): string {
  return `SECRETS:SECRET(${name})`;
}

/** Every name ever passed to `@InjectSecret` on a constructor parameter, so forRootAsync can provide its token. */
export const injectedSecretNames = new Set<string>();

/**
 * One provider per name, `getSecretToken(name)` → `store.handle(name)`. Undeclared names (only
 * reachable when a class outside this app used them) resolve to `undefined`; `checkUsages`
 * rejects them for classes inside the app.
 */
export function secretTokenProviders(names: Iterable<string>): FactoryProvider[] {
  return [...new Set(names)].map((name) => ({
    provide: getSecretToken(name),
    useFactory: (store: SecretStore) => (store.has(name) ? store.handle(name) : undefined),
    inject: [SecretStore],
  }));
}

/**
 * Injects a declared secret.
 *
 * - On a **constructor parameter** it injects the live handle `Secret<T>`: `handle.value` is
 *   always the current value and the handle prints `[redacted]`.
 * - On a **property** it installs an always-current, read-only accessor returning the value itself
 *   (bound on the instance when the module initialises, so it also works when TypeScript emits real
 *   class fields — `useDefineForClassFields`, the default for ES2022+ targets). The property is
 *   non-enumerable, so `JSON.stringify(service)` does not include it.
 *
 * An undeclared name fails bootstrap with an error naming the class, the name and the declared names.
 *
 * @example
 * @Injectable()
 * class DbService {
 *   constructor(@InjectSecret('db') private readonly db: Secret<DbCredentials>) {}
 *   @InjectSecret('apiKey') apiKey!: string;
 * }
 */
export function InjectSecret(name: SecretKey): PropertyDecorator & ParameterDecorator {
  if (typeof name !== 'string' || name === '') {
    throw new SecretsConfigError('@InjectSecret', "expected the declared name of a secret, e.g. @InjectSecret('db').");
  }
  return (target: object, key: string | symbol | undefined, index?: number): void => {
    if (typeof index === 'number') {
      if (key !== undefined) {
        throw new SecretsConfigError(
          `@InjectSecret('${name}')`,
          `used on a parameter of method ${String(key)}() of ${className(target)}; Nest only injects constructor parameters. ` +
            'Use it on a constructor parameter or a property.',
        );
      }
      injectedSecretNames.add(name);
      addSecretUsage(target, { kind: 'parameter', index, name });
      Inject(getSecretToken(name))(target, key, index);
      return;
    }
    if (key === undefined || typeof target === 'function') {
      throw new SecretsConfigError(
        `@InjectSecret('${name}')`,
        `used on a static member of ${className(target)}; use it on an instance property or a constructor parameter.`,
      );
    }
    addSecretUsage(target.constructor, { kind: 'property', property: key, name });
  };
}

function className(target: object): string {
  return (typeof target === 'function' ? target.name : target.constructor?.name) || 'an anonymous class';
}
