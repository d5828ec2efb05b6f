import { setMaxListeners } from 'node:events';
import { untilAborted } from './abort';
import { foreignCode } from './apply';
import type { Entry } from './refresh-state';
import type { ValueIndex } from './value-index';
import { nextDescribeAt, rotationPending } from './schedule';
import type { DescribeOutcome, SecretDescription } from './sources/source';
import type { ResolvedRotationSchedule, ResolvedStoreOptions } from './store-options';

/** @internal What the rotation schedule reads from the engine. */
export interface ScheduleHost {
  readonly config: ResolvedStoreOptions;
  readonly entries: readonly Entry[];
  /** Entries due within this window are described (and fetched) together. */
  readonly batchWindow: number;
  readonly closed: boolean;
  /** In-flight calls; the engine aborts them all when it stops. */
  readonly aborts: Set<AbortController>;
  /** Records that `entries` changed at the source (answered by a fetch). */
  recordChange(entries: readonly Entry[]): void;
  /** Every value of the store, for foreign text (a describe's error code) to be checked against. */
  readonly values: ValueIndex;
}

/**
 * @internal `rotationSchedule`: reads each id's rotation schedule with DescribeSecret and records
 * what it learned — the scheduled rotation's fetch time (`Entry.rotationAt`), a version that
 * already moved (a change), rechecks of a rotation that has not landed — as facts. When to describe
 * and when to fetch are derived from them (`schedule.ts`); nothing here sets a due time.
 */
export class RotationSchedule {
  private describing = false;
  private describeWarned = false;
  /** When the schedule was first read for this store (monotonic); undefined until `start()`. */
  private startedAt: number | undefined;

  constructor(private readonly host: ScheduleHost) {}

  /** Starts reading schedules after load (rotationSchedule only): every id not pinned to a version. */
  start(): void {
    const rs = this.host.config.rotationSchedule;
    if (!rs) return;
    if (!this.host.config.source.describe) {
      this.host.config.log.warn(
        `rotationSchedule: source "${this.host.config.source.kind}" cannot read rotation schedules (no DescribeSecret); ` +
          `secrets are polled every safetyInterval (${rs.safetyInterval} ms).`,
        { event: 'rotation-schedule-unavailable', source: this.host.config.source.kind },
      );
      return;
    }
    this.startedAt ??= this.host.config.clock.now();
  }

  /** When the next schedule read is due (Infinity when off, or while one is in flight). */
  nextAt(): number {
    const rs = this.host.config.rotationSchedule;
    if (!rs || this.startedAt === undefined || this.describing) return Infinity;
    let next = Infinity;
    for (const e of this.host.entries) {
      if (e.source === this.host.config.source) next = Math.min(next, nextDescribeAt(e, this.startedAt, rs));
    }
    return next;
  }

  /** One DescribeSecret round for the ids whose schedule is due, raced against `fetchTimeout`. */
  async describeDue(now: number): Promise<void> {
    const rs = this.host.config.rotationSchedule;
    const describe = this.host.config.source.describe;
    const startedAt = this.startedAt;
    if (!rs || !describe || startedAt === undefined || this.describing || this.host.closed) return;
    // Rotation schedules are the default source's (DescribeSecret); other sources' ids are polled.
    const source = this.host.config.source;
    const due = this.host.entries.filter(
      (e) => e.source === source && nextDescribeAt(e, startedAt, rs) <= now + this.host.batchWindow,
    );
    if (due.length === 0) return;
    this.describing = true;
    const abort = new AbortController();
    setMaxListeners(Infinity, abort.signal);
    this.host.aborts.add(abort);
    const timer = setTimeout(() => abort.abort(new Error('DescribeSecret deadline')), this.host.config.fetchTimeout);
    timer.unref();
    let outcomes: readonly DescribeOutcome[];
    try {
      // The deadline wins even when the source ignores the signal (a client wrapper that drops
      // abortSignal): a describe that never answers must not stop the schedule for good.
      outcomes = await untilAborted(
        describe.call(
          this.host.config.source,
          due.map((e) => e.request.id),
          {
            signal: abort.signal,
            force: false,
            reason: 'refresh',
            logger: this.host.config.log,
          },
        ),
        abort.signal,
      );
    } catch {
      outcomes = [];
    } finally {
      clearTimeout(timer);
      this.host.aborts.delete(abort);
      this.describing = false;
    }
    if (this.host.closed) return;
    const at = this.host.config.clock.now();
    const wall = this.host.config.clock.wallNow();
    let failed = 0;
    let code = '';
    const moved: Entry[] = [];
    due.forEach((entry, i) => {
      const o = Array.isArray(outcomes) ? (outcomes[i] as DescribeOutcome | undefined) : undefined;
      const first = entry.describedAt === undefined;
      entry.describedAt = at;
      if (!o?.ok) {
        failed++;
        code ||= o && !o.ok ? foreignCode(this.host.values, o.error?.awsCode) : 'NoResult';
        // A recheck that failed counts as one: its wait still doubles, and the rechecks still end
        // one safetyInterval after the fetch (a DescribeSecret that keeps failing is not read
        // every `delay` for good).
        if (entry.rechecks > 0) {
          const fetched = entry.rotationFetch;
          if (fetched !== undefined && at - fetched.at < rs.safetyInterval) entry.rechecks++;
          else {
            entry.rotationFetch = undefined;
            entry.rechecks = 0;
          }
        }
        return;
      }
      if (this.record(entry, o.description, at, wall, rs, first)) moved.push(entry);
    });
    if (moved.length > 0) this.host.recordChange(moved);
    if (failed > 0 && !this.describeWarned) {
      this.describeWarned = true;
      this.host.config.log.warn(
        `rotationSchedule: DescribeSecret failed for ${failed} secret(s) (${code}); they are polled every safetyInterval. ` +
          `Grant secretsmanager:DescribeSecret to use rotation schedules.`,
        { event: 'rotation-schedule-failed', code, failed },
      );
    }
  }

