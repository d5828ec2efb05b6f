import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { ConfigurableModuleAsyncOptions } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import {
  SecretStore,
  memorySource,
  type MemoryValue,
  type SecretDeclarationObject,
  type SecretDeclarations,
} from '@hush/core';
import { SECRETS_MODULE_OPTIONS, SECRETS_TESTING_SOURCE } from './secrets.constants';
import {
  ConfigurableModuleClass,
  type SecretsModuleExtras,
  type SecretsModuleFactoryOptions,
  type SecretsModuleOptions,
} from './secrets.module-definition';
import { coreProviders } from './secrets.providers';
import { injectedSecretNames, secretTokenProviders } from './inject-secret.decorator';
import { SecretsExplorer } from './secrets.explorer';
import { SecretsService } from './secrets.service';
import { SecretsHealthIndicator } from './secrets.health';

/** Options of `SecretsModule.forRoot()`, including `isGlobal`. */
export type SecretsModuleRootOptions<D extends SecretDeclarations = SecretDeclarations> = SecretsModuleOptions<D> &
  Partial<SecretsModuleExtras>;

/**
 * Options of `SecretsModule.forRootAsync()`: `useFactory` + `inject`, `useClass` or `useExisting`
 * (a class with `createSecretsOptions()`), `imports`, `isGlobal`, and optionally the declarations
 * themselves (`secrets`) when they are static.
 */
export type SecretsModuleAsyncOptions<D extends SecretDeclarations = SecretDeclarations> =
  ConfigurableModuleAsyncOptions<SecretsModuleFactoryOptions<D>, 'createSecretsOptions'> &
    Partial<SecretsModuleExtras> & {
      /** Declarations known statically; the factory may then omit `secrets`. */
      secrets?: D;
    };

/** Options of `SecretsModule.forTesting()`. */
export interface SecretsTestingOptions
  extends Partial<SecretsModuleExtras>, Pick<SecretsModuleOptions, 'logger' | 'maxStaleness'> {}

/**
 * Loads every declared secret before the app finishes bootstrapping, keeps them fresh in the
 * background, and makes them injectable with `@InjectSecret(name)`.
 *
 * Provides: `SecretStore` (the core store, also for constructor injection), `SecretsService`,
 * `SecretsHealthIndicator` (for a terminus health check),
 * `getSecretToken(name)` for each declared name, and the options under `SECRETS:MODULE_OPTIONS`.
 *
 * @example
 * @Module({
 *   imports: [SecretsModule.forRoot({ secrets, source: awsSecretsManager({ region: 'eu-west-1' }), isGlobal: true })],
 * })
 * export class AppModule {}
 */
@Module({})
export class SecretsModule extends ConfigurableModuleClass {
  /**
   * Declarations and options known up front.
   * @example SecretsModule.forRoot({ secrets, source: awsSecretsManager(), refreshInterval: '5m', isGlobal: true })
   */
  static override forRoot<const D extends SecretDeclarations>(options: SecretsModuleRootOptions<D>): DynamicModule {
    return withSecretProviders(super.forRoot(options), options?.secrets);
  }

  /**
   * Options from other providers (ConfigService…). Declarations may come from the factory or be
   * passed statically next to it. Constructor injection of a name works either way.
   *
   * @example
   * SecretsModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({
   *     secrets,
   *     source: awsSecretsManager({ region: config.getOrThrow('AWS_REGION') }),
   *   }),
   * })
   */
  static override forRootAsync<const D extends SecretDeclarations>(
    options: SecretsModuleAsyncOptions<D>,
  ): DynamicModule {
    const { secrets, ...asyncOptions } = options ?? {};
    return withSecretProviders(super.forRootAsync(asyncOptions), secrets);
  }

  /**
   * A module for your own unit tests: values in memory (objects are JSON secrets, strings are
   * string secrets), no AWS, no background refresh, same injection behaviour as `forRoot`.
   * Global by default. Rotate with `rotateSecret(app, name, value)` from `@hush/nestjs/testing`.
   *
   * @example
   * const moduleRef = await Test.createTestingModule({
   *   imports: [SecretsModule.forTesting({ db: { username: 'u', password: 'p' }, apiKey: 'k' })],
   *   providers: [DbService],
   * }).compile();
   * await moduleRef.init();
   */
  static forTesting<const V extends Record<string, MemoryValue>>(
    values: V,
    options: SecretsTestingOptions = {},
  ): DynamicModule {
    const secrets: Record<string, SecretDeclarationObject> = {};
    const initial: Record<string, MemoryValue> = {};
    for (const [name, value] of Object.entries(values ?? {})) {
      const format = typeof value === 'string' ? 'string' : value instanceof Uint8Array ? 'binary' : 'json';
      secrets[name] = { id: name, format };
      initial[name] = value;
    }
    const source = memorySource(initial);
    const definition = this.forRoot({
      secrets,
      source,
      refreshInterval: false,
      minRefreshInterval: 0,
      ...(options.maxStaleness !== undefined ? { maxStaleness: options.maxStaleness } : {}),
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      isGlobal: options.isGlobal ?? true,
    });
    return {
      ...definition,
      providers: [...(definition.providers ?? []), { provide: SECRETS_TESTING_SOURCE, useValue: source }],
      exports: [...(definition.exports ?? []), SECRETS_TESTING_SOURCE],
    };
  }
}

function withSecretProviders(definition: DynamicModule, staticSecrets: SecretDeclarations | undefined): DynamicModule {
  const declared = staticSecrets && typeof staticSecrets === 'object' ? Object.keys(staticSecrets) : [];
  // Names used by @InjectSecret constructor parameters anywhere: with forRootAsync the declarations are
  // only known once the factory resolves, but the tokens must exist when Nest scans the module.
  const tokens = secretTokenProviders([...declared, ...injectedSecretNames]);
  const providers: Provider[] = [
    ...(definition.providers ?? []),
    ...coreProviders(staticSecrets),
    SecretsService,
    SecretsExplorer,
    // Provided and exported like terminus' own indicators; it needs nothing from terminus.
    SecretsHealthIndicator,
    ...tokens,
  ];
  return {
    ...definition,
    imports: [...(definition.imports ?? []), DiscoveryModule],
    providers,
    exports: [
      SecretStore,
      SecretsService,
      SecretsHealthIndicator,
      SECRETS_MODULE_OPTIONS,
      ...tokens.map((p) => p.provide),
    ],
  };
}
