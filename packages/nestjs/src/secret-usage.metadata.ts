import 'reflect-metadata';

/** Where a class uses a secret: a constructor parameter, a property or a rotation hook. */
export type SecretUsage =
  | { readonly kind: 'parameter'; readonly index: number; readonly name: string }
  | { readonly kind: 'property'; readonly property: string | symbol; readonly name: string }
  | { readonly kind: 'rotation'; readonly method: string | symbol; readonly name: string };

const USAGES = Symbol.for('hush:nestjs:secret-usages');

/** Records a usage on a class; subclasses inherit the parent's usages and add their own. */
export function addSecretUsage(target: object, usage: SecretUsage): void {
  const inherited = (Reflect.getMetadata(USAGES, target) as SecretUsage[] | undefined) ?? [];
  Reflect.defineMetadata(USAGES, [...inherited, usage], target);
}

/** Usages recorded on a class (and its parents). */
export function getSecretUsages(target: unknown): readonly SecretUsage[] {
  if (typeof target !== 'function') return [];
  return (Reflect.getMetadata(USAGES, target) as SecretUsage[] | undefined) ?? [];
}

/** A usage in words, for error messages: `constructor parameter #1`, `property apiKey`, `method reconnect()`. */
export function describeUsage(usage: SecretUsage): string {
  switch (usage.kind) {
    case 'parameter':
      return `constructor parameter #${usage.index}`;
    case 'property':
      return `property ${String(usage.property)}`;
    case 'rotation':
      return `@OnSecretRotation method ${String(usage.method)}()`;
  }
}
