/** Injection token of the resolved `SecretsModule` options (the ConfigurableModuleBuilder options token). */
export const SECRETS_MODULE_OPTIONS = 'SECRETS:MODULE_OPTIONS';

/** Injection token of the memory source behind `SecretsModule.forTesting()`. */
export const SECRETS_TESTING_SOURCE = 'SECRETS:TESTING_SOURCE';

/** @internal Static declarations given to `forRootAsync({ secrets })`, if any. */
export const SECRETS_STATIC_DECLARATIONS = 'SECRETS:STATIC_DECLARATIONS';

/** @internal The logger the module resolved from its options. */
export const SECRETS_LOGGER = 'SECRETS:LOGGER';

/** Logger context of every line this package writes. */
export const LOGGER_CONTEXT = 'Secrets';