  /**
   * Records one description of `entry` (facts only). Returns whether the current version already
   * moved away from the one served (a rotation that ran early, or a change we missed): a change
   * the schedule answers with a fetch.
   */
  private record(
    entry: Entry,
    d: SecretDescription,
    at: number,
    wall: number,
    rs: ResolvedRotationSchedule,
    first: boolean,
  ): boolean {
    const moved =
      d.currentVersionId !== undefined &&
      entry.request.versionStage === undefined &&
      entry.versionId !== undefined &&
      d.currentVersionId !== entry.versionId &&
      !entry.slots.some((s) => s.failedVersion === d.currentVersionId);
    const next = d.rotationEnabled ? d.nextRotationDate?.getTime() : undefined;
    // The fetch after the scheduled rotation still found the old version: the rotation has not
    // started (NextRotationDate passed) or is under way (AWSPENDING on another version). Look
    // again (the recheck delay doubles) for one safety interval — a failed rotation can stay
    // overdue (and leave AWSPENDING behind) for good.
    const fetched = entry.rotationFetch;
    const waiting =
      fetched !== undefined &&
      !fetched.moved &&
      d.currentVersionId === entry.versionId &&
      at - fetched.at < rs.safetyInterval &&
      ((next !== undefined && Number.isFinite(next) && next <= wall) || d.rotationPending === true);
    if (waiting) {
      entry.rechecks++;
    } else {
      entry.rotationFetch = undefined;
      entry.rechecks = 0;
    }
    // The scheduled rotation this store knows of and no fetch has answered yet. A describe that
    // lands while that rotation runs already reports the date after it (the service moves
    // NextRotationDate when the rotation starts): it must not drop the fetch of the one under way.
    const known =
      !moved && rotationPending(entry, { batchWindow: this.host.batchWindow }) ? entry.rotationAt : undefined;
    let rotationAt: number | undefined;
    if (
      next !== undefined &&
      Number.isFinite(next) &&
      (next > wall || (wall - next < rs.safetyInterval && !waiting && !moved))
    ) {
      // Due in the future, or due just now (a describe that lands on the rotation time).
      rotationAt = at + Math.max(0, next - wall) + rs.delay + Math.random() * rs.jitter;
    }
    // A rotation already under way when the store first reads the schedule (AWSPENDING on
    // another version; the load read the version before it): its result is fetched after `delay`,
    // and the describe after that fetch rechecks until it lands. Only at the first read: a failed
    // rotation can leave AWSPENDING for good, and later reads leave that to the safety poll.
    if (first && d.rotationPending === true && !moved) {
      rotationAt = Math.min(rotationAt ?? Infinity, at + rs.delay + Math.random() * rs.jitter);
    }
    entry.rotationAt = known !== undefined && !(known >= (rotationAt ?? Infinity)) ? known : rotationAt;
    return moved;
  }
}
