/**
 * Property names that libraries probe on any object they are handed (promises, Jest's
 * pretty-format and matchers, React, pino and other loggers, Immutable, lodash). A request's
 * secrets view (Express, Fastify) answers them without throwing, so handing the view to such a
 * library never breaks a request.
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

/** @internal Whether `prop` is a name libraries probe (see above), not a secret a caller asked for. */
export function isProbe(prop: string): boolean {
  return PROBES.has(prop) || prop.startsWith('@@') || prop.startsWith('$$') || prop.startsWith('__');
}

/** @internal Which names a request's secrets view shows. */
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
