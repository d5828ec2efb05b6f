/**
 * The simulated outside world: a Secrets Manager account (secrets, versions, staging labels,
 * rotation schedules) and the faults of the network in front of it. The AWS source reaches it
 * through {@link simRequestHandler}, an SDK request handler, so the real SDK client (serialisation,
 * signing, retries, error parsing) runs on every call.
 */
import type { Rng } from './rng';
import { randomText } from './rng';

export type ValueKind = 'string' | 'json' | 'binary';

export interface Version {
  readonly versionId: string;
  readonly value: string | Uint8Array;
  /** When it became AWSCURRENT (0: never yet), in the world's order: a reader never goes back in it. */
  rank: number;
  readonly createdAt: number;
  readonly stages: Set<string>;
}

export interface WorldSecret {
  readonly id: string;
  readonly kind: ValueKind;
  readonly versions: Version[];
  rotation: { enabled: boolean; next: number | undefined; periodMs: number; lagMs: number; failing: boolean };
}

export type FaultKind =
  | 'throttle'
  | 'server-error'
  | 'hang'
  | 'hang-deaf'
  | 'describe-hang-deaf'
  | 'describe-throttle'
  | 'per-id-error'
  | 'per-id-code-echo'
  | 'batch-error-echo'
  | 'error-echo';

export interface Fault {
  readonly kind: FaultKind;
  /** An id, or '*' for every id. */
  readonly id: string;
  /** Virtual ms (monotonic) at which the fault ends. */
  readonly until: number;
}

export const ENCODINGS = ['raw', 'base64', 'hex', 'fragment', 'json', 'base64url'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** `value` as a foreign message may carry it. */
export function encodeEcho(value: string | Uint8Array, encoding: Encoding, rng: Rng): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const text = typeof value === 'string' ? value : bytes.toString('base64');
  switch (encoding) {
    case 'raw':
      return text;
    case 'base64':
      return bytes.toString('base64');
    case 'base64url':
      return bytes.toString('base64url');
    case 'hex':
      return bytes.toString('hex');
    case 'json':
      return JSON.stringify(text);
    case 'fragment': {
      const chars = [...text];
      const len = Math.min(chars.length, rng.int(8, 16));
      const at = rng.int(0, chars.length - len);
      return chars.slice(at, at + len).join('');
    }
  }
}

export const ACCOUNT_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:';

export class World {
  readonly secrets = new Map<string, WorldSecret>();
  faults: Fault[] = [];
  private rank = 0;
  private created = 0;
  /** Every version by id, for reading a served value back to its version. */
  readonly byVersionId = new Map<string, { id: string; version: Version }>();
  /** Mirrors of the world (memory sources), told of every new AWSCURRENT. */
  readonly mirrors: ((id: string, version: Version) => void)[] = [];

  constructor(
    private readonly rng: Rng,
    /** Virtual wall clock (ms since epoch). */
    readonly wallNow: () => number,
    /** Virtual monotonic clock (ms). */
    readonly now: () => number,
  ) {}

  add(id: string, kind: ValueKind): void {
    this.secrets.set(id, {
      id,
      kind,
      versions: [],
      rotation: { enabled: false, next: undefined, periodMs: 0, lagMs: 0, failing: false },
    });
    this.put(id);
  }

  private newValue(kind: ValueKind): string | Uint8Array {
    const rng = this.rng;
    if (kind === 'binary') {
      const bytes = new Uint8Array(rng.int(12, 40));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(0, 255);
      return bytes;
    }
    const text = randomText(rng, rng.int(10, 40));
    return kind === 'json' ? JSON.stringify({ user: `u-${rng.int(0, 1e6)}`, pw: text }) : text;
  }

  private newVersion(id: string, stages: string[]): Version {
    const secret = this.secrets.get(id)!;
    const version: Version = {
      versionId: `v${++this.created}-${id}`,
      value: this.newValue(secret.kind),
      rank: stages.includes('AWSCURRENT') ? ++this.rank : 0,
      createdAt: this.wallNow(),
      stages: new Set(stages),
    };
    secret.versions.push(version);
    this.byVersionId.set(version.versionId, { id, version });
    return version;
  }

  /** PutSecretValue: a new AWSCURRENT, the old one AWSPREVIOUS. */
  put(id: string): void {
    const secret = this.secrets.get(id)!;
    for (const v of secret.versions) {
      v.stages.delete('AWSPREVIOUS');
      if (v.stages.delete('AWSCURRENT')) v.stages.add('AWSPREVIOUS');
    }
    const version = this.newVersion(id, ['AWSCURRENT']);
    for (const mirror of this.mirrors) mirror(id, version);
  }

  /** A rotation's createSecret step: a version labelled AWSPENDING only. */
  startPending(id: string): void {
    const secret = this.secrets.get(id)!;
    if (secret.versions.some((v) => v.stages.has('AWSPENDING'))) return;
    this.newVersion(id, ['AWSPENDING']);
  }

  /** A rotation's finishSecret step: AWSPENDING becomes AWSCURRENT. */
  finishPending(id: string): void {
    const secret = this.secrets.get(id)!;
    const pending = secret.versions.find((v) => v.stages.has('AWSPENDING') && !v.stages.has('AWSCURRENT'));
    if (!pending) return;
    for (const v of secret.versions) {
      v.stages.delete('AWSPREVIOUS');
      if (v.stages.delete('AWSCURRENT')) v.stages.add('AWSPREVIOUS');
    }
    pending.stages.delete('AWSPENDING');
    pending.stages.add('AWSCURRENT');
    pending.rank = ++this.rank;
    for (const mirror of this.mirrors) mirror(id, pending);
  }

  current(id: string): Version | undefined {
    return this.secrets.get(id)?.versions.find((v) => v.stages.has('AWSCURRENT'));
  }

  /** Runs the scheduled rotations that are due (wall clock). */
  runSchedules(): void {
    const wall = this.wallNow();
    for (const secret of this.secrets.values()) {
      const r = secret.rotation;
      if (!r.enabled || r.next === undefined || wall < r.next + r.lagMs || r.failing) continue;
      if (secret.versions.some((v) => v.stages.has('AWSPENDING'))) this.finishPending(secret.id);
      else this.put(secret.id);
      r.next += r.periodMs;
    }
  }

  active(kind: FaultKind, ids: readonly string[]): Fault | undefined {
    const now = this.now();
    return this.faults.find((f) => f.kind === kind && f.until > now && (f.id === '*' || ids.includes(f.id)));
  }

  pruneFaults(): void {
    const now = this.now();
    this.faults = this.faults.filter((f) => f.until > now);
  }
}
