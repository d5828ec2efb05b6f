import { createHmac, randomBytes } from 'node:crypto';
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { lstat, open, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { SecretFetchError, SecretsConfigError } from '../errors';
import { checkKnownKeys, parseDuration, type Duration } from '../validation';
import { boundedFs } from './bounded-fs';
import {
  SourceCounters,
  mapConcurrent,
  type ChangeListener,
  type CurrentVersion,
  type FetchContext,
  type FetchOutcome,
  type RawSecret,
  type SecretRequest,
  type Source,
  type SourceStats,
} from './source';

/** Options of {@link mountedFiles}. */
export interface MountedFilesOptions {
  /** The mount directory, e.g. `/mnt/secrets-store` (CSI) or `/etc/secrets` (Secret volume). */
  dir: string;
  /**
   * Polling interval for change detection, used alongside `fs.watch` (which misses changes on some
   * filesystems and in sub-directories). `false` disables polling.
   * @default '2s'
   */
  pollInterval?: Duration | false;
  /** Watch the directory with `fs.watch` for immediate change detection. @default true */
  watch?: boolean;
  /**
   * A file modified less than this long ago is not read yet: a writer that writes in place is
   * given this long to finish, so a half-written file is never served.
   * @default '100ms'
   */
  settle?: Duration;
  /**
   * The AWS CSI provider's `pathTranslation` as set on the `SecretProviderClass`: the character
   * every `/` of an `objectName` (or `objectAlias`) becomes in the file name (a leading `/` too:
   * `/prod/db` → `_prod_db`). `false` (the provider's `"False"`) keeps nested paths and strips a
   * leading `/`. With a character, an id with `/` is also looked up as a nested path first.
   * @default '_'
   */
  pathTranslation?: string | false;
  /**
   * Maps a declared id to its file name, replacing the `pathTranslation` rule — for layouts that
   * rename keys, e.g. External Secrets Operator's `conversionStrategy` ({@link externalSecretsKey}).
   * The result must be a relative path inside `dir`.
   * @example mountedFiles({ dir: '/etc/secrets', fileName: (id) => externalSecretsKey(id) })
   */
  fileName?: (id: string) => string;
}

const OPTION_KEYS = ['dir', 'pollInterval', 'watch', 'settle', 'pathTranslation', 'fileName'];
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_READ_TRIES = 8;
/**
 * The shortest quiet time before a file is read, whatever `settle` is. File timestamps come from
 * the kernel's coarse clock (one tick, 1–10 ms, behind), so a file modified less than a few ticks
 * ago may still be mid-write with an unchanged mtime; and an in-place writer preempted between two
 * of its writes (tens of milliseconds on a busy node) leaves a prefix that looks quiet. 50 ms
 * covers both in practice, and costs nothing that matters for a file that changes on rotation.
 */
export const MIN_QUIET_MS = 50;
const utf8 = new TextDecoder('utf-8', { fatal: true });

interface FileRead {
  readonly bytes: Buffer;
  readonly mtimeMs: number;
  readonly file: string;
}

/**
 * Reads secrets from files written by the Secrets Store CSI driver (one file per object, named by
 * `objectAlias`, or by `objectName` with `/` translated to `_`) or by a Kubernetes Secret volume
 * fed by External Secrets Operator (keys behind a `..data` symlink the kubelet swaps atomically).
 * A declaration's `id` names the file, relative to `dir`.
 *
 * Changes are detected with `fs.watch` plus polling, and go through the store exactly like an API
 * refresh: parsed as declared, validated, swapped, with the same `rotated` events and health. The
 * version id is a keyed hash of the content (HMAC-SHA-256 with a random per-process key): an
 * unchanged file never looks rotated, and the id reveals nothing about the value.
 *
 * A file is served only once it is stable: not modified within `settle`, and the same size and
 * modification time before and after the read. A missing file fails with the non-retryable code
 * `FileNotFound` (after one re-check `settle` later, which rides out writers that delete and
 * recreate); the last good value keeps being served, and the watcher picks the file up again as
 * soon as it reappears.
 *
 * Files have no SecretString/SecretBinary distinction: UTF-8 content is offered as both, so the
 * declared `format` decides; other bytes only as binary.
 *
 * @example
 * new SecretStore(defineSecrets({ db: { id: 'db-credentials', format: 'json' } }), {
 *   source: mountedFiles({ dir: '/mnt/secrets-store' }),
 * });
 */
export function mountedFiles(options: MountedFilesOptions): MountedFilesSource {
  return new MountedFilesSource(options);
}

export class MountedFilesSource implements Source {
  readonly kind = 'mounted-files';
  readonly dir: string;
  /** {@link dir}, for the store's log lines. */
  readonly location: string;
  private readonly pollInterval: number;
  private readonly useWatch: boolean;
  private readonly settle: number;
  private readonly translate: string | false;
  private readonly fileName: ((id: string) => string) | undefined;
  /** `settle`, but never below {@link MIN_QUIET_MS}. */
  private readonly quiet: number;
  private readonly counters = new SourceCounters();
  /** id → content hash last served or last reported to the listener ('missing' when absent). */
  private readonly seen = new Map<string, string>();
  private readonly stops = new Set<() => void>();
  private closed = false;

  constructor(options: MountedFilesOptions) {
    if (!options || typeof options !== 'object' || typeof options.dir !== 'string' || options.dir.trim() === '') {
      throw new SecretsConfigError(
        'mountedFiles.dir',
        'a directory is required, e.g. mountedFiles({ dir: "/mnt/secrets-store" }).',
      );
    }
    checkKnownKeys(options, OPTION_KEYS, 'mountedFiles');
    this.dir = path.resolve(options.dir);
    this.location = this.dir;
    const poll = options.pollInterval ?? 2_000;
    this.pollInterval = poll === false ? 0 : parseDuration(poll, 'mountedFiles.pollInterval', { allowZero: true });
    this.useWatch = options.watch ?? true;
    this.settle = parseDuration(options.settle ?? 100, 'mountedFiles.settle', { allowZero: true });
    const translate = options.pathTranslation ?? '_';
    if (
      translate !== false &&
      (typeof translate !== 'string' || [...translate].length !== 1 || /[\\/\0.]/.test(translate))
    ) {
      throw new SecretsConfigError(
        'mountedFiles.pathTranslation',
        `expected one character (the SecretProviderClass pathTranslation, default "_") or false, got ${JSON.stringify(translate)}.`,
      );
    }
    this.translate = translate;
    if (options.fileName !== undefined && typeof options.fileName !== 'function') {
      throw new SecretsConfigError('mountedFiles.fileName', 'expected a function (id) => file name.');
    }
    this.fileName = options.fileName;
    this.quiet = Math.max(this.settle, MIN_QUIET_MS);
    // Neither fs.watch nor polling: this source watches nothing, so it offers no `watch` (a store
    // reads a source with `watch` as keeping its secrets fresh, and reports them stale otherwise).
    if (!this.useWatch && this.pollInterval === 0) Object.defineProperty(this, 'watch', { value: undefined });
  }

  stats(): SourceStats {
    return this.counters.snapshot();
  }

  fetch(requests: readonly SecretRequest[], context: FetchContext): Promise<readonly FetchOutcome[]> {
    return mapConcurrent(requests, 8, async (request): Promise<FetchOutcome> => {
      const id = request.id;
      if (request.versionId || (request.versionStage && request.versionStage !== 'AWSCURRENT')) {
        this.counters.record('ReadFile', 1, 'UnsupportedVersionRequest');
        return failure(
          id,
          'UnsupportedVersionRequest',
          'mountedFiles serves only the mounted (current) value; a pinned versionId/versionStage needs awsSecretsManager() or secretsManagerAgent(), or mount that version under its own objectAlias.',
          false,
        );
      }
      const candidates = this.candidates(id);
      if (typeof candidates === 'string') {
        this.counters.record('ReadFile', 1, 'InvalidSecretPath');
        return failure(id, 'InvalidSecretPath', candidates, false);
      }
      try {
        const read = await this.readStable(candidates, context.signal);
        if (read === undefined) {
          this.seen.set(id, 'missing');
          this.counters.record('ReadFile', 1, 'FileNotFound');
          return failure(
            id,
            'FileNotFound',
            `no file ${candidates.map((c) => JSON.stringify(path.relative(this.dir, c))).join(' or ')} in ${this.dir}; ` +
              'check the objectAlias (CSI) or the Secret key (External Secrets Operator) matches the declared id.',
            false,
          );
        }
        const secret = toRaw(read);
        this.seen.set(id, secret.versionId);
        this.counters.record('ReadFile', 1, 'ok');
        return { ok: true, secret };
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'UnknownError';
        const retryable =
          code === 'FileUnstable' || code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'EIO';
        this.counters.record('ReadFile', 1, code);
        const why =
          code === 'FileUnstable'
            ? 'the file kept changing while it was read; it will be read again'
            : code === 'EACCES' || code === 'EPERM'
              ? await this.permissionHint()
              : code === 'TooLarge'
                ? `the file is larger than ${MAX_FILE_BYTES} bytes`
                : code === 'EISDIR'
                  ? 'the path is a directory, not a file'
                  : code === 'NotARegularFile'
                    ? 'the path is not a regular file (a FIFO, socket or device is never opened: it could block forever)'
                    : 'the file could not be read';
        return failure(
          id,
          code,
          `${why} (${path.relative(this.dir, candidates[0]!)} in ${this.dir}).`,
          retryable,
          error,
        );
      }
    });
  }

  /**
   * Calls `listener(ids)` when files of ids fetched before may have changed: on `fs.watch` events
   * (the kubelet's `..data` swap is a rename in `dir`) and every `pollInterval`.
   */
  watch(listener: ChangeListener): () => void {
    if (this.closed) return () => undefined;
    let scanning = false;
    let again = false;
    let debounce: NodeJS.Timeout | undefined;
    let stopped = false;
    // What this watcher last reported for ids that have no version (missing, unreadable): such a
    // state is reported once, when it appears. Versions are reported on every scan, and each store
    // compares them with what it serves — so stores sharing this source each see every change
    // (the source's own `seen` only says which ids to look at, whichever store fetched them).
    const reported = new Map<string, string>();
    for (const [id, state] of this.seen) if (!isVersion(state)) reported.set(id, state);
    const scan = async (): Promise<void> => {
      if (stopped) return;
      if (scanning) return void (again = true);
      scanning = true;
      try {
        const changed: string[] = [];
        const current: CurrentVersion[] = [];
        let unsettled = false;
        for (const id of [...this.seen.keys()]) {
          const candidates = this.candidates(id);
          if (typeof candidates === 'string') continue;
          const state = await this.fingerprint(candidates);
          if (state === 'unsettled') {
            unsettled = true;
          } else if (isVersion(state)) {
            reported.delete(id);
            current.push({ id, versionId: state });
          } else if (reported.get(id) !== state) {
            reported.set(id, state);
            changed.push(id);
          }
        }
        if (!stopped && (changed.length > 0 || current.length > 0)) listener(changed, current);
        // Look again once the file can have been quiet for the floor (`quiet`, never less than 50 ms):
        // with `settle: 0` a re-check every tick would spin ~1,000 scans a second while it is written.
        if (unsettled) schedule(this.quiet);
      } catch {
        // A scan is best effort; the next event or poll tries again.
      } finally {
        scanning = false;
        if (again && !stopped) {
          again = false;
          void scan();
        }
      }
    };
    const schedule = (delay: number): void => {
      if (stopped || debounce) return;
      debounce = setTimeout(() => {
        debounce = undefined;
        void scan();
      }, delay);
      debounce.unref();
    };

    let watcher: FSWatcher | undefined;
    if (this.useWatch) {
      try {
        watcher = fsWatch(this.dir, { persistent: false }, () => schedule(Math.min(this.settle, 20)));
        watcher.on('error', () => {
          // Polling keeps working (e.g. the directory was unmounted and mounted again).
          watcher?.close();
          watcher = undefined;
        });
      } catch {
        watcher = undefined;
      }
    }
    const poll = this.pollInterval > 0 ? setInterval(() => void scan(), this.pollInterval) : undefined;
    poll?.unref();
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      watcher?.close();
      if (poll) clearInterval(poll);
      if (debounce) clearTimeout(debounce);
      this.stops.delete(stop);
    };
    this.stops.add(stop);
    return stop;
  }

  close(): void {
    this.closed = true;
    for (const stop of [...this.stops]) stop();
  }

  toString(): string {
    return `MountedFilesSource(${this.dir})`;
  }

  /**
   * Why a read was denied, for the layout at hand: a Kubernetes Secret volume (a `..data` link)
   * takes `defaultMode` / `fsGroup`; CSI files are owned by root with the driver's
   * `filePermission` (default 0644) and ignore `fsGroup` (secrets-store-csi-driver#858).
   */
  private async permissionHint(): Promise<string> {
    const secretVolume = await lstat(path.join(this.dir, '..data')).then(
      () => true,
      () => false,
    );
    return secretVolume
      ? 'permission denied; the process user cannot read the mounted file (Secret volume: set defaultMode, or fsGroup to a group of this process)'
      : 'permission denied; the process user cannot read the mounted file. CSI files are owned by root and ignore fsGroup: ' +
          'set filePermission on the SecretProviderClass object (default 0644), or run as root';
  }

  /** The files an id may name, or a message explaining why the id is not a safe relative path. */
  private candidates(id: string): string[] | string {
    let names: string[];
    if (this.fileName) {
      let name: unknown;
      try {
        name = this.fileName(id);
      } catch {
        return 'the fileName option threw for this id.';
      }
      if (typeof name !== 'string' || name === '') return 'the fileName option must return a non-empty file name.';
      names = [name];
    } else if (this.translate === false) {
      // pathTranslation "False": the provider strips a leading "/" and keeps nested paths.
      names = [id.replace(/^\/+/, '')];
    } else {
      // The AWS CSI provider replaces every "/" of objectName/objectAlias (pathTranslation, default "_").
      names = id.includes('/') ? [id, id.replaceAll('/', this.translate)] : [id];
      if (path.isAbsolute(id)) names.shift();
    }
    const files: string[] = [];
    for (const name of names) {
      if (name.includes('\0') || path.isAbsolute(name) || name.split(/[\\/]/).includes('..')) {
        return `the id must name a file relative to ${this.dir} (no absolute paths, no ".."); use the objectAlias or Secret key as the id.`;
      }
      const file = path.join(this.dir, name);
      if (!file.startsWith(this.dir + path.sep)) return `the id does not name a file inside ${this.dir}.`;
      files.push(file);
    }
    return files;
  }

  /** Reads the first existing candidate once it is stable; `undefined` when none exists (after one re-check). */
  private async readStable(candidates: readonly string[], signal: AbortSignal): Promise<FileRead | undefined> {
    for (let recheck = 0; recheck < 2; recheck++) {
      for (const file of candidates) {
        const read = await this.readFileStable(file, signal);
        if (read) return read;
      }
      if (this.settle > 0 && recheck === 0) await sleep(this.settle, signal);
    }
    return undefined;
  }

  private async readFileStable(file: string, signal: AbortSignal): Promise<FileRead | undefined> {
    for (let attempt = 0; attempt < MAX_READ_TRIES; attempt++) {
      let before;
      try {
        before = await boundedFs(() => stat(file), signal);
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') return undefined;
        throw error;
      }
      if (before.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
      if (!before.isFile()) throw notRegular();
      if (before.size > MAX_FILE_BYTES) throw Object.assign(new Error('too large'), { code: 'TooLarge' });
      const age = Date.now() - Math.max(before.mtimeMs, before.ctimeMs);
      if (age >= 0 && age < this.quiet) {
        await sleep(this.quiet - age + 1, signal);
        continue;
      }
      // An in-place writer truncates first, and on a busy disk the truncate alone can take tens of
      // milliseconds with the mtime already set: an empty file is one being written (no secret is
      // empty), so it is read again, not served.
      if (before.size === 0) {
        await sleep(Math.max(5, Math.min(this.quiet, 50)), signal);
        continue;
      }
      let bytes: Buffer;
      let after;
      try {
        bytes = await boundedFs(() => readRegularFile(file), signal);
        after = await boundedFs(() => stat(file), signal);
      } catch (error) {
        // The kubelet removed the old timestamped directory between our stat and read: read again.
        if ((error as { code?: string }).code === 'ENOENT') continue;
        throw error;
      }
      if (
        before.ino === after.ino &&
        before.size === after.size &&
        before.mtimeMs === after.mtimeMs &&
        before.ctimeMs === after.ctimeMs &&
        bytes.length === after.size
      ) {
        return { bytes, mtimeMs: after.mtimeMs, file };
      }
      await sleep(Math.max(5, Math.min(this.settle, 50)), signal);
    }
    throw Object.assign(new Error('file kept changing'), { code: 'FileUnstable' });
  }

  /**
   * Content hash (the version id) of an id's file, 'missing', 'unsettled' while it is being
   * written, or `invalid:…` / `error:…` when it cannot be read.
   */
  private async fingerprint(candidates: readonly string[]): Promise<string> {
    for (const file of candidates) {
      try {
        const st = await boundedFs(() => stat(file));
        const age = Date.now() - Math.max(st.mtimeMs, st.ctimeMs);
        if (age >= 0 && age < this.quiet) return 'unsettled';
        if (st.size > MAX_FILE_BYTES || !st.isFile()) return `invalid:${st.size}:${st.mtimeMs}`;
        return versionOf(await boundedFs(() => readRegularFile(file)));
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOENT')
          return `error:${(error as { code?: string }).code ?? 'unknown'}`;
      }
    }
    return 'missing';
  }
}

/**
 * The key External Secrets Operator gives a secret name under `conversionStrategy` (the file name
 * in a Secret volume): `Default` replaces every character that is not a letter, digit, `-`, `.`
 * or `_` with `_` (so `prod/app/db` → `prod_app_db`, `/a+b=c@d:e` → `_a_b_c_d_e`); `Unicode` writes
 * `_U<hex>_` instead (ESO `runtime/esutils/utils.go`, `convert`).
 */
export function externalSecretsKey(name: string, strategy: 'Default' | 'Unicode' = 'Default'): string {
  return name.replace(/[^\p{L}\p{N}\-._]/gu, (ch) =>
    strategy === 'Unicode' ? `_U${ch.codePointAt(0)!.toString(16).padStart(4, '0')}_` : '_',
  );
}

/** Whether a fingerprint is a version id (not 'missing', 'unsettled', 'invalid:…', 'error:…'). */
function isVersion(state: string): boolean {
  return state !== 'missing' && state !== 'unsettled' && !state.startsWith('invalid:') && !state.startsWith('error:');
}

/**
 * The per-process key of version ids. A plain hash of the content would let anyone who sees a
 * version (health shows 8 hex characters, rotation logs 16) brute-force a PIN or a dictionary
 * password offline; keyed, the id says only "same content or not" within this process.
 */
const VERSION_KEY = randomBytes(32);

function versionOf(bytes: Uint8Array): string {
  return createHmac('sha256', VERSION_KEY).update(bytes).digest('hex').slice(0, 16);
}

function toRaw(read: FileRead): RawSecret {
  const binary = new Uint8Array(read.bytes);
  let text: string | undefined;
  try {
    text = utf8.decode(read.bytes);
  } catch {
    text = undefined;
  }
  return { versionId: versionOf(read.bytes), string: text, binary, createdDate: new Date(read.mtimeMs) };
}

function failure(id: string, code: string, message: string, retryable: boolean, cause?: unknown): FetchOutcome {
  return { ok: false, error: new SecretFetchError(id, code, message, { retryable, cause }) };
}

/**
 * A delay inside a fetch (the settle wait): the store awaits it, so the timer keeps the process
 * alive; it ends early with the signal's reason when the fetch is aborted (deadline, close()).
 */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const notRegular = (): Error => Object.assign(new Error('not a regular file'), { code: 'NotARegularFile' });

/**
 * Reads a regular file. Opened non-blocking and checked on the open descriptor, so a FIFO (or a
 * file swapped for one after the stat) is refused instead of blocking a libuv thread forever.
 */
async function readRegularFile(file: string): Promise<Buffer> {
  const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw notRegular();
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
