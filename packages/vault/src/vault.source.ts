import { createHash, createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  SecretFetchError,
  SecretsConfigError,
  type DescribeOutcome,
  type FetchContext,
  type FetchOutcome,
  type RawSecret,
  type SecretRequest,
  type Source,
  type SourceStats,
} from '@hush/core';
import { checkKnownKeys, mapConcurrent, SourceCounters } from '@hush/core/internal';
import { TokenKeeper, type VaultAuth } from './auth';
import { forId, networkError, outcomeOf, vaultError, VaultErrorCodes, type VaultAnswer } from './errors';
import { VaultHttp, type VaultCall, type VaultTlsOptions } from './http';

/** Options of {@link hashicorpVault}. */
export interface HashicorpVaultOptions {
  /** Vault's address, e.g. `https://vault.internal:8200`. @default process.env.VAULT_ADDR */
  readonly address?: string;
  /** Vault Enterprise / HCP namespace, sent as `X-Vault-Namespace`. @default process.env.VAULT_NAMESPACE */
  readonly namespace?: string;
  /** TLS settings for an `https://` address. */
  readonly tls?: VaultTlsOptions;
  /** How to get a token. @default { token: process.env.VAULT_TOKEN } */
  readonly auth?: VaultAuth;
  /**
   * Vault has no batch read: a round reads its ids in parallel, at most this many at a time.
   * @default 8
   */
  readonly concurrency?: number;
  /** Revoke every lease this source holds (`PUT /v1/sys/leases/revoke`) on `close()`. @default false */
  readonly revokeOnClose?: boolean;
}

const OPTION_KEYS = ['address', 'namespace', 'tls', 'auth', 'concurrency', 'revokeOnClose'] as const;

/** A lease this source holds for an id (its value is the one it was issued with). */
interface HeldLease {
  readonly leaseId: string;
  readonly versionId: string;
  readonly value: string;
  /** The lease's TTL when issued (ms): what a renewal asks for. */
  readonly requested: number;
  /** Wall-clock end (ms), moved by each renewal. */
  expiresAt: number;
  renewable: boolean;
  readonly createdAt: Date;
  /** The generation of the token that issued it: Vault revokes the lease when that token ends. */
  readonly generation: number;
}

/** A renewal granting at least this much less than asked means the lease's max_ttl is near. */
const GRANT_TOLERANCE_MS = 1_000;

/**
 * The signal of a renewal: the round's, and at most half the time the lease has left (at least
 * 250 ms). A renewal Vault never answers would otherwise hold the round for `fetchTimeout` (30 s by
 * default) while a short lease runs out; cut off, it counts as failed and new credentials are
 * issued in the time that is left.
 */
function renewalSignal(round: AbortSignal, leaseEnd: number): AbortSignal {
  const wait = Math.max(MIN_RENEWAL_WAIT_MS, Math.ceil((leaseEnd - Date.now()) / 2));
  // AbortSignal.timeout takes a whole number of ms up to 2^31-1; a longer wait is fetchTimeout's anyway.
  return wait < 2 ** 31 ? AbortSignal.any([round, AbortSignal.timeout(wait)]) : round;
}

/** The least time a renewal is given (see {@link renewalSignal}). */
const MIN_RENEWAL_WAIT_MS = 250;

/** How long `close()` waits for revocations. */
const REVOKE_TIMEOUT_MS = 2_000;

