import { performance } from 'node:perf_hooks';
import { statusForError } from './errors';

/**
 * A fault to inject into emulated Secrets Manager calls.
 *
 * @example
 * emu.injectFault({ operation: 'GetSecretValue', error: 'ThrottlingException', times: 2 });
 * emu.injectFault({ operation: 'BatchGetSecretValue', secretId: 'db', error: 'DecryptionFailure', perSecret: true });
 * emu.injectFault({ hang: true, times: 1 });
 */
export interface FaultOptions {
  /** Operation name, e.g. `'GetSecretValue'`. @default every operation */
  operation?: string;
  /** Only requests that touch this secret (name or ARN; any id of a BatchGetSecretValue list). */
  secretId?: string;
  /** AWS error code sent as `__type`, e.g. `'ThrottlingException'`, `'InternalServiceError'`. */
  error?: string;
  /** Message sent with `error`. @default a message typical for the code */
  message?: string;
  /** HTTP status. @default per error code: 400 for client errors, 500 InternalServiceError, 503 ServiceUnavailable */
  status?: number;
  /** How many matching requests the fault applies to. @default Infinity */
  times?: number;
  /** Chance (0..1) that a matching request is faulted. @default 1 */
  probability?: number;
  /** Delay before answering (combined with `error`, or alone to slow down successful calls). */
  latencyMs?: number;
  /** Accept the request and never answer (until the emulator closes or pauses). */
  hang?: boolean;
  /**
   * For BatchGetSecretValue with `secretId`: report `error` in `Errors[]` for that id instead
   * of failing the whole call.
   */
  perSecret?: boolean;
  /**
   * Answer 200 with this rewrite of the real response body (in process only, not through the
   * HTTP control API): a malformed or mismatched answer, to test what a client accepts.
   * @example emu.injectFault({ operation: 'GetSecretValue', rewrite: (body) => ({ ...body, VersionId: 42 }) })
   */
  rewrite?: (body: Record<string, unknown>) => unknown;
}

/** A fault as stored, with its id and remaining count. */
export interface ActiveFault extends FaultOptions {
  readonly id: string;
  remaining: number;
}

/** What the emulator should do with a request a fault matched. */
export interface FaultAction {
  readonly fault: ActiveFault;
  readonly latencyMs: number;
  readonly hang: boolean;
  /** Error to answer with, if any. */
  readonly error?: { code: string; message?: string; status: number };
  /** Per-secret error for BatchGetSecretValue. */
  readonly perSecret: boolean;
  /** Rewrites the successful response body. */
  readonly rewrite?: (body: Record<string, unknown>) => unknown;
}

/**
 * Ordered list of injected faults. The first matching fault with remaining uses wins.
 */
export class FaultRegistry {
  private faults: ActiveFault[] = [];
  private seq = 0;

  constructor(private readonly random: () => number = Math.random) {}

  /** Adds a fault and returns its id. */
  add(options: FaultOptions): string {
    if (options.probability !== undefined && (options.probability < 0 || options.probability > 1)) {
      throw new RangeError(`injectFault: probability must be between 0 and 1, got ${options.probability}.`);
    }
    if (options.perSecret && options.secretId === undefined) {
      throw new TypeError('injectFault: perSecret needs a secretId (the id reported in Errors[]).');
    }
    if (!options.error && !options.hang && options.latencyMs === undefined && !options.rewrite) {
      throw new TypeError('injectFault: give at least one of error, hang, latencyMs or rewrite.');
    }
    const id = `fault-${++this.seq}`;
    this.faults.push({ ...options, id, remaining: options.times ?? Infinity });
    return id;
  }

  /** Removes one fault by id, or all faults. */
  clear(id?: string): void {
    this.faults = id === undefined ? [] : this.faults.filter((f) => f.id !== id);
  }

  /** Snapshot of the active faults. */
  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /**
   * Finds the fault for a request and consumes one use of it.
   * @param touches returns whether the request touches the fault's `secretId`
   */
  match(
    operation: string,
    touches: (secretId: string) => boolean,
    opts: { perSecret: boolean },
  ): FaultAction | undefined {
    for (const fault of this.faults) {
      if (fault.remaining <= 0) continue;
      if (fault.operation !== undefined && fault.operation !== operation) continue;
      if (Boolean(fault.perSecret) !== opts.perSecret) continue;
      if (fault.secretId !== undefined && !touches(fault.secretId)) continue;
      if (fault.probability !== undefined && this.random() >= fault.probability) continue;
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
      const action: FaultAction = {
        fault,
        latencyMs: fault.latencyMs ?? 0,
        hang: Boolean(fault.hang),
        perSecret: Boolean(fault.perSecret),
        ...(fault.rewrite ? { rewrite: fault.rewrite } : {}),
        ...(fault.error
          ? {
              error: { code: fault.error, message: fault.message, status: fault.status ?? statusForError(fault.error) },
            }
          : {}),
      };
      return action;
    }
    return undefined;
  }
}

