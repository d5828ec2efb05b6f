import { SecretNotFoundError, SecretsConfigError } from '@hush/core';

/** Thrown when a route reads a declared secret that its `hush.middleware({ only })` hides. */
export class SecretNotVisibleError extends SecretNotFoundError {
  constructor(name: string, visible: readonly string[]) {
    super(name, visible, 'req.secrets');
    this.message =
      `req.secrets: secret "${name}" is declared but hidden from this route: it was mounted with ` +
      `hush.middleware({ only: [${visible.map((n) => `'${n}'`).join(', ')}] }). ` +
      `Add '${name}' to \`only\` to read it here.`;
  }
}

/** Thrown on any write to `req.secrets` or to one of its values. */
export function readOnlyError(): TypeError {
  return new TypeError('req.secrets is read-only: values change only through the store (await hush.refresh()).');
}

/** `app.use(hush.middleware)` (the factory itself, not the handler it returns). */
export function factoryMisuseError(method: string): SecretsConfigError {
  return new SecretsConfigError(
    method,
    `hush.${method} is a factory: use app.use(hush.${method}()) — call it once, at startup, and pass the handler it returns.`,
  );
}
