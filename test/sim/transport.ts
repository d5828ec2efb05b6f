/**
 * The simulated network between the AWS SDK and the {@link World}: an SDK `requestHandler` that
 * answers Secrets Manager's JSON protocol after a virtual latency, with the world's faults.
 */
import { ACCOUNT_ARN, ENCODINGS, encodeEcho, type World } from './world';
import type { Rng } from './rng';

interface HttpRequestLike {
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

interface HttpResponseLike {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** What the transport records of every HTTP attempt (SDK retries included). */
export interface WireCall {
  readonly operation: string;
  readonly ids: readonly string[];
  readonly at: number;
}

export interface Transport {
  handle(request: HttpRequestLike, options?: { abortSignal?: AbortSignal }): Promise<{ response: HttpResponseLike }>;
  updateHttpClientConfig(): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

const json = (status: number, body: unknown, type?: string): HttpResponseLike => ({
  statusCode: status,
  headers: {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': 'sim',
    ...(type ? { 'x-amzn-errortype': type } : {}),
  },
  body: Buffer.from(JSON.stringify(body)),
});

const awsError = (status: number, type: string, message: string) =>
  json(status, { __type: type, message, Message: message }, type);

/**
 * The simulated network's answers in flight, one per run. An answer due in `ms` runs its `fn` on
 * time; after a freeze (its timer fires late, with every timer that came due during it) it is read
 * one turn later: Node reads sockets in the poll phase, after the timers phase, so a fetch
 * deadline that came due in the freeze fires before the answer waiting in the socket is read.
 */
export class Network {
  /** Answers that arrived and wait in their socket, each with its delivery. */
  private readonly unread = new Set<() => void>();

  constructor(private readonly now: () => number) {}

  /** `cancel()` returns the answer's due time if it had arrived and was not read (it is dropped). */
  afterLatency(ms: number, fn: () => void): { cancel(): number | undefined } {
    const due = this.now() + ms;
    let read = false;
    const deliver = () => {
      clearTimeout(timer);
      this.unread.delete(deliver);
      read = true;
      fn();
    };
    let timer = setTimeout(() => {
      if (this.now() <= due) return deliver();
      this.unread.add(deliver);
      timer = setTimeout(deliver, 0);
    }, ms);
    return {
      cancel: () => {
        clearTimeout(timer);
        this.unread.delete(deliver);
        // Arrived (its time passed: in a freeze the timer may not even have fired yet), not read.
        return !read && this.now() > due ? due : undefined;
      },
    };
  }

