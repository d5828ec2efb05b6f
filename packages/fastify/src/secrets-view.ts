import { inspect } from 'node:util';
import { REDACTED, SecretNotFoundError, SecretNotLoadedError } from '@hush/core';
import { isProbe, type ViewSpec, hiddenAccessors } from '@hush/core/internal';
import { SecretNotVisibleError, readOnlyError } from './errors';

export type { ViewSpec };

const readOnly = (): never => {
  throw readOnlyError();
};

/**
 * The part of a view shared by every generation of one scope: the redaction hooks, and below them
 * a Proxy that answers every name the generation does not hold (undeclared, hidden by `only`, not
 * loaded yet, an absent optional one, or a probe) and refuses every write.
 */
export function viewBase(spec: ViewSpec): object {
  const onMissing = (prop: string): unknown => {
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
  };
  const misses = new Proxy(
    {},
    {
      get: (target, prop, receiver) =>
        typeof prop === 'string' && !(prop in target) ? onMissing(prop) : Reflect.get(target, prop, receiver),
      set: readOnly,
      defineProperty: readOnly,
      deleteProperty: readOnly,
      setPrototypeOf: readOnly,
    },
  );
  return Object.create(misses, {
    toJSON: { value: () => REDACTED },
    toString: { value: () => REDACTED },
    [Symbol.toPrimitive]: { value: () => REDACTED },
    [inspect.custom]: { value: () => `Secrets ${REDACTED}` },
  }) as object;
}

/**
 * The read-only view a request sees: the visible values of one snapshot (generation). Built once
 * per generation and per scope, then shared by every request of that generation.
 *
 * Not a Proxy (a Proxy's `get` trap costs ~20 ns a read, 2-3× a `Map#get`): the view is a frozen
 * object with no own property, whose prototype chain holds one getter per value (with a setter
 * that throws), hidden below the prototypes `util.inspect` lists or calls even with
 * `showHidden`/`getters` ({@link hiddenAccessors}), then the redaction hooks, then the Proxy for
 * every other name ({@link viewBase}). A read is an inline-cached getter call on a shared object.
 * The price: the view has no own keys, so `Object.keys`, `Object.entries` and `{ ...view }` are
 * empty (read names, or use `app.hush.store.snapshot()` to list).
 */
export function buildView(snapshot: Readonly<Record<string, unknown>>, spec: ViewSpec, base: object): object {
  const accessors: PropertyDescriptorMap = {};
  for (const name of spec.visible) {
    if (!Object.prototype.hasOwnProperty.call(snapshot, name)) continue;
    const value = snapshot[name];
    accessors[name] = { get: () => value, set: readOnly, enumerable: false, configurable: false };
  }
  return Object.freeze(Object.create(hiddenAccessors(base, accessors, 0)) as object);
}
