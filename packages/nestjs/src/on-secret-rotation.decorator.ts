import { SecretsConfigError } from '@hush/core';
import { addSecretUsage } from './secret-usage.metadata';
import type { SecretKey } from './secrets.registry';

/**
 * Calls the decorated provider method with the new value each time the secret's version changes
 * (not at the initial load, not when a refresh returns the same version), e.g. to rebuild a
 * connection pool. The second argument is `{ name, version, previousVersion }`.
 *
 * A hook that throws or rejects is logged — by class, method, secret name and error, never the
 * value — and other hooks and the refresh loop carry on. Works on singleton providers and controllers.
 *
 * @example
 * @OnSecretRotation('db')
 * async reconnect(next: DbCredentials) {
 *   await this.pool.end();
 *   this.pool = createPool(next);
 * }
 */
export function OnSecretRotation(name: SecretKey): MethodDecorator {
  if (typeof name !== 'string' || name === '') {
    throw new SecretsConfigError(
      '@OnSecretRotation',
      "expected the declared name of a secret, e.g. @OnSecretRotation('db').",
    );
  }
  return (target: object, key: string | symbol, descriptor: PropertyDescriptor): void => {
    if (typeof target === 'function' || typeof descriptor.value !== 'function') {
      throw new SecretsConfigError(
        `@OnSecretRotation('${name}')`,
        `must decorate an instance method; ${String(key)} is ${typeof target === 'function' ? 'static' : 'not a method'}.`,
      );
    }
    addSecretUsage(target.constructor, { kind: 'rotation', method: key, name });
  };
}
