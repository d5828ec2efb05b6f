import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { SecretFetchError, type LoggerLike } from '@hush/core';
import type { SourceCounters } from '@hush/core/internal';
import { networkError, outcomeOf, vaultError, VaultErrorCodes, type VaultAnswer } from './errors';
import type { VaultHttp } from './http';

/** Where Kubernetes mounts a pod's service-account token. */
export const DEFAULT_KUBERNETES_JWT_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * How the source gets its Vault token.
 * - `{ token }`: a token you hold (default: `VAULT_TOKEN`), renewed with `renew-self` before it
 *   expires when it is renewable; it cannot be logged in again.
 * - `{ appRole: { roleId, secretId } }`: `auth/approle/login`.
 * - `{ kubernetes: { role, jwtFile? } }`: `auth/kubernetes/login` with the pod's service-account JWT
 *   (read again at every login: Kubernetes rotates projected tokens).
 * - `{ aws: { role } }`: `auth/aws/login`, IAM method: a `sts:GetCallerIdentity` request signed
 *   with the AWS SDK's default credential chain (environment, SSO, web identity, ECS, IMDS).
 * Login methods log in again when the token cannot be renewed, expires, or is refused.
 */
export type VaultAuth =
  | { readonly token?: string | undefined }
  | { readonly appRole: { readonly roleId: string; readonly secretId: string; readonly mount?: string } }
  | { readonly kubernetes: { readonly role: string; readonly jwtFile?: string; readonly mount?: string } }
  | {
      readonly aws: {
        readonly role: string;
        readonly mount?: string;
        /** Region of the STS endpoint the request is signed for. @default 'us-east-1' (sts.amazonaws.com) */
        readonly region?: string;
        /** STS endpoint. @default https://sts.amazonaws.com/ (or https://sts.<region>.amazonaws.com/ with `region`) */
        readonly stsEndpoint?: string;
        /** The `X-Vault-AWS-IAM-Server-ID` header the AWS auth method may require. */
        readonly serverId?: string;
      };
    };

/** A token and what Vault said about it. */
interface Held {
  readonly token: string;
  /** Wall-clock end (ms); undefined for a token that never expires (ttl 0). */
  readonly expiresAt: number | undefined;
  /** Its TTL when obtained or last renewed (ms). */
  readonly ttl: number;
  readonly renewable: boolean;
  /** Which login (or given token) this is: leases remember the token that issued them. */
  readonly generation: number;
}

/** The bound of a background renewal or login (the store's `fetchTimeout` bounds the others). */
const BACKGROUND_TIMEOUT_MS = 30_000;

/** The share of a token's TTL after which it is renewed (like a lease). */
const RENEW_AT = 2 / 3;

/** The longest delay setTimeout keeps (a longer one fires after 1 ms, with a warning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When a token of `ttl` ms is renewed: at two-thirds of it, at least 1 s after, and at most
 * ~24.8 days after (a token of a year is then renewed early, once, instead of every millisecond).
 */
function renewalDelay(ttl: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(1_000, ttl * RENEW_AT));
}

/**
 * Keeps the source's Vault token: logs in (single flight), learns a given token's TTL
 * (`lookup-self`), renews it at two-thirds of its TTL with an unref'd timer (`renew-self`), logs in
 * again when renewal fails or Vault grants less than asked (near the token's max TTL), and
 * forgets a token Vault refuses so the next call logs in. Never logs or returns a token.
 */
export class TokenKeeper {
  #held: Held | undefined;
  private pending: Promise<Held> | undefined;
  #generation = 0;
  /**
   * When each token ends (wall ms; Infinity when it never does), by generation. Vault revokes a
   * token's leases when the token ends, so a lease cannot outlive the token that issued it.
   */
  readonly #ends = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The store's logger, from the last fetch (a background renewal has no caller to tell). */
  logger: LoggerLike | undefined;

  constructor(
    private readonly http: VaultHttp,
    auth: VaultAuth,
    private readonly counters: SourceCounters,
  ) {
    this.#auth = auth;
  }

  /** The auth options (an AppRole secret id) stay out of `util.inspect` and JSON. */
  readonly #auth: VaultAuth;

  [inspect.custom](): string {
    return `TokenKeeper { method: '${this.method}' }`;
  }

  toJSON(): Record<string, unknown> {
    return { method: this.method };
  }

