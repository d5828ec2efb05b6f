/**
 * Augment this interface to type secret names (and values) across your app:
 * `@InjectSecret('nope')` then fails to compile as well as at bootstrap.
 *
 * @example
 * declare module '@hush/nestjs' {
 *   interface SecretsRegistry extends InferSecrets<typeof secrets> {}
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty on purpose: applications augment it (declaration merging)
export interface SecretsRegistry {}

/** A secret name: any string, or the keys of {@link SecretsRegistry} once you augment it. */
export type SecretKey = keyof SecretsRegistry extends never ? string : Extract<keyof SecretsRegistry, string>;
