import type { INestApplicationContext, InjectionToken } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { MemorySource, SecretStore, SecretsConfigError, type MemoryValue, type SecretDeclarations } from '@hush/core';
import { normalizeDeclarations } from '@hush/core/internal';
import { SECRETS_MODULE_OPTIONS, SECRETS_STATIC_DECLARATIONS, SECRETS_TESTING_SOURCE } from './secrets.constants';
import { SecretsExplorer } from './secrets.explorer';
import type { StaticDeclarations } from './secrets.providers';

/**
 * The memory source behind the app's SecretsModule: the one `forTesting()` created, or a
 * `memorySource()` you passed to `forRoot()`. Use it to inject failures (`fail`, `recover`).
 *
 * @example
 * getTestingSource(app).fail('*', 'ThrottlingException');
 */
export function getTestingSource(app: INestApplicationContext): MemorySource {
  return testingSourceOf(moduleRefOf(app));
}

function testingSourceOf(app: ModuleRef): MemorySource {
  const fromTesting = tryGet<MemorySource>(app, SECRETS_TESTING_SOURCE);
  if (fromTesting instanceof MemorySource) return fromTesting;
  const source = tryGet<{ source?: unknown }>(app, SECRETS_MODULE_OPTIONS)?.source;
  if (source instanceof MemorySource) return source;
  throw new SecretsConfigError(
    'SecretsModule.source',
    'this app does not read secrets from memory. Use SecretsModule.forTesting({...}) or forRoot({ source: memorySource({...}) }) in tests.',
  );
}

/**
 * Stores a new version of a secret in the memory source and refreshes it, so `@InjectSecret`
 * consumers see the new value and `@OnSecretRotation` hooks run (awaited) before this resolves.
 *
 * @example
 * await rotateSecret(app, 'db', { username: 'u', password: 'p2' });
 * expect(app.get(DbService).reconnects).toBe(1);
 */
export async function rotateSecret(app: INestApplicationContext, name: string, value: MemoryValue): Promise<string> {
  const ref = moduleRefOf(app);
  const store = tryGet<SecretStore>(ref, SecretStore);
  if (!store) {
    throw new SecretsConfigError('rotateSecret', 'this app has no SecretsModule (import SecretsModule.forTesting()).');
  }
  const source = testingSourceOf(ref);
  const id = idOf(ref, name, store);
  const versionId = source.set(id, value);
  // A refresh deferred by minRefreshInterval keeps the process alive by itself (the store refs
  // every timer a caller awaits), so this works in a script that never calls listen().
  await store.refresh(name);
  await tryGet<SecretsExplorer>(ref, SecretsExplorer)?.settled();
  return versionId;
}

/**
 * Every lookup below goes through a `ModuleRef`, never `app.get()`: an app made by
 * `NestFactory.create()` is a proxy that runs each of its methods in Nest's exception zone, where a
 * missing token is logged with a stack trace and, with the default `abortOnError`, exits the
 * process. `ModuleRef.get()` just throws, and `tryGet` turns that into `undefined`.
 */
function moduleRefOf(app: INestApplicationContext): ModuleRef {
  // Every module provides its ModuleRef, so this lookup cannot miss.
  return app.get(ModuleRef, { strict: false });
}

function idOf(app: ModuleRef, name: string, store: SecretStore): string {
  if (!store.has(name)) store.handle(name); // throws SecretNotFoundError listing declared names
  if (tryGet(app, SECRETS_TESTING_SOURCE)) return name;
  const secrets =
    tryGet<{ secrets?: SecretDeclarations }>(app, SECRETS_MODULE_OPTIONS)?.secrets ??
    tryGet<StaticDeclarations>(app, SECRETS_STATIC_DECLARATIONS)?.secrets;
  const decl = secrets ? normalizeDeclarations(secrets).find((d) => d.name === name) : undefined;
  if (!decl)
    throw new SecretsConfigError('rotateSecret', `cannot find the declaration of "${name}" in the module options.`);
  return decl.id;
}

function tryGet<T>(app: ModuleRef, token: InjectionToken): T | undefined {
  try {
    return app.get<T>(token, { strict: false });
  } catch {
    return undefined;
  }
}
