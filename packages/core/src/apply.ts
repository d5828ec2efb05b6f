import { SecretFetchError, SecretsError, errorCodeName, errorCodeOf } from './errors';
import type { RotationInfo, SecretsEvent } from './events';
import type { LoggerLike } from './logger';
import { parseSecret } from './parse';
import type { Entry, FetchOptions, Slot } from './refresh-state';
import type { RawSecret } from './sources/source';
import { isKnownCode } from './known-codes';
import type { ResolvedStoreOptions } from './store-options';
import { MAX_FOREIGN_TEXT } from './redaction';
import { describeError, type ValueIndex } from './value-index';

/*
 * The apply phase of a fetch round: parse a fetched version for each slot, then take it (or the
 * failure) into the entry and its slots, then run rotation listeners. The engine runs each step
 * for the whole round before the next, so no reader sees half of one refresh.
 */

/** @internal What the apply phase needs from the engine. */
export interface ApplyContext {
  readonly config: Pick<ResolvedStoreOptions, 'clock' | 'log'>;
  readonly counts: { refreshOk: number; refreshFailed: number; rotations: number };
  emit(event: SecretsEvent): void;
  /** A slot took a new value (the store's generation moves on; cached snapshots are dropped). */
  valueChanged(): void;
  /** Every value the store holds, for checking the text of failures (see `value-index.ts`). */
  readonly values: ValueIndex;
}

/** @internal One slot's parse of a fetched version; undefined when the slot already holds (or rejected) it. */
export type ParseResult = { value: unknown } | { error: SecretsError } | undefined;

/** @internal A slot that took a new version, and what its listeners are told. */
export interface Rotation {
  readonly slot: Slot;
  readonly info: RotationInfo;
}

/**
 * Parses `raw` for one slot, or returns undefined when the slot already holds (or rejected) this
 * version. The fetched value is noted in the store's value index at once, so a failure of another
 * secret reported in the same round that quotes it is withheld.
 */
export async function parseFor(ctx: Pick<ApplyContext, 'values'>, slot: Slot, raw: RawSecret): Promise<ParseResult> {
  if ((slot.loaded && slot.version === raw.versionId) || slot.failedVersion === raw.versionId) return undefined;
  try {
    const value = await parseSecret(slot.decl, raw);
    ctx.values.fetched(slot.entry, value);
    return { value };
  } catch (error) {
    ctx.values.fetched(slot.entry, raw.string ?? raw.binary);
    return {
      error:
        error instanceof SecretsError
          ? error
          : new SecretFetchError(slot.decl.id, 'ParseError', 'parser failed', { retryable: false }),
    };
  }
}

/**
 * A successful fetch of `entry`: every slot takes its parsed value (or, when one slot rejected the
 * version, none does), with the events and counts that go with it. Rotated slots are added to
 * `rotated`, for listeners to run once the whole round is in place.
 */
export function applySuccess(
  ctx: ApplyContext,
  entry: Entry,
  raw: RawSecret,
  parsed: readonly ParseResult[],
  now: number,
  options: FetchOptions,
  rotated: Rotation[],
): void {
  // The fetched values are now in the slots (or were rejected): the index reads them from there.
  ctx.values.settled(entry);
  const recovered = entry.error !== undefined && entry.lastSuccessAt !== undefined;
  // A slot also recovers from its own parse/validation error when a good version lands.
  const hadError = entry.slots.map((slot) => recovered || (slot.loaded && slot.error !== undefined));
  entry.lastSuccessAt = now;
  entry.error = undefined;
  entry.failures = 0;
  // One version per id: names projecting keys of one secret (db + dbPassword) take a version
  // together or not at all, so no reader ever pairs a v2 username with a v1 password.
  const rejection = parsed.find((r): r is { error: SecretsError } => r !== undefined && 'error' in r);
  if (rejection !== undefined) {
    rejectVersion(ctx, entry, raw, parsed, rejection.error, options);
    return;
  }
  entry.region = raw.region;
  entry.versionId = raw.versionId;
  entry.slots.forEach((slot, i) => {
    const result = parsed[i];
    if (result === undefined || 'error' in result) {
      if (slot.version === raw.versionId) {
        slot.goodAt = now;
        slot.error = undefined;
        slot.staleNotified = false;
      }
      return;
    }
    const previousVersion = slot.version;
    const wasLoaded = slot.loaded;
    if (wasLoaded) slot.previousValue = slot.value;
    slot.value = result.value;
    slot.version = raw.versionId;
    slot.loaded = true;
    slot.updatedAt = ctx.config.clock.wallNow();
    slot.goodAt = now;
    slot.error = undefined;
    slot.failedVersion = undefined;
    slot.staleNotified = false;
    ctx.valueChanged();
    if (wasLoaded) {
      ctx.counts.rotations++;
      ctx.emit({ type: 'rotated', name: slot.name, version: raw.versionId, previousVersion });
      rotated.push({ slot, info: { name: slot.name, version: raw.versionId, previousVersion } });
    }
  });
  // stats().refreshes counts per fetched id: ok when the fetch succeeded and every slot took the value.
  if (options.reason === 'refresh') {
    // The source still answers a version rejected before: still a failed refresh.
    if (entry.slots.some((slot) => slot.failedVersion === raw.versionId)) {
      ctx.counts.refreshFailed++;
    } else {
      ctx.counts.refreshOk++;
      for (const slot of entry.slots) ctx.emit({ type: 'refreshed', name: slot.name, version: raw.versionId });
    }
  }
  entry.slots.forEach((slot, i) => {
    if (hadError[i] && !slot.error) ctx.emit({ type: 'recovered', name: slot.name, version: raw.versionId });
  });
}

