import type { FactoryProvider } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { SecretStore, SecretsConfigError, type LoggerLike, type SecretDeclarations } from '@hush/core';
import { checkKnownKeys } from '@hush/core/internal';
import { UndeclaredSecretError, type SecretInjectionProblem } from './errors';
import { MODULE_OPTION_KEYS, type SecretsModuleFactoryOptions } from './secrets.module-definition';
import { SECRETS_LOGGER, SECRETS_MODULE_OPTIONS, SECRETS_STATIC_DECLARATIONS } from './secrets.constants';
import { describeUsage, getSecretUsages } from './secret-usage.metadata';
import { resolveLogger } from './secrets.logger';

/** @internal Value of the {@link SECRETS_STATIC_DECLARATIONS} provider. */
export interface StaticDeclarations {
  readonly secrets: SecretDeclarations | undefined;
}

/**
 * Builds the store, checks every `@InjectSecret`/`@OnSecretRotation` name against the declarations
 * (before any call to the source), then loads every declared secret. Nest awaits this factory
 * before constructing anything that depends on a secret, so a failure rejects bootstrap.
 */
export async function createSecretStore(
  options: SecretsModuleFactoryOptions | undefined,
  statics: StaticDeclarations,
  logger: LoggerLike,
  discovery: DiscoveryService,
): Promise<SecretStore> {
  if (options === null || typeof options !== 'object') {
    throw new SecretsConfigError(
      'SecretsModule',
      `the options are ${options === null ? 'null' : typeof options}. forRoot() takes an object and a forRootAsync() factory must return one, e.g. { secrets, source }.`,
    );
  }
  checkKnownKeys(options, MODULE_OPTION_KEYS, 'SecretsModule');
  const { secrets: fromOptions, logger: _logger, ...storeOptions } = options;
  const secrets = fromOptions ?? statics.secrets;
  if (secrets === undefined) {
    throw new SecretsConfigError(
      'SecretsModule.secrets',
      'no secrets declared. Pass { secrets } to forRoot(), to forRootAsync() next to useFactory, or return it from the factory.',
    );
  }
  const store = new SecretStore(secrets, { ...storeOptions, logger });
  checkUsages(discovery, store.names);
  try {
    await store.load();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** Throws {@link UndeclaredSecretError} listing every decorated member that names an undeclared secret. */
export function checkUsages(discovery: DiscoveryService, declared: readonly string[]): void {
  const known = new Set(declared);
  const problems: SecretInjectionProblem[] = [];
  const seen = new Set<object>();
  for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
    const types = [
      typeof wrapper.metatype === 'function' && !wrapper.inject ? wrapper.metatype : undefined,
      wrapper.instance && typeof wrapper.instance === 'object' ? (wrapper.instance as object).constructor : undefined,
    ];
    for (const type of types) {
      if (typeof type !== 'function' || seen.has(type)) continue;
      seen.add(type);
      for (const usage of getSecretUsages(type)) {
        if (!known.has(usage.name))
          problems.push({ provider: type.name || 'anonymous class', member: describeUsage(usage), name: usage.name });
      }
    }
  }
  if (problems.length > 0) throw new UndeclaredSecretError(problems, declared);
}

/** The providers every SecretsModule definition carries besides its options provider. */
export function coreProviders(staticSecrets: SecretDeclarations | undefined): FactoryProvider[] {
  return [
    { provide: SECRETS_STATIC_DECLARATIONS, useFactory: (): StaticDeclarations => ({ secrets: staticSecrets }) },
    {
      provide: SECRETS_LOGGER,
      useFactory: (options: SecretsModuleFactoryOptions | undefined) => resolveLogger(options?.logger, options?.name),
      inject: [SECRETS_MODULE_OPTIONS],
    },
    {
      provide: SecretStore,
      useFactory: createSecretStore,
      inject: [SECRETS_MODULE_OPTIONS, SECRETS_STATIC_DECLARATIONS, SECRETS_LOGGER, DiscoveryService],
    },
  ];
}
