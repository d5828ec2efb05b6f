import { SecretNotFoundError, SecretsConfigError } from '@hush/core';

/** Thrown when a route reads a declared secret that its scope (`register(hushSecrets, { only })`) hides. */
export class SecretNotVisibleError extends SecretNotFoundError {
  constructor(name: string, visible: readonly string[]) {
    super(name, visible, 'request.secrets');
    this.message =
      `request.secrets: secret "${name}" is declared but hidden from this route: its plugin was registered with ` +
      `app.register(hushSecrets, { only: [${visible.map((n) => `'${n}'`).join(', ')}] }). ` +
      `Add '${name}' to \`only\` to read it here.`;
  }
}

/** Thrown on any write to `request.secrets`, `app.secrets` or one of their values. */
export function readOnlyError(): TypeError {
  return new TypeError(
    'request.secrets is read-only: values change only through the store (await app.hush.refresh()).',
  );
}

/** A second `register(hushSecrets, { secrets | store })` in an app that already has one. */
export function registeredTwiceError(): SecretsConfigError {
  return new SecretsConfigError(
    'hushSecrets',
    'the plugin is already registered in this app (an app has one store). To share the store with a ' +
      "route plugin, register nothing there: app.secrets and request.secrets are visible app-wide. To narrow it, use app.register(hushSecrets, { only: ['name'] }) inside that plugin.",
  );
}
