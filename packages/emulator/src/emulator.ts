import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { clearInterval, setInterval } from 'node:timers';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CONTROL_PREFIX, handleControl } from './control-routes';
import { ServiceError } from './errors';
import {
  FaultRegistry,
  Throttler,
  type ActiveFault,
  type FaultOptions,
  type QuotaConfig,
  type ThrottleLimit,
} from './faults';
import { delay, listen, readBody, sendAwsJson, trackSockets, type Json } from './http';
import { OPERATIONS, Operations, type Operation } from './operations';
import { ParametersModel, type ParameterType } from './parameters-model';
import { RotationRunner, type RotationContext, type RotationFunction, type RotationRecord } from './rotation';
import { nextRotationDate, toMs, type Duration } from './schedule';
import { applyParameters, applySeed, type Seed, type SeedParameters } from './seed';
import { SSM_OPERATIONS, SSM_TARGET_PREFIX, SsmOperations, type SsmOperation } from './ssm-operations';
import { AWSCURRENT, AWSPENDING, SecretsModel, type SecretValue, type StoredVersion } from './secrets-model';

export { OPERATIONS, type Operation } from './operations';
export type {
  Seed,
  SeedFile,
  SeedParameter,
  SeedParameters,
  SeedParameterVersion,
  SeedSecret,
  SeedVersion,
} from './seed';
export { SSM_OPERATIONS, type SsmOperation } from './ssm-operations';

/** Minimal logger; every method is optional. Pass `false` (the default) for silence. */
export interface LoggerLike {
  debug?(message: string): void;
  info?(message: string): void;
  warn?(message: string): void;
  error?(message: string): void;
}

/**
 * Options of {@link startEmulator}.
 */
export interface EmulatorOptions {
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Initial secrets, or the path of a JSON seed file (whose `parameters` seed Parameter Store too). */
  seed?: Seed | string;
  /**
   * Initial Parameter Store parameters: `{ '/app/url': 'https://…' }` (a String) or
   * `{ '/app/key': { value: '…', type: 'SecureString', labels: ['prod'] } }`.
   */
  parameters?: SeedParameters;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '123456789012' */
  accountId?: string;
  /**
   * `'aws'` applies the real request quotas (Secrets Manager's per operation, Parameter Store's 40/s
   * shared by its three get operations); a {@link QuotaConfig} scales or overrides them. @default no throttling
   */
  quotas?: 'aws' | QuotaConfig;
  /** @default false */
  logger?: LoggerLike | false;
  /**
   * Rotation functions by Lambda ARN: RotateSecret with that `RotationLambdaARN` invokes the
   * function for createSecret, setSecret, testSecret and finishSecret, like Secrets Manager
   * invokes a rotation Lambda.
   */
  rotationFunctions?: Record<string, RotationFunction>;
  /** Pause after setSecret, before testSecret and finishSecret (the window in which both credentials work). @default 0 */
  rotationWindow?: Duration;
  /**
   * Speed of the emulator's clock (dates, rotation schedules, recovery windows): 86400 makes one
   * real second an emulated day, so a 30-day schedule rotates every 30 s. @default 1
   */
  timeScale?: number;
  /**
   * How long a force-deleted secret's name stays taken (AWS deletes in the background, and a
   * CreateSecret of the name fails meanwhile), in emulated time. @default '2s'
   */
  deletionDelay?: Duration;
}

