import type { INestApplicationContext, InjectionToken } from '@nestjs/common';
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
  const store = app.get(SecretStore, { strict: false });
  const source = getTestingSource(app);
  const id = idOf(app, name, store);
  const versionId = source.set(id, value);
  await store.refresh(name);
  await tryGet<SecretsExplorer>(app, SecretsExplorer)?.settled();
  return versionId;
}

function idOf(app: INestApplicationContext, name: string, store: SecretStore): string {
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

function tryGet<T>(app: INestApplicationContext, token: InjectionToken): T | undefined {
  try {
    return app.get<T>(token, { strict: false });
  } catch {
    return undefined;
  }
}
