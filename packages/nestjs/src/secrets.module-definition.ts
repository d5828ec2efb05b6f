import { ConfigurableModuleBuilder, type ConfigurableModuleAsyncOptions, type DynamicModule } from '@nestjs/common';
import type { LoggerLike, SecretDeclarations, SecretStoreOptions } from '@hush/core';
import { SECRET_STORE_OPTION_KEYS, keysOf } from '@hush/core/internal';
import { SECRETS_MODULE_OPTIONS } from './secrets.constants';

/**
 * Options of `SecretsModule.forRoot()`: the declarations plus every `SecretStore` option.
 *
 * @example
 * SecretsModule.forRoot({
 *   secrets,                                   // defineSecrets({...})
 *   source: awsSecretsManager({ region: 'eu-west-1' }),
 *   refreshInterval: '5m',
 *   isGlobal: true,
 * })
 */
export interface SecretsModuleOptions<D extends SecretDeclarations = SecretDeclarations> extends Omit<
  SecretStoreOptions,
  'logger' | 'clock'
> {
  /** What to load: `defineSecrets({ db: { id: 'prod/app/db', format: 'json' }, apiKey: 'prod/app/api-key' })`. */
  secrets: D;
  /**
   * Where lifecycle lines go (never a value). `false` silences them.
   * @default Nest's `Logger` with context `Secrets`
   */
  logger?: LoggerLike | false;
  /** @internal Test clock passed to the store. */
  clock?: SecretStoreOptions['clock'];
}

/**
 * What a `forRootAsync` factory returns. `secrets` may be omitted when it is given statically to
 * `forRootAsync({ secrets, useFactory })`.
 */
export type SecretsModuleFactoryOptions<D extends SecretDeclarations = SecretDeclarations> = Omit<
  SecretsModuleOptions<D>,
  'secrets'
> & {
  secrets?: D;
};

/** Extras shared by `forRoot` and `forRootAsync`. */
export interface SecretsModuleExtras {
  /**
   * Register the module globally, so every module can inject secrets without importing it.
   * @default false
   */
  isGlobal: boolean;
}

/** Known keys of {@link SecretsModuleOptions}, for "did you mean" hints: core's store options plus ours. */
export const MODULE_OPTION_KEYS: readonly string[] = [
  ...keysOf<Omit<SecretsModuleOptions, keyof SecretStoreOptions>>({ secrets: true }),
  ...SECRET_STORE_OPTION_KEYS,
];

const {
  ConfigurableModuleClass: BuiltModuleClass,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SecretsModuleFactoryOptions>({
  moduleName: 'Secrets',
  optionsInjectionToken: SECRETS_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSecretsOptions')
  .setExtras<SecretsModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

export { MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE };

/** The built class, typed with methods so `SecretsModule` can narrow `forRoot`'s options (secrets required). */
interface SecretsConfigurableModule {
  new (): object;
  forRoot(options: SecretsModuleOptions & Partial<SecretsModuleExtras>): DynamicModule;
  forRootAsync(
    options: ConfigurableModuleAsyncOptions<SecretsModuleFactoryOptions, 'createSecretsOptions'> &
      Partial<SecretsModuleExtras>,
  ): DynamicModule;
}

export const ConfigurableModuleClass = BuiltModuleClass as unknown as SecretsConfigurableModule;
