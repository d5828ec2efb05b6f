import { setImmediate as realSetImmediate } from 'node:timers';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { delay } from './http';
import { AWSCURRENT, AWSPENDING, type SecretsModel, type StoredSecret } from './secrets-model';
import { nextRotationDate } from './schedule';

/** The four steps Secrets Manager invokes a rotation function with, in this order. */
export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

/** The steps, in the order they run. */
export const ROTATION_STEPS: readonly RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

/** The event a rotation Lambda receives (the real shape). */
export interface RotationEvent {
  /** The secret's ARN, as AWS sends it. */
  readonly SecretId: string;
  /** The id of the version being created (the RotateSecret `ClientRequestToken`). */
  readonly ClientRequestToken: string;
  readonly Step: RotationStep;
}

/** What a rotation function gets besides the event. */
export interface RotationContext {
  /** A SecretsManagerClient (SDK v3) pointed at this emulator, with test credentials — what a real rotation Lambda builds from its environment. */
  readonly client: SecretsManagerClient;
  readonly endpoint: string;
  readonly region: string;
}

/** A rotation function: one Lambda handler, called once per step. Throwing fails the rotation at that step. */
export type RotationFunction = (event: RotationEvent, context: RotationContext) => Promise<void> | void;

/** One rotation run (or rotation test), as {@link Emulator.rotations} reports it. */
export interface RotationRecord {
  /** The secret's ARN. */
  readonly secretId: string;
  readonly name: string;
  /** The ClientRequestToken = the id of the new version. */
  readonly token: string;
  readonly lambdaArn: string;
  /** `'rotation'`: all four steps; `'test'`: only testSecret (RotateSecret with RotateImmediately false). */
  readonly kind: 'rotation' | 'test';
  /** Why it started. */
  readonly trigger: 'RotateSecret' | 'schedule' | 'reattempt';
  state: 'running' | 'succeeded' | 'failed' | 'cancelled';
  /** Steps that completed, in order. */
  readonly steps: RotationStep[];
  /** The step running now, or the one that failed. */
  step?: RotationStep;
  /** `name: message` of the error a step threw (the rotation function's own text). */
  error?: string;
  /** Emulator clock, epoch ms. */
  readonly startedAt: number;
  finishedAt?: number;
  /** Settles when the run ends (never rejects). */
  readonly done: Promise<void>;
}

/** A record as JSON (without its `done` promise), for the control API. */
export function rotationJson(record: RotationRecord): Record<string, unknown> {
  const { done: _done, ...rest } = record;
  return { ...rest, steps: [...record.steps] };
}

/** What the runner needs from the emulator. */
export interface RotationHost {
  readonly model: SecretsModel;
  readonly functions: Map<string, RotationFunction>;
  /** Pause after setSecret, before testSecret and finishSecret, in real ms. */
  readonly windowMs: number;
  context(): Promise<RotationContext>;
  warn(message: string): void;
  info(message: string): void;
}

/**
 * Runs rotation functions the way Secrets Manager does: asynchronously after RotateSecret
 * returns, the four steps in order, stopping at the first step that throws (AWSPENDING stays where
 * the function left it, AWSCURRENT does not move).
 */
export class RotationRunner {
  private readonly all: RotationRecord[] = [];
  private readonly active = new Map<string, RotationRecord>();
  private closed = false;

  constructor(private readonly host: RotationHost) {}

  /** Whether a function is registered for this Lambda ARN. */
  has(lambdaArn: string): boolean {
    return this.host.functions.has(lambdaArn);
  }

  /** The run in progress for a secret (by ARN), if any. */
  running(secretArn: string): RotationRecord | undefined {
    return this.active.get(secretArn);
  }

  /** Every run so far, oldest first. */
  records(): RotationRecord[] {
    return [...this.all];
  }

  /** Resolves once no run is in progress. */
  async settled(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active.values()].map((r) => r.done));
  }

  /** Stops before the next step of every run (the current step of a function cannot be interrupted). */
  cancel(secretArn: string): RotationRecord | undefined {
    const record = this.active.get(secretArn);
    if (record) record.state = 'cancelled';
    return record;
  }

  /** Cancels every run; later starts are refused. */
  close(): void {
    this.closed = true;
    for (const record of this.active.values()) record.state = 'cancelled';
  }

  /** Starts a run on the next turn of the event loop and returns its record. */
  start(
    secret: StoredSecret,
    token: string,
    lambdaArn: string,
    kind: RotationRecord['kind'],
    trigger: RotationRecord['trigger'],
  ): RotationRecord {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const record: RotationRecord = {
      secretId: secret.arn,
      name: secret.name,
      token,
      lambdaArn,
      kind,
      trigger,
      state: 'running',
      steps: [],
      startedAt: this.host.model.now(),
      done,
    };
    this.all.push(record);
    this.active.set(secret.arn, record);
    realSetImmediate(() => {
      void this.run(secret, record).finally(() => {
        record.finishedAt = this.host.model.now();
        if (this.active.get(secret.arn) === record) this.active.delete(secret.arn);
        finish();
      });
    });
    return record;
  }

  private async run(secret: StoredSecret, record: RotationRecord): Promise<void> {
    const fn = this.host.functions.get(record.lambdaArn);
    const steps: readonly RotationStep[] = record.kind === 'test' ? ['testSecret'] : ROTATION_STEPS;
    try {
      if (!fn) throw new Error(`No rotation function is registered for ${record.lambdaArn}.`);
      const context = await this.host.context();
      for (const step of steps) {
        if (record.state !== 'running' || this.closed) {
          record.state = 'cancelled';
          return;
        }
        record.step = step;
        await fn({ SecretId: secret.arn, ClientRequestToken: record.token, Step: step }, context);
        record.steps.push(step);
        if (step === 'setSecret' && this.host.windowMs > 0) await delay(this.host.windowMs);
      }
      delete record.step;
      if (record.kind === 'rotation') {
        if (!secret.versions.get(record.token)?.stages.has(AWSCURRENT)) {
          record.step = 'finishSecret';
          throw new Error(
            `finishSecret returned but AWSCURRENT is not on version ${record.token}; the rotation did not finish.`,
          );
        }
        const now = this.host.model.now();
        secret.lastRotatedDate = now;
        if (secret.rotationRules) secret.nextRotationDate = nextRotationDate(secret.rotationRules, now);
      }
      record.state = 'succeeded';
      this.host.info(`rotation of ${secret.name} (${record.token}) succeeded`);
    } catch (err) {
      if (record.state === 'running') record.state = 'failed';
      const e = err as { name?: unknown; message?: unknown };
      record.error = `${typeof e?.name === 'string' ? e.name : 'Error'}: ${typeof e?.message === 'string' ? e.message : String(err)}`;
      // The function's message is its own text and may quote values: keep it in the record, not the log.
      this.host.warn(
        `rotation of ${secret.name} (${record.token}) failed at ${record.step ?? 'start'}; the error is in GET /_emulator/rotations (emu.rotations())`,
      );
    } finally {
      if (record.kind === 'test') {
        // "The test creates an AWSPENDING version of the secret and then removes it."
        const version = secret.versions.get(record.token);
        if (version?.stages.has(AWSPENDING) && !version.stages.has(AWSCURRENT)) version.stages.delete(AWSPENDING);
        this.host.model.dropPlaceholder(secret, record.token);
      }
    }
  }
}
