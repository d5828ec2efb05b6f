import { randomUUID } from 'node:crypto';
import { SecretFetchError } from '../errors';
import {
  SourceCounters,
  type FetchOutcome,
  type RawSecret,
  type SecretRequest,
  type Source,
  type SourceStats,
} from './source';

/** A value for {@link memorySource}: a string, bytes, or any JSON-serialisable object. */
export type MemoryValue = string | Uint8Array | Record<string, unknown> | unknown[];

interface Version {
  readonly raw: RawSecret;
  stages: Set<string>;
}

interface Failure {
  code: string;
  message: string;
  times: number;
  retryable: boolean;
  throttled: boolean;
}

/**
 * An in-memory source for tests and local development. Changing a value creates a new version
 * (the old one becomes AWSPREVIOUS), exactly as `PutSecretValue` does.
 *
 * @example
 * const source = memorySource({ 'prod/app/db': { username: 'app', password: 'pw' }, 'prod/app/api-key': 'k' });
 * source.set('prod/app/api-key', 'k2');   // rotation
 * source.fail('prod/app/db', 'ThrottlingException');
 */
export function memorySource(initial: Record<string, MemoryValue> = {}): MemorySource {
  return new MemorySource(initial);
}

export class MemorySource implements Source {
  readonly kind = 'memory';
  private readonly secrets = new Map<string, Version[]>();
  private readonly failures = new Map<string, Failure>();
  private readonly counters = new SourceCounters();
  /** Every `fetch` call, for tests that count calls. */
  fetchCalls = 0;

  constructor(initial: Record<string, MemoryValue>) {
    for (const [id, value] of Object.entries(initial)) this.set(id, value);
  }

  /** Stores a new AWSCURRENT version and returns its version id. */
  set(id: string, value: MemoryValue, versionId: string = randomUUID()): string {
    const versions = this.secrets.get(id) ?? [];
    for (const v of versions) {
      v.stages.delete('AWSPREVIOUS');
      if (v.stages.delete('AWSCURRENT')) v.stages.add('AWSPREVIOUS');
    }
    const raw: RawSecret =
      value instanceof Uint8Array
        ? { versionId, binary: new Uint8Array(value), createdDate: new Date() }
        : { versionId, string: typeof value === 'string' ? value : JSON.stringify(value), createdDate: new Date() };
    versions.push({ raw, stages: new Set(['AWSCURRENT']) });
    this.secrets.set(id, versions);
    return versionId;
  }

  /** Removes a secret: later fetches fail with ResourceNotFoundException. */
  delete(id: string): void {
    this.secrets.delete(id);
  }

  /** Makes fetches of `id` (or `'*'` for all) fail with `code` for the next `times` calls. */
  fail(id: string, code = 'InternalServiceError', options: { times?: number; message?: string } = {}): void {
    const throttled = code === 'ThrottlingException';
    this.failures.set(id, {
      code,
      message: options.message ?? `Injected ${code}`,
      times: options.times ?? Infinity,
      retryable: throttled || code === 'InternalServiceError' || code === 'TimeoutError' || code === 'ECONNREFUSED',
      throttled,
    });
  }

  /** Clears injected failures. */
  recover(id?: string): void {
    if (id === undefined) this.failures.clear();
    else this.failures.delete(id);
  }

  stats(): SourceStats {
    return this.counters.snapshot();
  }

  async fetch(requests: readonly SecretRequest[]): Promise<readonly FetchOutcome[]> {
    this.fetchCalls++;
    await Promise.resolve();
    return requests.map((request) => {
      const outcome = this.fetchOne(request);
      this.counters.record(
        'GetSecretValue',
        1,
        outcome.ok ? 'ok' : outcome.error.throttled ? 'throttled' : outcome.error.awsCode,
      );
      return outcome;
    });
  }

  private fetchOne(request: SecretRequest): FetchOutcome {
    const failure = this.failures.get(request.id) ?? this.failures.get('*');
    if (failure && failure.times > 0) {
      failure.times--;
      return { ok: false, error: new SecretFetchError(request.id, failure.code, failure.message, failure) };
    }
    const versions = this.secrets.get(request.id);
    const stage = request.versionStage ?? (request.versionId ? undefined : 'AWSCURRENT');
    const version = versions?.find(
      (v) => (request.versionId ? v.raw.versionId === request.versionId : true) && (stage ? v.stages.has(stage) : true),
    );
    if (!version) {
      return {
        ok: false,
        error: new SecretFetchError(
          request.id,
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret.",
          { retryable: false },
        ),
      };
    }
    return { ok: true, secret: version.raw };
  }
}