/**
 * HashiCorp Vault as a Hush source. A declaration's `id` is the API path after `/v1/`:
 * - KV v2: `secret/data/app/db` (`versionId` pins `?version=N`): the value is `data.data` as
 *   JSON, the version id `data.metadata.version`; a deleted or destroyed version is an error;
 * - a lease: `database/creds/app` (any path answering with a `lease_id`): the value is `data` as
 *   JSON, with `expiresAt` at the lease's end. The store fetches it again at about two-thirds of
 *   the lease; that fetch renews the lease (`PUT /v1/sys/leases/renew`, same value), or issues new
 *   credentials (a new version) when the renewal fails, the lease is not renewable, or Vault
 *   grants less than asked (its `max_ttl` is near). A forced fetch (`store.refresh()`, a pool's
 *   refused login) issues new credentials;
 * - anything else answering `data` (`database/static-creds/app`, KV v1, `aws/creds/...`): the
 *   value is `data` as JSON; static roles' `ttl` is left out of it, their version is
 *   `last_vault_rotation`, and `describe()` reports the next rotation for `rotationSchedule`.
 */
export class HashicorpVaultSource implements Source {
  readonly kind = 'hashicorp-vault';
  readonly location: string;
  readonly #http: VaultHttp;
  readonly #keeper: TokenKeeper;
  private readonly counters = new SourceCounters();
  private readonly concurrency: number;
  private readonly revokeOnClose: boolean;
  readonly #leases = new Map<string, HeldLease>();
  /** Leases replaced by newer ones, still running (revoked on close with `revokeOnClose`). */
  readonly #superseded: HeldLease[] = [];
  private closed = false;