/** A rate limit: steady `ratePerSecond`, up to `burst` requests at once. */
export interface ThrottleLimit {
  ratePerSecond: number;
  /** Bucket size. @default max(1, ratePerSecond) */
  burst?: number;
}

/**
 * Token bucket on the real monotonic clock (`performance.now()` from `node:perf_hooks`, which
 * jest fake timers do not replace).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  readonly burst: number;

  constructor(
    readonly ratePerSecond: number,
    burst?: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`Throttle: ratePerSecond must be > 0, got ${ratePerSecond}.`);
    this.burst = Math.max(1, burst ?? ratePerSecond);
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Takes one token; `false` means the request is throttled. */
  tryTake(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

/**
 * Real Secrets Manager request quotas per account and Region (AWS-FACTS §A4). Write operations
 * have 50/s each.
 */
export const AWS_QUOTAS: Readonly<Record<string, number>> = Object.freeze({
  GetSecretValue: 10_000,
  DescribeSecret: 40_000,
  BatchGetSecretValue: 100,
  ListSecrets: 100,
  ListSecretVersionIds: 100,
  CreateSecret: 50,
  PutSecretValue: 50,
  UpdateSecretVersionStage: 50,
  DeleteSecret: 50,
  RestoreSecret: 50,
});

/** Key of the bucket GetParameter, GetParameters and GetParametersByPath share (`limits: { 'ssm:get': … }`). */
export const SSM_GET_BUCKET = 'ssm:get';

/**
 * Parameter Store's throughput quota (default 40/s per account and Region), one bucket shared by
 * GetParameter, GetParameters and GetParametersByPath, keyed {@link SSM_GET_BUCKET}.
 */
export const SSM_QUOTAS: Readonly<Record<string, number>> = Object.freeze({ [SSM_GET_BUCKET]: 40 });

/** Operations that take from a shared bucket as well as their own. */
const SHARED_BUCKETS: Readonly<Record<string, string>> = Object.freeze({
  GetParameter: SSM_GET_BUCKET,
  GetParameters: SSM_GET_BUCKET,
  GetParametersByPath: SSM_GET_BUCKET,
});

/**
 * Quota settings: `scale` multiplies every AWS quota (0.01 turns 10,000/s into 100/s);
 * `limits` overrides single operations.
 *
 * @example
 * startEmulator({ quotas: { scale: 0.01 } });
 */
export interface QuotaConfig {
  /** @default 1 */
  scale?: number;
  limits?: Record<string, ThrottleLimit>;
}

/** Operation name for a throttle that applies to all operations together. */
export const ALL_OPERATIONS = '*';

/**
 * Per-operation token buckets, plus an optional `'*'` bucket shared by all operations.
 */
export class Throttler {
  private readonly buckets = new Map<string, TokenBucket>();

  /** Sets (or with `limit` null, removes) the bucket of one operation or of `'*'`. */
  set(operation: string, limit: ThrottleLimit | null): void {
    if (limit === null) this.buckets.delete(operation);
    else this.buckets.set(operation, new TokenBucket(limit.ratePerSecond, limit.burst));
  }

  /** Removes every bucket. */
  clear(): void {
    this.buckets.clear();
  }

  /** Applies AWS quotas, scaled, with overrides. */
  applyQuotas(quotas: 'aws' | QuotaConfig): void {
    const config: QuotaConfig = quotas === 'aws' ? {} : quotas;
    const scale = config.scale ?? 1;
    if (!(scale > 0)) throw new RangeError(`quotas.scale must be > 0, got ${scale}.`);
    for (const [op, rate] of [...Object.entries(AWS_QUOTAS), ...Object.entries(SSM_QUOTAS)]) {
      const scaled = rate * scale;
      this.set(op, { ratePerSecond: scaled, burst: Math.max(1, scaled) });
    }
    for (const [op, limit] of Object.entries(config.limits ?? {})) this.set(op, limit);
  }

  /** `true` if the request may proceed. */
  allow(operation: string): boolean {
    const all = this.buckets.get(ALL_OPERATIONS);
    if (all && !all.tryTake()) return false;
    const shared = SHARED_BUCKETS[operation] === undefined ? undefined : this.buckets.get(SHARED_BUCKETS[operation]);
    if (shared && !shared.tryTake()) return false;
    const own = this.buckets.get(operation);
    return own ? own.tryTake() : true;
  }
}
