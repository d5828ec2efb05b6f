import { SecretNotFoundError, SecretNotLoadedError } from '@hush/core';
import { isProbe, type ViewSpec, redactedRecord } from '@hush/core/internal';
import { SecretNotVisibleError, readOnlyError } from './errors';

export type { ViewSpec };

const readOnly = (): never => {
  throw readOnlyError();
};

/**
 * Builds the read-only view a request sees: the visible values of one snapshot, printing
 * `[redacted]`, throwing a clear error for a name that is undeclared or hidden.
 * Built once per generation and per `only` set, then shared by every request of that generation.
 */
export function buildView(snapshot: Readonly<Record<string, unknown>>, spec: ViewSpec): object {
  const values: Record<string, unknown> = {};
  for (const name of spec.visible) {
    if (Object.prototype.hasOwnProperty.call(snapshot, name)) values[name] = snapshot[name];
  }
  return redactedRecord(
    values,
    'Secrets',
    (prop) => {
      if (isProbe(prop)) return undefined;
      if (spec.visible.includes(prop)) {
        if (spec.optional.has(prop)) return undefined;
        throw new SecretNotLoadedError(
          prop,
          'the secrets are not loaded yet; await hush.load() before serving traffic (readiness answers 503 until then).',
        );
      }
      if (spec.restricted && spec.declared.includes(prop)) throw new SecretNotVisibleError(prop, spec.visible);
      throw new SecretNotFoundError(prop, spec.visible, 'req.secrets');
    },
    readOnly,
  );
}
