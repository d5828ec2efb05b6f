import { SecretNotFoundError, SecretNotLoadedError } from '@hush/core';
import { redactedRecord } from '@hush/core/internal';
import { SecretNotVisibleError, readOnlyError } from './errors';

/**
 * Property names that libraries probe on any object they are handed (promises, Jest's
 * pretty-format and matchers, pino, loggers, lodash). Reading them must not throw.
 */
const PROBES = new Set([
  'then',
  'catch',
  'toJSON',
  'toString',
  'toLocaleString',
  'valueOf',
  'constructor',
  'inspect',
  'asymmetricMatch',
  'nodeType',
  'tagName',
  'length',
  'stack',
  'message',
  'toPostgres',
  'prototype',
]);

function isProbe(prop: string): boolean {
  return PROBES.has(prop) || prop.startsWith('@@') || prop.startsWith('$$') || prop.startsWith('__');
}

/** Which names a view shows. */
export interface ViewSpec {
  /** Every declared name, in declaration order. */
  readonly declared: readonly string[];
  /** The names this view exposes (all declared names outside an `only` scope). */
  readonly visible: readonly string[];
  /** Whether `visible` is a restriction (so hidden names get the "hidden" message). */
  readonly restricted: boolean;
  /** Names of optional secrets (an absent optional secret reads as `undefined`). */
  readonly optional: ReadonlySet<string>;
}

const readOnly = (): never => {
  throw readOnlyError();
};

/**
 * The read-only view a request sees: the visible values of one snapshot (generation), printing
 * `[redacted]`, throwing a clear error for a name that is undeclared or hidden. Built once per
 * generation and per scope, then shared by every request of that generation.
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
          'the secrets are not loaded yet; they load in onReady (await app.ready() or app.listen() before serving; readiness answers 503 until then).',
        );
      }
      if (spec.restricted && spec.declared.includes(prop)) throw new SecretNotVisibleError(prop, spec.visible);
      throw new SecretNotFoundError(prop, spec.visible, 'request.secrets');
    },
    readOnly,
  );
}
