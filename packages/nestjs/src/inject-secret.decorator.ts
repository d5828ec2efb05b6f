import { Inject } from '@nestjs/common';
import { SecretsConfigError } from '@hush/core';
import { getSecretToken } from './secrets.constants';
import { addSecretUsage, injectedSecretNames } from './secret-usage.metadata';
import type { SecretKey } from './secrets.registry';

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