  constructor(options: HashicorpVaultOptions = {}) {
    checkKnownKeys(options as Record<string, unknown>, OPTION_KEYS, 'hashicorpVault');
    const address = options.address ?? process.env['VAULT_ADDR'];
    if (!address) throw new SecretsConfigError('hashicorpVault.address', 'no Vault address (set it or VAULT_ADDR)');
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new SecretsConfigError('hashicorpVault.address', 'is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new SecretsConfigError('hashicorpVault.address', 'must be an http:// or https:// URL');
    }
    if (url.username || url.password) {
      throw new SecretsConfigError('hashicorpVault.address', 'must not carry credentials (use auth)');
    }
    const concurrency = options.concurrency ?? 8;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new SecretsConfigError('hashicorpVault.concurrency', 'must be a positive integer');
    }
    const auth = options.auth ?? {};
    if ('appRole' in auth && (!auth.appRole?.roleId || !auth.appRole.secretId)) {
      throw new SecretsConfigError('hashicorpVault.auth.appRole', 'needs roleId and secretId');
    }
    if ('kubernetes' in auth && !auth.kubernetes?.role) {
      throw new SecretsConfigError('hashicorpVault.auth.kubernetes', 'needs role');
    }
    if ('aws' in auth && !auth.aws?.role) throw new SecretsConfigError('hashicorpVault.auth.aws', 'needs role');
    this.concurrency = concurrency;
    this.revokeOnClose = options.revokeOnClose ?? false;
    this.#http = new VaultHttp(address, options.namespace ?? process.env['VAULT_NAMESPACE'], options.tls ?? {});
    this.location = this.#http.location;
    this.#keeper = new TokenKeeper(this.#http, auth, this.counters);
  }

  async fetch(requests: readonly SecretRequest[], context: FetchContext): Promise<readonly FetchOutcome[]> {
    if (context.logger) this.#keeper.logger = context.logger;
    return mapConcurrent(requests, this.concurrency, async (request): Promise<FetchOutcome> => {
      try {
        return { ok: true, secret: await this.fetchOne(request, context) };
      } catch (error) {
        const e =
          error instanceof SecretFetchError
            ? forId(request.id, error)
            : networkError(request.id, 'read', error, context.signal.aborted);
        return { ok: false, error: e };
      }
    });
  }

  private async fetchOne(request: SecretRequest, context: FetchContext): Promise<RawSecret> {
    if (request.versionStage !== undefined) {
      throw new SecretFetchError(
        request.id,
        VaultErrorCodes.BAD_REQUEST,
        'versionStage is a Secrets Manager label; Vault KV v2 pins a version with versionId',
        { retryable: false },
      );
    }
    const held = this.#leases.get(request.id);
    if (held && !context.force) {
      if (held.renewable && held.generation === this.#keeper.generation) {
        const renewed = await this.renew(request.id, held, renewalSignal(context.signal, this.endOf(held)));
        if (renewed === 'renewed') return this.leaseRaw(held);
        if (renewed === 'failed') return this.read(request, context.signal);
      }
      // Near max_ttl, not renewable, or issued by a token since replaced (Vault revokes the lease
      // when that token ends): new credentials ahead of expiry, the held lease serving if that fails.
      try {
        return await this.read(request, context.signal);
      } catch (error) {
        if (this.endOf(held) > Date.now()) return this.leaseRaw(held);
        throw error;
      }
    }
    return this.read(request, context.signal);
  }

  /** `PUT /v1/sys/leases/renew` asking for the lease's original TTL. */
  private async renew(id: string, held: HeldLease, signal: AbortSignal): Promise<'renewed' | 'near-max' | 'failed'> {
    let answer: VaultAnswer;
    try {
      answer = await this.call('renew', id, {
        method: 'PUT',
        path: 'sys/leases/renew',
        body: { lease_id: held.leaseId, increment: Math.round(held.requested / 1000) },
        signal,
      });
    } catch {
      return 'failed';
    }
    const body = answer.body as { lease_duration?: unknown; renewable?: unknown } | undefined;
    if (answer.status !== 200 || typeof body?.lease_duration !== 'number' || body.lease_duration <= 0) return 'failed';
    const granted = body.lease_duration * 1000;
    held.expiresAt = Date.now() + granted;
    held.renewable = body.renewable !== false;
    return granted + GRANT_TOLERANCE_MS < held.requested ? 'near-max' : 'renewed';
  }

  /** `GET /v1/<id>[?version=N]`, interpreted by what Vault answered. */
  private async read(request: SecretRequest, signal: AbortSignal): Promise<RawSecret> {
    const id = request.id;
    const path = request.versionId === undefined ? id : `${id}?version=${encodeURIComponent(request.versionId)}`;
    const answer = await this.call('read', id, { method: 'GET', path, signal });
    const body = answer.body as
      { lease_id?: unknown; lease_duration?: unknown; renewable?: unknown; data?: unknown } | undefined;
    const data = body?.data as Record<string, unknown> | null | undefined;
    const metadata = kvMetadata(data);
    if (answer.status === 404 && metadata) throw kvGone(id, metadata);
    if (answer.status !== 200) throw vaultError(id, 'read', answer);
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new SecretFetchError(id, VaultErrorCodes.INVALID_RESPONSE, 'read: the answer has no data object', {
        retryable: true,
      });
    }
    if (typeof body?.lease_id === 'string' && body.lease_id !== '' && typeof body.lease_duration === 'number') {
      return this.lease(id, body.lease_id, body.lease_duration, body.renewable === true, data, answer.generation);
    }
    if (metadata) {
      if (metadata.deletion_time || metadata.destroyed === true || data['data'] === null) throw kvGone(id, metadata);
      const value = data['data'];
      if (value === undefined || typeof value !== 'object' || Array.isArray(value)) {
        throw new SecretFetchError(id, VaultErrorCodes.INVALID_RESPONSE, 'read: KV v2 data.data is not an object', {
          retryable: true,
        });
      }
      return {
        versionId: String(metadata.version),
        string: JSON.stringify(value),
        createdDate: dateOf(metadata.created_time),
      };
    }
    return staticRaw(data);
  }

  /** A new lease for `id`: held (the previous one, if any, runs out on its own) and returned. */
  private lease(
    id: string,
    leaseId: string,
    duration: number,
    renewable: boolean,
    data: object,
    generation: number,
  ): RawSecret {
    const now = Date.now();
    const held: HeldLease = {
      leaseId,
      versionId: leaseId.slice(leaseId.lastIndexOf('/') + 1) || leaseId,
      value: JSON.stringify(data),
      requested: Math.max(0, duration) * 1000,
      expiresAt: now + Math.max(0, duration) * 1000,
      renewable,
      createdAt: new Date(now),
      generation,
    };
    const previous = this.#leases.get(id);
    if (previous) this.#superseded.push(previous);
    this.#leases.set(id, held);
    for (let i = this.#superseded.length - 1; i >= 0; i--)
      if (this.#superseded[i]!.expiresAt <= now) this.#superseded.splice(i, 1);
    return this.leaseRaw(held);
  }

  /** When a held lease stops working: its own end, or the end of the token that issued it if sooner. */
  private endOf(held: HeldLease): number {
    return Math.min(held.expiresAt, this.#keeper.endOf(held.generation));
  }

  private leaseRaw(held: HeldLease): RawSecret {
    return {
      versionId: held.versionId,
      string: held.value,
      createdDate: held.createdAt,
      expiresAt: new Date(this.endOf(held)),
    };
  }

  /**
   * For `rotationSchedule`: a static role's next rotation (`ttl` from now) and its current version
   * (`last_vault_rotation`); anything else reports no rotation.
   */
  async describe(ids: readonly string[], context: FetchContext): Promise<readonly DescribeOutcome[]> {
    return mapConcurrent(ids, this.concurrency, async (id): Promise<DescribeOutcome> => {
      try {
        const answer = await this.call('describe', id, { method: 'GET', path: id, signal: context.signal });
        if (answer.status !== 200) return { ok: false, error: vaultError(id, 'describe', answer) };
        const data = (answer.body as { data?: Record<string, unknown> } | undefined)?.data;
        const ttl = data?.['ttl'];
        const rotated = data?.['last_vault_rotation'];
        if (typeof ttl !== 'number' || typeof rotated !== 'string')
          return { ok: true, description: { rotationEnabled: false } };
        return {
          ok: true,
          description: {
            rotationEnabled: true,
            nextRotationDate: new Date(Date.now() + ttl * 1000),
            lastRotatedDate: dateOf(rotated),
            currentVersionId: staticVersion(rotated),
          },
        };
      } catch (error) {
        const e =
          error instanceof SecretFetchError
            ? forId(id, error)
            : networkError(id, 'describe', error, context.signal.aborted);
        return { ok: false, error: e };
      }
    });
  }

  /**
   * One call with the source's token, counted. A 403 with a login method logs in again and retries
   * once (the token expired or was revoked).
   */
  private async call(
    operation: string,
    id: string,
    call: Omit<VaultCall, 'token'>,
  ): Promise<VaultAnswer & { readonly generation: number }> {
    let held = await this.#keeper.token(call.signal);
    let answer = await this.send(operation, id, { ...call, token: held.token });
    if (answer.status === 403 && this.#keeper.canLogin) {
      this.#keeper.refused(held.generation);
      held = await this.#keeper.token(call.signal);
      answer = await this.send(operation, id, { ...call, token: held.token });
    }
    return { ...answer, generation: held.generation };
  }

  private async send(operation: string, id: string, call: VaultCall): Promise<VaultAnswer> {
    try {
      const answer = await this.#http.request(call);
      this.counters.record(operation, 1, outcomeOf(answer));
      return answer;
    } catch (error) {
      this.counters.record(operation, 1, call.signal?.aborted ? 'TimeoutError' : 'NetworkError');
      throw networkError(id, operation, error, call.signal?.aborted === true);
    }
  }

  /** What `util.inspect` and `console.log` show: the kind and address (never a token or a value). */
  [inspect.custom](): string {
    return `HashicorpVaultSource { kind: '${this.kind}', location: '${this.location}' }`;
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, location: this.location };
  }

  stats(): SourceStats {
    return this.counters.snapshot();
  }

  /** The lease `id` is held with now: its end and whether it renews (never its value). */
  leaseOf(id: string): { readonly leaseId: string; readonly expiresAt: Date; readonly renewable: boolean } | undefined {
    const held = this.#leases.get(id);
    return held && { leaseId: held.leaseId, expiresAt: new Date(this.endOf(held)), renewable: held.renewable };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.revokeOnClose) {
        const now = Date.now();
        const live = [...this.#leases.values(), ...this.#superseded].filter((l) => this.endOf(l) > now);
        const signal = AbortSignal.timeout(REVOKE_TIMEOUT_MS);
        await Promise.allSettled(
          live.map((l) =>
            this.call('revoke', l.leaseId, {
              method: 'PUT',
              path: 'sys/leases/revoke',
              body: { lease_id: l.leaseId },
              signal,
            }),
          ),
        );
      }
    } finally {
      this.#leases.clear();
      this.#superseded.length = 0;
      this.#keeper.close();
      this.#http.close();
    }
  }
}

