/**
 * The token store, following `openbao/openbao` `internal/vault/token_store.go` (create, lookup-self,
 * renew-self, revoke-self; `handleCreateCommon`, `handleLookup`) and `internal/vault/expiration.go`
 * (`RenewToken`: `CalculateTTL(increment, auth.TTL, period, auth.MaxTTL, explicitMaxTTL, issueTime)`;
 * a revoked or expired token takes its leases and its child tokens with it: `RevokeByToken`).
 */
import { base62, calculateTtl, isoTime, seconds, type TtlInputs } from './common';

export interface VaultToken {
  readonly id: string;
  readonly accessor: string;
  readonly namespace: string;
  readonly policies: readonly string[];
  readonly displayName: string;
  /** The login or create path (`auth/token/create`, `auth/approle/login`). */
  readonly path: string;
  readonly meta: Readonly<Record<string, string>> | null;
  readonly issueTime: number;
  /** The TTL granted at creation (`creation_ttl`), ms; 0 = never expires (root). */
  readonly creationTtl: number;
  /** Backend TTL / max TTL (the role's `token_ttl` / `token_max_ttl`), ms. */
  readonly backendTtl: number;
  readonly backendMaxTtl: number;
  readonly explicitMaxTtl: number;
  readonly period: number;
  readonly renewable: boolean;
  readonly orphan: boolean;
  readonly parent: string | undefined;
  /** When the token stops working; undefined = never. */
  expireTime: number | undefined;
  lastRenewal: number | undefined;
}

export interface NewToken {
  namespace: string;
  policies: readonly string[];
  displayName: string;
  path: string;
  meta?: Record<string, string> | null;
  backendTtl: number;
  backendMaxTtl: number;
  explicitMaxTtl?: number;
  period?: number;
  renewable?: boolean;
  parent?: VaultToken;
  /** Never expires (the root token). */
  noExpiry?: boolean;
}

type Sys = Pick<TtlInputs, 'sysMaxTtl' | 'sysDefaultTtl'>;

export class TokenStore {
  private readonly tokens = new Map<string, VaultToken>();

  constructor(
    private readonly now: () => number,
    private readonly sys: Sys,
  ) {}

  /** Adds a token with a given id (the root token). */
  addRoot(id: string): VaultToken {
    const t = this.build(id, {
      namespace: '',
      policies: ['root'],
      displayName: 'root',
      path: 'auth/token/root',
      backendTtl: 0,
      backendMaxTtl: 0,
      noExpiry: true,
      renewable: false,
    });
    this.tokens.set(id, t);
    return t;
  }

  /** Issues a token; its TTL is `CalculateTTL(0, backendTtl, period, backendMaxTtl, explicitMaxTtl, now)`, capped by the parent's remaining TTL. */
  create(spec: NewToken): VaultToken {
    const t = this.build(`hvs.${base62(24)}`, spec);
    this.tokens.set(t.id, t);
    return t;
  }

  private build(id: string, spec: NewToken): VaultToken {
    const now = this.now();
    let expireTime: number | undefined;
    let creationTtl = 0;
    if (!spec.noExpiry) {
      creationTtl = calculateTtl({
        now,
        increment: 0,
        backendTtl: spec.backendTtl,
        period: spec.period ?? 0,
        backendMaxTtl: spec.backendMaxTtl,
        explicitMaxTtl: spec.explicitMaxTtl ?? 0,
        startTime: now,
        ...this.sys,
      });
      // A child never outlives its parent (token_store.go: "TTL exceeded the parent's").
      const parentExpiry = spec.parent?.expireTime;
      if (parentExpiry !== undefined && now + creationTtl > parentExpiry) creationTtl = parentExpiry - now;
      expireTime = now + creationTtl;
    }
    return {
      id,
      accessor: base62(24),
      namespace: spec.namespace,
      policies: [...spec.policies],
      displayName: spec.displayName,
      path: spec.path,
      meta: spec.meta ?? null,
      issueTime: now,
      creationTtl,
      backendTtl: spec.backendTtl,
      backendMaxTtl: spec.backendMaxTtl,
      explicitMaxTtl: spec.explicitMaxTtl ?? 0,
      period: spec.period ?? 0,
      renewable: spec.noExpiry ? false : (spec.renewable ?? true),
      orphan: spec.parent === undefined,
      parent: spec.parent?.id,
      expireTime,
      lastRenewal: undefined,
    };
  }

  /** The live token, or undefined (unknown, revoked or expired). */
  get(id: string): VaultToken | undefined {
    const t = this.tokens.get(id);
    if (!t) return undefined;
    if (t.expireTime !== undefined && t.expireTime <= this.now()) return undefined;
    return t;
  }

  /** Tokens past their expiry, not yet revoked. */
  expired(): VaultToken[] {
    const now = this.now();
    return [...this.tokens.values()].filter((t) => t.expireTime !== undefined && t.expireTime <= now);
  }

  /** Removes a token and returns it with its descendants (all to revoke). */
  remove(id: string): VaultToken[] {
    const out: VaultToken[] = [];
    const t = this.tokens.get(id);
    if (!t) return out;
    this.tokens.delete(id);
    out.push(t);
    for (const child of [...this.tokens.values()]) if (child.parent === id) out.push(...this.remove(child.id));
    return out;
  }

  /** `RenewToken`. Throws "lease is not renewable" / "past the max TTL, cannot renew" as 400s. */
  renew(t: VaultToken, increment: number): number {
    const now = this.now();
    const ttl = calculateTtl({
      now,
      increment,
      backendTtl: t.backendTtl,
      period: t.period,
      backendMaxTtl: t.backendMaxTtl,
      explicitMaxTtl: t.explicitMaxTtl,
      startTime: t.issueTime,
      ...this.sys,
    });
    t.expireTime = now + ttl;
    t.lastRenewal = now;
    return ttl;
  }

  size(): number {
    return this.tokens.size;
  }
}

/** The `auth` block of a login, create or renew response; `granted` is the TTL just granted (ms). */
export function authJson(t: VaultToken, granted: number): Record<string, unknown> {
  return {
    client_token: t.id,
    accessor: t.accessor,
    policies: t.policies,
    token_policies: t.policies,
    metadata: t.meta,
    lease_duration: t.expireTime === undefined ? 0 : seconds(granted),
    renewable: t.renewable,
    entity_id: '',
    token_type: 'service',
    orphan: t.orphan,
    mfa_requirement: null,
    num_uses: 0,
  };
}

/** `handleLookup`'s data. */
export function lookupJson(t: VaultToken, now: number): Record<string, unknown> {
  return {
    accessor: t.accessor,
    creation_time: Math.floor(t.issueTime / 1000),
    creation_ttl: seconds(t.creationTtl),
    display_name: t.displayName,
    entity_id: '',
    expire_time: t.expireTime === undefined ? null : isoTime(t.expireTime),
    explicit_max_ttl: seconds(t.explicitMaxTtl),
    id: t.id,
    issue_time: isoTime(t.issueTime),
    ...(t.lastRenewal === undefined
      ? {}
      : { last_renewal: isoTime(t.lastRenewal), last_renewal_time: Math.floor(t.lastRenewal / 1000) }),
    meta: t.meta,
    num_uses: 0,
    orphan: t.orphan,
    path: t.path,
    ...(t.period > 0 ? { period: seconds(t.period) } : {}),
    policies: t.policies,
    renewable: t.renewable,
    ttl: t.expireTime === undefined ? 0 : seconds(t.expireTime - now),
    type: 'service',
    ...(t.namespace ? { namespace_path: `${t.namespace}/` } : {}),
  };
}
