import { SecretNotFoundError } from '@hush/core';
import { suggest } from '@hush/core/internal';

/** One place where a class asks for a secret that is not declared. */
export interface SecretInjectionProblem {
  /** The provider or controller class, e.g. `DbService`. */
  readonly provider: string;
  /** `constructor parameter #0`, `property apiKey` or `@OnSecretRotation method reconnect()`. */
  readonly member: string;
  /** The undeclared name. */
  readonly name: string;
}

/**
 * `@InjectSecret(name)` or `@OnSecretRotation(name)` names a secret that `SecretsModule` does not
 * declare. Thrown at bootstrap, before any secret is fetched; lists every offending class and member.
 */
export class UndeclaredSecretError extends SecretNotFoundError {
  readonly problems: readonly SecretInjectionProblem[];

  constructor(problems: readonly SecretInjectionProblem[], declared: readonly string[]) {
    super(problems[0]?.name ?? '', declared);
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
    const lines = problems.map((p) => {
      const hint = suggest(p.name, declared);
      return `  - ${p.provider} (${p.member}) asks for "${p.name}"${hint ? ` — did you mean "${hint}"?` : ''}`;
    });
    this.message =
      `${problems.length === 1 ? 'A provider asks' : `${problems.length} providers ask`} for a secret that is not declared:\n` +
      `${lines.join('\n')}\n` +
      `Declared secrets: ${declared.length ? declared.map((n) => `"${n}"`).join(', ') : '(none)'}. ` +
      'Declare the name in SecretsModule.forRoot({ secrets }) or fix the decorator.';
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems };
  }
}