/**
 * A version that one slot of the id rejected: no slot takes it (each keeps its value), every
 * slot reports the rejection (its own error, or the sibling's that rejected it), and the version
 * is remembered so it is not parsed again on every refresh.
 */
function rejectVersion(
  ctx: ApplyContext,
  entry: Entry,
  raw: RawSecret,
  parsed: readonly ParseResult[],
  rejection: SecretsError,
  options: FetchOptions,
): void {
  entry.slots.forEach((slot, i) => {
    const own = parsed[i];
    const error = own !== undefined && 'error' in own ? own.error : rejection;
    slot.error = error;
    slot.failedVersion = raw.versionId;
    ctx.emit({
      type: 'refresh-failed',
      name: slot.name,
      code: errorCodeOf(error),
      message: error.message,
      failures: 1,
    });
  });
  if (options.reason === 'refresh') ctx.counts.refreshFailed++;
}

/** A failed fetch of `entry`: every slot keeps its value and reports the failure (with any quoted value withheld). */
export function applyFailure(ctx: ApplyContext, entry: Entry, failure: SecretFetchError, options: FetchOptions): void {
  const error = withoutValues(ctx.values, failure);
  entry.error = error;
  entry.failures++;
  if (options.reason === 'refresh') ctx.counts.refreshFailed++;
  for (const slot of entry.slots) {
    ctx.emit({
      type: 'refresh-failed',
      name: slot.name,
      code: error.awsCode,
      message: error.message,
      failures: entry.failures,
    });
  }
}

/** Runs the slot's rotation listeners; one that throws or rejects is logged and the rest still run. */
export function notify(log: LoggerLike, slot: Slot, info: RotationInfo): void {
  const listeners = slot.listeners;
  if (listeners === undefined) return;
  for (const listener of listeners) {
    try {
      const result = listener(slot.value, info);
      if (result && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).catch((error: unknown) => listenerFailed(log, slot, error));
      }
    } catch (error) {
      listenerFailed(log, slot, error);
    }
  }
}

function listenerFailed(log: LoggerLike, slot: Slot, error: unknown): void {
  // A listener was handed the value and tends to put it in its message: name and code only.
  log.error(`A rotation listener for secret "${slot.name}" threw; other listeners and the refresh loop continue.`, {
    secret: slot.name,
    error: describeError(error, [slot.value, slot.previousValue]),
  });
}

/**
 * The source's error, or — when its code is not an identifier, or its code or text (an AWS or
 * agent message, a proxy's body) carries a fragment of any value of any secret of any store in
 * the process (current, previous or just fetched) — the same error with that code replaced by
 * `UnknownError` and that text withheld.
 */
function withoutValues(values: ValueIndex, error: SecretFetchError): SecretFetchError {
  const code = foreignCode(values, error.awsCode);
  // The message is Hush's prefix (the id and the code) and the source's text.
  const prefix = `Fetching secret id "${error.secretId}" failed: ${error.awsCode}: `;
  const text = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  // A long text (a proxy's HTML page) is withheld unread: checking 64 KiB against every encoding
  // costs up to a second or two of blocking CPU per failure, and no source's own message is that long.
  const tooLong = text.length > MAX_FOREIGN_TEXT;
  const textLeaks = !tooLong && values.in(text);
  if (!tooLong && !textLeaks && code === error.awsCode) return error;
  return new SecretFetchError(
    error.secretId,
    code,
    tooLong
      ? `the source answered with ${text.length} characters of text; it is withheld unread (over ${MAX_FOREIGN_TEXT}; the code is kept)`
      : textLeaks
        ? 'the source answered with text that shares 6 or more characters with a value or key held in this process; it is withheld (the code is kept)'
        : text,
    { retryable: error.retryable, throttled: error.throttled },
  );
}

/**
 * A code from foreign text as logs, health and metrics may show it: an identifier (else
 * `UnknownError`) that carries no fragment of any value (else `UnknownError`), known codes kept.
 */
export function foreignCode(values: ValueIndex, code: unknown): string {
  const name = errorCodeName(code);
  return !isKnownCode(name) && values.in(name) ? 'UnknownError' : name;
}