  /** `token`, `approle`, `kubernetes` or `aws`. */
  get method(): string {
    if ('appRole' in this.#auth) return 'approle';
    if ('kubernetes' in this.#auth) return 'kubernetes';
    if ('aws' in this.#auth) return 'aws';
    return 'token';
  }

  /** Whether a refused token can be replaced by logging in again. */
  get canLogin(): boolean {
    return this.method !== 'token';
  }

  /** A token to call Vault with (logging in first when none is held or it expired), and its generation. */
  async token(signal: AbortSignal | undefined): Promise<{ readonly token: string; readonly generation: number }> {
    let held = this.#held;
    if (!held || (held.expiresAt !== undefined && held.expiresAt <= Date.now())) held = await this.obtain(signal);
    return { token: held.token, generation: held.generation };
  }

  /** The generation of the token held now (-1 before the first). */
  get generation(): number {
    return this.#held?.generation ?? -1;
  }

  /** When the token of `generation` ends (wall ms), as last known; Infinity for one that never does. */
  endOf(generation: number): number {
    return this.#ends.get(generation) ?? Infinity;
  }

  /**
   * Vault refused `token` (403): forget it, so the next call logs in (login methods only). A
   * refused token's leases are taken as ended (Vault revoked them with it).
   */
  refused(generation: number): void {
    if (this.#held?.generation === generation && this.canLogin) {
      this.#ends.set(generation, Date.now());
      this.#held = undefined;
    }
  }

  private obtain(signal: AbortSignal | undefined): Promise<Held> {
    this.pending ??= (this.method === 'token' ? this.lookupSelf(signal) : this.login(signal)).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** A given token: learn its TTL and whether it renews (a root token never expires). */
  private async lookupSelf(signal: AbortSignal | undefined): Promise<Held> {
    const token = (this.#auth as { token?: string }).token ?? process.env['VAULT_TOKEN'];
    if (!token) {
      throw new SecretFetchError('*', VaultErrorCodes.LOGIN_FAILED, 'no Vault token (set auth.token or VAULT_TOKEN)', {
        retryable: false,
      });
    }
    const answer = await this.call('lookup-self', { method: 'GET', path: 'auth/token/lookup-self', token, signal });
    const data = (answer.body as { data?: { ttl?: unknown; renewable?: unknown } } | undefined)?.data;
    const ttl = typeof data?.ttl === 'number' && data.ttl > 0 ? data.ttl * 1000 : 0;
    // A lookup-self a policy forbids (403) still leaves a usable token: use it without renewal.
    const held: Held =
      answer.status === 200
        ? {
            token,
            ttl,
            expiresAt: ttl > 0 ? Date.now() + ttl : undefined,
            renewable: data?.renewable === true,
            generation: ++this.#generation,
          }
        : { token, ttl: 0, expiresAt: undefined, renewable: false, generation: ++this.#generation };
    return this.keep(held);
  }

  private async login(signal: AbortSignal | undefined): Promise<Held> {
    const { mount, body, credentials } = await this.loginRequest();
    const answer = await this.call('login', {
      method: 'POST',
      path: `auth/${mount}/login`,
      body,
      credentials,
      signal,
    });
    if (answer.status !== 200) throw vaultError('*', `login (${this.method})`, answer);
    const auth = (answer.body as { auth?: { client_token?: unknown; lease_duration?: unknown; renewable?: unknown } })
      ?.auth;
    if (typeof auth?.client_token !== 'string' || auth.client_token === '') {
      throw new SecretFetchError('*', VaultErrorCodes.LOGIN_FAILED, `login (${this.method}): no client token`, {
        retryable: true,
      });
    }
    const ttl = typeof auth.lease_duration === 'number' && auth.lease_duration > 0 ? auth.lease_duration * 1000 : 0;
    return this.keep({
      token: auth.client_token,
      ttl,
      expiresAt: ttl > 0 ? Date.now() + ttl : undefined,
      renewable: auth.renewable === true,
      generation: ++this.#generation,
    });
  }

  /**
   * A login's mount and body, and the credentials in it that Vault's answer must not echo (the
   * role id and secret id, the JWT, the request signature and session token).
   */
  private async loginRequest(): Promise<{
    mount: string;
    body: Record<string, unknown>;
    credentials: readonly string[];
  }> {
    const auth = this.#auth;
    if ('appRole' in auth) {
      const { roleId, secretId } = auth.appRole;
      return {
        mount: auth.appRole.mount ?? 'approle',
        body: { role_id: roleId, secret_id: secretId },
        credentials: [roleId, secretId],
      };
    }
    if ('kubernetes' in auth) {
      const file = auth.kubernetes.jwtFile ?? DEFAULT_KUBERNETES_JWT_FILE;
      let jwt: string;
      try {
        jwt = (await readFile(file, 'utf8')).trim();
      } catch (error) {
        throw new SecretFetchError(
          '*',
          VaultErrorCodes.LOGIN_FAILED,
          `login (kubernetes): cannot read the service-account token at ${file}`,
          { retryable: true, cause: error },
        );
      }
      return {
        mount: auth.kubernetes.mount ?? 'kubernetes',
        body: { role: auth.kubernetes.role, jwt },
        credentials: [jwt],
      };
    }
    if ('aws' in auth) return { mount: auth.aws.mount ?? 'aws', ...(await awsIamLogin(auth.aws)) };
    throw new SecretFetchError('*', VaultErrorCodes.LOGIN_FAILED, 'no auth method', { retryable: false });
  }

  /** Holds `held` and arms its renewal. */
  private keep(held: Held): Held {
    if (this.closed) return held;
    this.#held = held;
    this.#ends.set(held.generation, held.expiresAt ?? Infinity);
    for (const g of this.#ends.keys()) if (g < held.generation - 32) this.#ends.delete(g);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (held.expiresAt !== undefined && (held.renewable || this.canLogin)) {
      this.timer = setTimeout(() => void this.renew(held), renewalDelay(held.ttl));
      this.timer.unref();
    }
    return held;
  }

  /**
   * Background renewal: `renew-self` (asking for the TTL it had); a refusal, an error, or a grant
   * shorter than asked (the token's max TTL is near) logs in again (login methods). A given token
   * that cannot be renewed is left to expire, said once as a warning.
   */
  private async renew(held: Held): Promise<void> {
    if (this.closed || this.#held !== held) return;
    try {
      if (held.renewable) {
        const answer = await this.call('renew-self', {
          method: 'PUT',
          path: 'auth/token/renew-self',
          token: held.token,
          body: { increment: `${Math.round(held.ttl / 1000)}s` },
        });
        const auth = (answer.body as { auth?: { lease_duration?: unknown; renewable?: unknown } } | undefined)?.auth;
        const granted = typeof auth?.lease_duration === 'number' ? auth.lease_duration * 1000 : 0;
        if (answer.status === 200 && granted > 0 && (granted + 1_000 >= held.ttl || !this.canLogin)) {
          this.keep({ ...held, ttl: held.ttl, expiresAt: Date.now() + granted, renewable: auth?.renewable !== false });
          return;
        }
        // Granted less than asked: the token ends then (its max TTL), and so do its leases.
        if (answer.status === 200 && granted > 0) this.#ends.set(held.generation, Date.now() + granted);
      }
      if (this.canLogin) {
        this.#held = undefined;
        await this.obtain(undefined);
        return;
      }
      this.logger?.warn(
        `Vault token cannot be renewed; it expires in ${Math.max(0, Math.round(((held.expiresAt ?? 0) - Date.now()) / 1000))} s`,
        { event: 'vault-token-expiring', method: this.method },
      );
    } catch {
      // The next fetch logs in (or reports the failure through the store).
      if (this.canLogin && this.#held === held) this.#held = undefined;
    }
  }

  /**
   * One auth call, counted; a call that got no answer becomes a `SecretFetchError`. A background
   * call (no caller's signal) is bounded too: a Vault that never answers must not hold the login
   * every later fetch waits for.
   */
  private async call(operation: string, call: Parameters<VaultHttp['request']>[0]): Promise<VaultAnswer> {
    if (!call.signal) call = { ...call, signal: AbortSignal.timeout(BACKGROUND_TIMEOUT_MS) };
    try {
      const answer = await this.http.request(call);
      this.counters.record(operation, 1, outcomeOf(answer));
      return answer;
    } catch (error) {
      this.counters.record(operation, 1, 'NetworkError');
      throw networkError('*', `${operation} (${this.method})`, error, call.signal?.aborted === true);
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** SHA-256 for SigV4 from node:crypto (the `sha256` constructor `@smithy/signature-v4` takes). */
type Bytes = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: Bytes): string | Buffer {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

class Sha256 {
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: Bytes) {
    this.hash = this.fresh();
  }
  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
  update(data: Bytes): void {
    this.hash.update(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

const STS_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

/**
 * The body of `auth/aws/login` (IAM method): a `sts:GetCallerIdentity` request signed with the
 * default credential chain, base64-encoded as Vault's `builtin/credential/aws` expects
 * (`iam_http_request_method`, `iam_request_url`, `iam_request_body`, `iam_request_headers`).
 */
async function awsIamLogin(
  aws: Extract<VaultAuth, { aws: unknown }>['aws'],
): Promise<{ body: Record<string, unknown>; credentials: readonly string[] }> {
  const [{ SignatureV4 }, { defaultProvider }] = await Promise.all([
    import('@smithy/signature-v4'),
    import('@aws-sdk/credential-provider-node'),
  ]);
  const region = aws.region ?? 'us-east-1';
  const endpoint = new URL(
    aws.stsEndpoint ?? (aws.region ? `https://sts.${aws.region}.amazonaws.com/` : 'https://sts.amazonaws.com/'),
  );
  const headers: Record<string, string> = {
    host: endpoint.host,
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
  };
  if (aws.serverId) headers['x-vault-aws-iam-server-id'] = aws.serverId;
  const signer = new SignatureV4({ credentials: defaultProvider(), region, service: 'sts', sha256: Sha256 });
  let signed: { headers: Record<string, string> };
  try {
    signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path: endpoint.pathname,
      query: {},
      headers,
      body: STS_BODY,
    });
  } catch (error) {
    throw new SecretFetchError('*', VaultErrorCodes.LOGIN_FAILED, 'login (aws): no AWS credentials to sign with', {
      retryable: true,
      cause: error,
    });
  }
  const asArrays = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k, [v]]));
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  const signedHeaders = b64(JSON.stringify(asArrays));
  const secret = ['authorization', 'x-amz-security-token'].map((h) => signed.headers[h]);
  return {
    body: {
      role: aws.role,
      iam_http_request_method: 'POST',
      iam_request_url: b64(endpoint.href),
      iam_request_body: b64(STS_BODY),
      iam_request_headers: signedHeaders,
    },
    credentials: [signedHeaders, ...secret.filter((v): v is string => typeof v === 'string')],
  };
}