  /** Reads every answer waiting in its socket: a process does that before it goes idle (and can be frozen). */
  readArrived(): void {
    for (const deliver of [...this.unread]) deliver();
  }
}

/** Told when an abort drops an answer that had arrived: the signal, and when the answer was due. */
export type OnDropped = (signal: AbortSignal, due: number) => void;

export function simRequestHandler(
  world: World,
  rng: Rng,
  /** Values a foreign message may echo (those held by the stores that use this transport). */
  echoPool: () => (string | Uint8Array)[],
  wire: WireCall[],
  /** A fixed latency instead of the drawn one (the real-time warm-up call: 0, not up to 3 s). */
  fixedLatency?: number,
  network: Network = new Network(() => world.now()),
  onDropped?: OnDropped,
): Transport {
  const echo = (): string => {
    const pool = echoPool();
    if (pool.length === 0) return 'nothing to echo';
    return encodeEcho(rng.pick(pool), rng.pick(ENCODINGS), rng);
  };
  const latency = (): number => fixedLatency ?? (rng.chance(0.9) ? rng.int(1, 40) : rng.int(40, 3_000));

  const answer = (operation: string, input: Record<string, unknown>): HttpResponseLike => {
    const ids = operation === 'BatchGetSecretValue' ? (input.SecretIdList as string[]) : [input.SecretId as string];
    if (operation === 'DescribeSecret' && world.active('describe-throttle', ids))
      return awsError(400, 'ThrottlingException', 'Rate exceeded');
    if (operation !== 'DescribeSecret') {
      if (world.active('throttle', ids)) return awsError(400, 'ThrottlingException', 'Rate exceeded');
      if (world.active('server-error', ids))
        return awsError(500, 'InternalServiceError', 'We encountered an internal error.');
      if (world.active('error-echo', ids))
        return awsError(500, 'InternalServiceError', `Internal error while reading ${echo()}`);
      if (operation === 'BatchGetSecretValue' && world.active('batch-error-echo', ids))
        return awsError(400, 'InvalidRequestException', `You provided a value that is not valid: ${echo()}`);
    }
    if (operation === 'DescribeSecret') {
      const secret = world.secrets.get(ids[0]!);
      if (!secret)
        return awsError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      const stages: Record<string, string[]> = {};
      for (const v of secret.versions) if (v.stages.size > 0) stages[v.versionId] = [...v.stages];
      return json(200, {
        ARN: `${ACCOUNT_ARN}${secret.id}-AbCdEf`,
        Name: secret.id,
        RotationEnabled: secret.rotation.enabled,
        ...(secret.rotation.enabled && secret.rotation.next !== undefined
          ? { NextRotationDate: secret.rotation.next / 1000 }
          : {}),
        VersionIdsToStages: stages,
      });
    }
    const valueOf = (id: string, input: Record<string, unknown>) => {
      const secret = world.secrets.get(id);
      const stage = (input.VersionStage as string | undefined) ?? (input.VersionId ? undefined : 'AWSCURRENT');
      const version = secret?.versions.find(
        (v) => (input.VersionId ? v.versionId === input.VersionId : true) && (stage ? v.stages.has(stage) : true),
      );
      if (!secret || !version) return undefined;
      return {
        ARN: `${ACCOUNT_ARN}${id}-AbCdEf`,
        Name: id,
        VersionId: version.versionId,
        ...(typeof version.value === 'string'
          ? { SecretString: version.value }
          : { SecretBinary: Buffer.from(version.value).toString('base64') }),
        VersionStages: [...version.stages],
        CreatedDate: version.createdAt / 1000,
      };
    };
    if (operation === 'GetSecretValue') {
      const id = ids[0]!;
      const perId = world.active('per-id-error', [id]);
      if (perId) return awsError(500, 'InternalServiceError', 'We encountered an internal error.');
      const value = valueOf(id, input);
      return value
        ? json(200, value)
        : awsError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    // BatchGetSecretValue
    const SecretValues: unknown[] = [];
    const Errors: unknown[] = [];
    for (const id of ids) {
      if (world.active('per-id-code-echo', [id])) {
        // An ErrorCode no real service sends: long, with a newline, quoting a value.
        Errors.push({ SecretId: id, ErrorCode: `Weird\n${echo()}${'x'.repeat(200)}`, Message: echo() });
        continue;
      }
      if (world.active('per-id-error', [id])) {
        Errors.push({ SecretId: id, ErrorCode: 'InternalServiceError', Message: `Could not read: ${echo()}` });
        continue;
      }
      const value = valueOf(id, {});
      if (value) SecretValues.push(value);
      else
        Errors.push({
          SecretId: id,
          ErrorCode: 'ResourceNotFoundException',
          Message: "Secrets Manager can't find the specified secret.",
        });
    }
    return json(200, { SecretValues, Errors });
  };

  return {
    handle(request, options) {
      const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'] ?? '';
      const operation = target.split('.')[1] ?? target;
      const body =
        typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body as Uint8Array);
      const input = JSON.parse(body || '{}') as Record<string, unknown>;
      const ids = operation === 'BatchGetSecretValue' ? (input.SecretIdList as string[]) : [input.SecretId as string];
      wire.push({ operation, ids, at: world.now() });
      const signal = options?.abortSignal;
      const deaf =
        operation === 'DescribeSecret' ? world.active('describe-hang-deaf', ids) : world.active('hang-deaf', ids);
      if (deaf) return new Promise(() => undefined); // ignores the signal: never settles
      const hang = operation !== 'DescribeSecret' && world.active('hang', ids);
      return new Promise((resolve, reject) => {
        const abortError = () => {
          const error = new Error('Request aborted');
          error.name = 'AbortError';
          return error;
        };
        if (signal?.aborted) return reject(abortError());
        const arrival = hang
          ? undefined
          : network.afterLatency(latency(), () => {
              signal?.removeEventListener('abort', onAbort);
              resolve({ response: answer(operation, input) });
            });
        const onAbort = () => {
          const due = arrival?.cancel();
          if (due !== undefined && signal) onDropped?.(signal, due);
          reject(abortError());
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
}