/** Creates a {@link HashicorpVaultSource}. */
export function hashicorpVault(options: HashicorpVaultOptions = {}): HashicorpVaultSource {
  return new HashicorpVaultSource(options);
}

interface KvMetadata {
  readonly version?: unknown;
  readonly created_time?: unknown;
  readonly deletion_time?: unknown;
  readonly destroyed?: unknown;
}

/** KV v2's `data.metadata`, when the answer has KV v2's shape (`data.data` and `data.metadata.version`). */
function kvMetadata(data: unknown): KvMetadata | undefined {
  if (data === null || typeof data !== 'object' || !('data' in data) || !('metadata' in data)) return undefined;
  const metadata = (data as { metadata?: unknown }).metadata;
  if (metadata === null || typeof metadata !== 'object') return undefined;
  const version = (metadata as KvMetadata).version;
  return typeof version === 'number' || typeof version === 'string' ? (metadata as KvMetadata) : undefined;
}

/** A deleted or destroyed KV v2 version: a typed error, never a value. */
function kvGone(id: string, metadata: KvMetadata): SecretFetchError {
  const version = typeof metadata.version === 'number' ? metadata.version : '?';
  if (metadata.destroyed === true) {
    return new SecretFetchError(id, VaultErrorCodes.SECRET_DESTROYED, `KV v2 version ${version} is destroyed`, {
      retryable: false,
    });
  }
  return new SecretFetchError(id, VaultErrorCodes.SECRET_DELETED, `KV v2 version ${version} is deleted`, {
    retryable: false,
  });
}