/** Config to spread into `new SecretsManagerClient(...)` or `new SSMClient(...)`. */
export interface EmulatorClientConfig {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Requests received, per operation (every attempt, including throttled and faulted ones), and `total`. */
export type CallCounts = Record<string, number> & { total: number };

/** Options of {@link Emulator.putParameter}. */
export interface PutParameterOptions {
  /** @default 'String' for a new parameter, else the type of its latest version */
  type?: ParameterType;
  /** Labels to attach to the new version (moved from the versions that had them). */
  labels?: string[];
  description?: string;
}

/** Options of {@link Emulator.putSecret}. */
export interface PutSecretOptions {
  /** @default a random UUID */
  versionId?: string;
  /** @default ['AWSCURRENT'] */
  stages?: string[];
  /** Used when the secret is created. */
  description?: string;
}

type Outcome = { status: number; body: Json };

const TARGET_PREFIX = 'secretsmanager.';

function isSsmOperation(op: string): op is SsmOperation {
  return (SSM_OPERATIONS as readonly string[]).includes(op);
}

/** Error passed to in-process callers when the emulator is paused or closed. */
function connectionError(code: 'ECONNREFUSED' | 'ECONNRESET', message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * A running Secrets Manager emulator. Create one with {@link startEmulator}.
 */
export class Emulator {
  /** The in-memory secrets. */
  readonly store: SecretsModel;
  /** The in-memory Parameter Store parameters. */
  readonly parameters: ParametersModel;
  private readonly operations: Operations;
  private readonly ssm: SsmOperations;
  private readonly server: Server;
  private readonly sockets: Set<Socket>;
  private readonly hangs = new Set<(err: Error) => void>();
  private readonly faults = new FaultRegistry();
  private readonly throttler = new Throttler();
  private readonly logger: LoggerLike;
  private readonly rotation: RotationRunner;
  private readonly rotationFunctions = new Map<string, RotationFunction>();
  private rotationClient: SecretsManagerClient | undefined;
  private scheduler: ReturnType<typeof setInterval> | undefined;
  private clockOffset = 0;
  private counts: Record<string, number> = {};
  private total = 0;
  private throttledCount = 0;
  private listening = false;
  private closing: Promise<void> | undefined;
  private boundPort: number;

  /** @internal use {@link startEmulator} */
  constructor(private readonly options: EmulatorOptions = {}) {
    const scale = options.timeScale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`timeScale must be > 0, got ${scale}.`);
    const origin = Date.now();
    const now = () => origin + (Date.now() - origin) * scale + this.clockOffset;
    this.store = new SecretsModel(
      options.region ?? 'us-east-1',
      options.accountId ?? '123456789012',
      now,
      toMs(options.deletionDelay ?? '2s', 'deletionDelay'),
    );
    this.logger = options.logger || {};
    for (const [arn, fn] of Object.entries(options.rotationFunctions ?? {})) this.setRotationFunction(arn, fn);
    this.rotation = new RotationRunner({
      model: this.store,
      functions: this.rotationFunctions,
      windowMs: toMs(options.rotationWindow ?? 0, 'rotationWindow'),
      context: () => this.rotationContext(),
      warn: (m) => this.logger.warn?.(m),
      info: (m) => this.logger.info?.(m),
    });
    this.operations = new Operations(this.store, this.faults, this.rotation);
    this.parameters = new ParametersModel(this.store.region, this.store.accountId, now);
    this.ssm = new SsmOperations(this.parameters, this.store, this.operations, this.faults);
    this.boundPort = options.port ?? 0;
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.sockets = trackSockets(this.server);
    if (options.quotas) this.throttler.applyQuotas(options.quotas);
    if (options.seed !== undefined) this.seed(options.seed);
    if (options.parameters !== undefined) applyParameters(this.parameters, options.parameters);
  }

  /** Base URL, e.g. `http://127.0.0.1:4566`. */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.boundPort}`;
  }

  /** The bound port (stays the same across {@link pause}/{@link resume}). */
  get port(): number {
    return this.boundPort;
  }

  /** Region used in ARNs and in {@link clientConfig}. */
  get region(): string {
    return this.store.region;
  }

  private get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  /**
   * Config for the AWS SDK client, with dummy credentials.
   * @example new SecretsManagerClient({ ...emu.clientConfig(), maxAttempts: 2 })
   */
  clientConfig(): EmulatorClientConfig {
    return { region: this.region, endpoint: this.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  }

  /** Starts listening (on the same port when restarted). Resolves once bound. */
  async start(): Promise<void> {
    if (this.closing) throw new Error('The emulator is closed; start a new one with startEmulator().');
    if (this.listening) return;
    this.boundPort = await listen(this.server, this.boundPort, this.host);
    this.listening = true;
    // Scheduled rotations: checked on the emulator clock, like the service's own scheduler.
    this.scheduler ??= setInterval(() => this.runDueRotations(), 100).unref();
    this.logger.info?.(`Secrets Manager emulator listening on ${this.url}`);
  }

  /** Stops listening and drops every connection (clients get ECONNREFUSED). Alias of {@link pause}. */
  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.dropConnections('ECONNRESET');
    await closed;
    // Let in-process clients see the FIN, so their next request opens a new connection and
    // gets ECONNREFUSED (like a real outage) instead of writing to a dead pooled socket.
    await delay(25);
  }

  /** Simulates an outage: stops listening and drops connections. {@link resume} listens again on the same port. */
  pause(): Promise<void> {
    return this.stop();
  }

  /** Ends an outage started with {@link pause}. */
  resume(): Promise<void> {
    return this.start();
  }

  /** Closes the server and destroys open or hung sockets. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.scheduler) clearInterval(this.scheduler);
      this.rotation.close();
      await this.stop();
      this.rotationClient?.destroy();
    })();
    return this.closing;
  }

  // ---- rotation ------------------------------------------------------------------------------

  /** The emulator clock (epoch ms): real time × `timeScale`, plus {@link advanceClock}. */
  now(): number {
    return this.store.now();
  }

  /** Moves the emulator clock forward (e.g. `'30d'`), then starts the rotations that became due. */
  advanceClock(by: Duration): RotationRecord[] {
    this.clockOffset += toMs(by, 'advanceClock');
    return this.runDueRotations();
  }

  /**
   * Starts a rotation for every secret whose `NextRotationDate` has passed on the emulator clock
   * (an unfinished one is reattempted with its token). Returns the runs started.
   */
  runDueRotations(): RotationRecord[] {
    if (!this.listening) return [];
    const started: RotationRecord[] = [];
    const now = this.now();
    for (const secret of this.store.list()) {
      if (!secret.rotationEnabled || secret.deletedDate !== undefined || !secret.rotationLambdaArn) continue;
      if (secret.nextRotationDate === undefined || secret.nextRotationDate > now) continue;
      if (this.rotation.running(secret.arn)) continue;
      const pending = this.store.versionWithStage(secret, AWSPENDING);
      const token = pending && !pending.stages.has(AWSCURRENT) ? pending.versionId : randomUUID();
      this.store.addPlaceholder(secret, token, [AWSPENDING]);
      // AWS retries failed rotations; the next attempt is due again one schedule later unless it succeeds.
      if (secret.rotationRules) secret.nextRotationDate = nextRotationDate(secret.rotationRules, now);
      started.push(this.rotation.start(secret, token, secret.rotationLambdaArn, 'rotation', 'schedule'));
    }
    return started;
  }

  /** Registers (or replaces) the rotation function RotateSecret invokes for `lambdaArn`. */
  setRotationFunction(lambdaArn: string, fn: RotationFunction): void {
    if (typeof fn !== 'function') throw new TypeError(`The rotation function for ${lambdaArn} is not a function.`);
    this.rotationFunctions.set(lambdaArn, fn);
  }

  /** Every rotation run (and rotation test) so far, oldest first: state, completed steps, error. */
  rotations(): RotationRecord[] {
    return this.rotation.records();
  }

  /** Resolves once no rotation is running. */
  rotationsSettled(): Promise<void> {
    return this.rotation.settled();
  }

  private async rotationContext(): Promise<RotationContext> {
    if (!this.rotationClient) {
      const sdk = await import('@aws-sdk/client-secrets-manager');
      this.rotationClient = new sdk.SecretsManagerClient(this.clientConfig());
    }
    return { client: this.rotationClient, endpoint: this.url, region: this.region };
  }

  // ---- programmatic control ------------------------------------------------------------------

  /** Adds a version (creating the secret if missing); it becomes AWSCURRENT, the old one AWSPREVIOUS. */
  putSecret(id: string, value: SecretValue, opts: PutSecretOptions = {}): { versionId: string } {
    return { versionId: this.store.put(id, value, opts).version.versionId };
  }

  /** Rotates a secret: like {@link putSecret}; without `value`, derives a new one deterministically. */
  rotate(id: string, value?: SecretValue): { versionId: string } {
    if (value !== undefined) return this.putSecret(id, value);
    const secret = this.store.require(id);
    const n = secret.versions.size + 1;
    const current = [...secret.versions.values()].find((v) => v.stages.has(AWSCURRENT));
    return this.putSecret(id, deriveRotatedValue(current, n));
  }

  /** Schedules a secret for deletion, or removes it with `force`. */
  deleteSecret(id: string, opts: { force?: boolean; recoveryWindowInDays?: number } = {}): void {
    this.store.delete(id, opts);
  }

  /** Cancels a scheduled deletion. */
  restoreSecret(id: string): void {
    this.store.restore(id);
  }

  /**
   * Adds a parameter version (version 1 for a new name, else the next one), like PutParameter with
   * `Overwrite: true`. Returns the version number.
   */
  putParameter(name: string, value: string, opts: PutParameterOptions = {}): { version: number } {
    const existing = this.parameters.find(name);
    const put = this.parameters.put(name, value, {
      type: opts.type ?? (existing ? undefined : 'String'),
      overwrite: true,
      ...(opts.description !== undefined ? { description: opts.description } : {}),
    });
    if (opts.labels && opts.labels.length > 0) this.parameters.label(name, opts.labels, put.version);
    return { version: put.version };
  }

  /** Deletes a parameter and all its versions. */
  deleteParameter(name: string): void {
    this.parameters.delete(name);
  }

  /** Request counts per operation (Secrets Manager and SSM) since start or {@link resetCalls}. */
  calls(): CallCounts {
    const out: Record<string, number> = {};
    for (const op of [...OPERATIONS, ...SSM_OPERATIONS]) out[op] = 0;
    Object.assign(out, this.counts);
    return Object.assign(out, { total: this.total });
  }

  /** Zeroes {@link calls} and {@link throttled}. */
  resetCalls(): void {
    this.counts = {};
    this.total = 0;
    this.throttledCount = 0;
  }

  /** Number of ThrottlingException (or 429) responses sent, from token buckets or injected faults. */
  throttled(): number {
    return this.throttledCount;
  }

  /** Injects a fault; returns its id (for {@link clearFaults}). */
  injectFault(options: FaultOptions): string {
    return this.faults.add(options);
  }

  /** Removes one fault, or all. */
  clearFaults(id?: string): void {
    this.faults.clear(id);
  }

  /** Active faults. */
  activeFaults(): ActiveFault[] {
    return this.faults.list();
  }

  /**
   * Sets a token-bucket limit for one operation (`'*'` for all together); `limit` null removes
   * it; `setThrottle(null)` removes every limit, including quotas.
   */
  setThrottle(operation: string | null, limit?: ThrottleLimit | null): void {
    if (operation === null) this.throttler.clear();
    else this.throttler.set(operation, limit ?? null);
  }

  /** Applies AWS quotas (`'aws'`) or scaled ones. */
  setQuotas(quotas: 'aws' | QuotaConfig): void {
    this.throttler.applyQuotas(quotas);
  }

  /** Loads secrets from a seed object or JSON file path. */
  seed(seed: Seed | string): void {
    applySeed(this.store, seed, this.parameters);
  }

  /**
   * Runs one operation in process, through the same counting, throttling and faults as HTTP.
   * Resolves with the JSON response body; rejects with a {@link ServiceError}, or an error with
   * `code` ECONNREFUSED while paused.
   */
  async invoke(operation: string, input: Json = {}): Promise<Json> {
    if (!this.listening) throw connectionError('ECONNREFUSED', `connect ECONNREFUSED ${this.url} (emulator paused)`);
    const outcome = await this.process(operation, input);
    if (outcome.status >= 300) {
      const body = outcome.body as { __type?: string; Message?: string; message?: string };
      throw new ServiceError(body.__type ?? 'InternalFailure', body.Message ?? body.message, outcome.status);
    }
    return outcome.body;
  }

  // ---- request pipeline ----------------------------------------------------------------------

  private dropConnections(code: 'ECONNRESET'): void {
    for (const reject of this.hangs) reject(connectionError(code, 'socket hang up (emulator closed)'));
    this.hangs.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private async process(op: string, input: Json, service?: 'secretsmanager' | 'ssm'): Promise<Outcome> {
    const ssm = service === 'ssm' || (service === undefined && isSsmOperation(op));
    const outcome = await this.processFor(op, input, ssm);
    // SSM spells the error member `message` (Secrets Manager: `Message`).
    if (ssm && outcome.status >= 300 && 'Message' in outcome.body) {
      const { Message, ...rest } = outcome.body;
      return { status: outcome.status, body: { ...rest, message: Message } };
    }
    return outcome;
  }

  private async processFor(op: string, input: Json, ssm: boolean): Promise<Outcome> {
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    this.total += 1;
    if (!(ssm ? isSsmOperation(op) : (OPERATIONS as readonly string[]).includes(op))) {
      return errorOutcome(
        new ServiceError('UnknownOperationException', `Operation ${op} is not supported by @hush/emulator.`),
      );
    }
    if (!this.throttler.allow(op)) {
      this.throttledCount += 1;
      return errorOutcome(new ServiceError('ThrottlingException', 'Rate exceeded'));
    }
    const touches = ssm ? this.ssm.touches.bind(this.ssm) : this.operations.touches.bind(this.operations);
    const fault = this.faults.match(op, (sid) => touches(input, sid), { perSecret: false });
    if (fault) {
      this.logger.debug?.(`fault ${fault.fault.id} on ${op}`);
      if (fault.latencyMs > 0) await delay(fault.latencyMs);
      if (fault.hang) {
        await new Promise<never>((_resolve, reject) => this.hangs.add(reject));
      }
      if (fault.error) {
        if (fault.error.code === 'ThrottlingException' || fault.error.status === 429) this.throttledCount += 1;
        return errorOutcome(new ServiceError(fault.error.code, fault.error.message, fault.error.status));
      }
    }
    try {
      const body = ssm ? this.ssm.execute(op as SsmOperation, input) : this.operations.execute(op as Operation, input);
      return { status: 200, body: fault?.rewrite ? (fault.rewrite(body) as Json) : body };
    } catch (err) {
      if (err instanceof ServiceError) return errorOutcome(err);
      this.logger.error?.(`${op} failed: ${(err as Error).stack ?? String(err)}`);
      return errorOutcome(
        new ServiceError('InternalFailure', 'The request processing has failed because of an unknown error.'),
      );
    }
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // No Date header at all: a skewed one makes the SDK retry errors (AWS-FACTS §0.6).
    res.sendDate = false;
    try {
      const body = await readBody(req);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path.startsWith(CONTROL_PREFIX)) {
        handleControl(this, req, res, path, body);
        return;
      }
      if (req.method !== 'POST') {
        sendOutcome(res, {
          status: 405,
          body: { __type: 'UnknownOperationException', Message: 'Use POST / with X-Amz-Target.' },
        });
        return;
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      const service = target.startsWith(SSM_TARGET_PREFIX) ? 'ssm' : 'secretsmanager';
      const prefix = service === 'ssm' ? SSM_TARGET_PREFIX : TARGET_PREFIX;
      const op = target.startsWith(prefix) ? target.slice(prefix.length) : target || 'Unknown';
      let input: Json;
      try {
        input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Json);
        if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error('not an object');
      } catch {
        this.counts[op] = (this.counts[op] ?? 0) + 1;
        this.total += 1;
        sendOutcome(
          res,
          errorOutcome(new ServiceError('SerializationException', 'The request body is not a JSON object.')),
        );
        return;
      }
      const outcome = await this.process(op, input, service);
      this.logger.debug?.(`${op} -> ${outcome.status}`);
      sendOutcome(res, outcome);
    } catch (err) {
      if ((err as { code?: string }).code === 'ECONNRESET') return; // hung request dropped by pause/close
      if (!res.headersSent && !res.destroyed) {
        sendOutcome(res, errorOutcome(new ServiceError('InternalFailure', (err as Error).message)));
      }
    }
  }
}

/** A new value for a rotation without an explicit one: same shape, new password, deterministic. */
function deriveRotatedValue(current: StoredVersion | undefined, n: number): SecretValue {
  if (current?.secretBinary) return new Uint8Array(Buffer.concat([current.secretBinary, Buffer.from(`#${n}`)]));
  const text = current?.secretString ?? '';
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const obj = parsed as Json;
      if ('password' in obj) obj.password = `rotated-password-${n}`;
      else obj._rotation = n;
      return JSON.stringify(obj);
    }
  } catch {
    // not JSON: fall through to plain text
  }
  return `${text.replace(/#rotated-\d+$/, '')}#rotated-${n}`;
}

function errorOutcome(err: ServiceError): Outcome {
  return { status: err.status, body: err.toJSON() };
}

/**
 * Starts a Secrets Manager emulator and resolves once it listens.
 *
 * @example
 * const emu = await startEmulator({ seed: { 'prod/db': '{"password":"p"}' } });
 * const client = new SecretsManagerClient(emu.clientConfig());
 * // ...
 * await emu.close();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = new Emulator(options);
  await emulator.start();
  return emulator;
}

function sendOutcome(res: ServerResponse, outcome: Outcome): void {
  sendAwsJson(res, outcome.status, outcome.body);
}
