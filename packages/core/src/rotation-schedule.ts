import { setMaxListeners } from 'node:events';
import type { Entry } from './refresh-state';
import type { DescribeOutcome } from './sources/source';
import type { ResolvedStoreOptions } from './store-options';

/** @internal What the rotation schedule reads from the engine. */
export interface ScheduleHost {
  readonly config: ResolvedStoreOptions;
  readonly entries: readonly Entry[];
  /** Entries due within this window are described (and fetched) together. */
  readonly batchWindow: number;
  readonly closed: boolean;
  /** In-flight calls; the engine aborts them all when it stops. */
  readonly aborts: Set<AbortController>;
}

/**
 * @internal `rotationSchedule`: reads each id's rotation schedule with DescribeSecret and sets
 * when to fetch after its next rotation (`Entry.rotationAt`), when to describe again
 * (`Entry.describeAt`) and the rechecks of a rotation that has not landed yet. The engine's timer
 * calls {@link RotationSchedule.describeDue}; the fetch itself stays the engine's.
 */
export class RotationSchedule {
  private describing = false;
  private describeWarned = false;

  constructor(private readonly host: ScheduleHost) {}

  /** Arms the first schedule read after load (rotationSchedule only): every id not pinned to a version. */
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
    const now = this.host.config.clock.now();
    for (const entry of this.host.entries) if (entry.request.versionId === undefined) entry.describeAt = now;
  }

  /** One DescribeSecret round for the ids whose schedule is due; sets each one's post-rotation fetch time. */
  async describeDue(now: number): Promise<void> {
    const rs = this.host.config.rotationSchedule;
    const describe = this.host.config.source.describe;
    if (!rs || !describe || this.describing) return;
    const due = this.host.entries.filter(
      (e) => e.describeAt !== undefined && e.describeAt <= now + this.host.batchWindow,
    );
    if (due.length === 0) return;
    this.describing = true;
    const abort = new AbortController();
    setMaxListeners(Infinity, abort.signal);
    this.host.aborts.add(abort);
    const timer = setTimeout(() => abort.abort(), this.host.config.fetchTimeout);
    timer.unref();
    let outcomes: readonly DescribeOutcome[];
    try {
      outcomes = await describe.call(
        this.host.config.source,
        due.map((e) => e.request.id),
        { signal: abort.signal, force: false, reason: 'refresh', logger: this.host.config.log },
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
    due.forEach((entry, i) => {
      const o = outcomes[i];
      entry.describeAt = at + rs.describeInterval;
      if (!o?.ok) {
        failed++;
        code ||= o ? o.error.awsCode : 'NoResult';
        return;
      }
      const d = o.description;
      const moved =
        d.currentVersionId !== undefined &&
        entry.request.versionStage === undefined &&
        entry.versionId !== undefined &&
        d.currentVersionId !== entry.versionId;
      // The version already moved (a rotation that ran early, or a change we missed): fetch now.
      if (moved) entry.dueAt = at;
      const next = d.rotationEnabled ? d.nextRotationDate?.getTime() : undefined;
      // The fetch after the scheduled rotation still found the old version: the rotation has not
      // started (NextRotationDate passed) or is under way (AWSPENDING on another version). Look
      // again after delay, doubling, for one safety interval — a failed rotation can stay overdue
      // (and leave AWSPENDING behind) for good.
      const waiting =
        entry.rotationFetchedAt !== undefined &&
        d.currentVersionId === entry.versionId &&
        at - entry.rotationFetchedAt < rs.safetyInterval &&
        ((next !== undefined && next <= wall) || d.rotationPending === true);
      if (waiting) {
        entry.describeAt = at + Math.max(rs.delay, 1_000) * 2 ** Math.min(entry.rechecks++, 6);
      } else {
        entry.rotationFetchedAt = undefined;
        entry.rechecks = 0;
      }
      if (next !== undefined && (next > wall || (wall - next < rs.safetyInterval && !waiting && !moved))) {
        // Due in the future, or due just now (a describe that lands on the rotation time).
        entry.rotationAt = at + Math.max(0, next - wall) + rs.delay + Math.random() * rs.jitter;
        entry.dueAt = Math.min(entry.dueAt, entry.rotationAt);
      } else {
        entry.rotationAt = undefined;
      }
    });
    if (failed > 0 && !this.describeWarned) {
      this.describeWarned = true;
      this.host.config.log.warn(
        `rotationSchedule: DescribeSecret failed for ${failed} secret(s) (${code}); they are polled every safetyInterval. ` +
          `Grant secretsmanager:DescribeSecret to use rotation schedules.`,
        { event: 'rotation-schedule-failed', code, failed },
      );
    }
  }
}