/**
 * A value without a lease or KV v2 metadata. A static role's `ttl` (seconds to its next rotation)
 * changes at every read: it is left out of the value, and `last_vault_rotation` makes the version.
 * Otherwise the version is a keyed digest of the value (as for mounted files: the same value, the
 * same version, and nothing to brute-force).
 */
function staticRaw(data: Record<string, unknown>): RawSecret {
  const rotated = data['last_vault_rotation'];
  if (typeof rotated === 'string' && rotated !== '') {
    const { ttl: _ttl, ...value } = data;
    return { versionId: staticVersion(rotated), string: JSON.stringify(value), createdDate: dateOf(rotated) };
  }
  const string = JSON.stringify(data);
  return { versionId: createHmac('sha256', VERSION_KEY).update(string).digest('hex').slice(0, 32), string };
}

/**
 * The per-process key of digest version ids. A plain hash of the value would let anyone who sees
 * a version (health shows 8 hex characters) brute-force a PIN or a dictionary password offline;
 * keyed, the id says only "same value or not" within this process (as the mounted-files source).
 */
const VERSION_KEY = randomBytes(32);

function dateOf(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const d = new Date(value);
  return Number.isFinite(d.getTime()) ? d : undefined;
}

/** A static role's version: a digest of `last_vault_rotation` (health shows 8 characters, unique per rotation). */
function staticVersion(rotated: string): string {
  return createHash('sha256').update(rotated).digest('hex').slice(0, 16);
}
