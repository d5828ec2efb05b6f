/**
 * KV version 2, following `hashicorp/vault-plugin-secrets-kv`: `path_data.go` (read with
 * `?version=N`, write with `options.cas`, DELETE = soft-delete of the latest version),
 * `path_metadata.go` (read, delete all versions), `path_delete.go` (delete / undelete versions),
 * `path_destroy.go`. A deleted or destroyed version reads as 404 with `data: null` and its
 * metadata (`logical.RespondWithStatusCode(resp, req, 404)` in `pathDataRead`).
 */
import { badRequest, isoTime, VaultError } from './common';

export interface KvVersion {
  data: Record<string, unknown>;
  createdTime: number;
  deletionTime?: number;
  destroyed: boolean;
}

export interface KvEntry {
  versions: Map<number, KvVersion>;
  currentVersion: number;
  oldestVersion: number;
  createdTime: number;
  updatedTime: number;
  maxVersions: number;
  casRequired: boolean;
  customMetadata: Record<string, string> | null;
}

/** The mount's `config` defaults (`path_config.go`): 10 versions kept when `max_versions` is 0. */
const DEFAULT_MAX_VERSIONS = 10;

/** One KV v2 mount in one namespace. */
export class KvMount {
  private readonly entries = new Map<string, KvEntry>();

  constructor(private readonly now: () => number) {}

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** `pathDataWrite`: adds a version; `cas` must equal the current version when given (0 = must not exist). */
  write(path: string, data: unknown, options: unknown): Record<string, unknown> {
    if (!path) throw badRequest('missing path');
    if (data === undefined || data === null) throw badRequest('no data provided');
    if (typeof data !== 'object' || Array.isArray(data)) throw badRequest("'data' must be a JSON object");
    let entry = this.entries.get(path);
    const now = this.now();
    const current = entry?.currentVersion ?? 0;
    const opts = options && typeof options === 'object' ? (options as Record<string, unknown>) : {};
    if ('cas' in opts) {
      const cas = Number(opts.cas);
      if (!Number.isInteger(cas)) throw badRequest('error parsing check-and-set parameter');
      if (cas !== current) throw badRequest('check-and-set parameter did not match the current version');
    } else if (entry?.casRequired) {
      throw badRequest('check-and-set parameter required for this call');
    }
    if (!entry) {
      entry = {
        versions: new Map(),
        currentVersion: 0,
        oldestVersion: 0,
        createdTime: now,
        updatedTime: now,
        maxVersions: 0,
        casRequired: false,
        customMetadata: null,
      };
      this.entries.set(path, entry);
    }
    const version = entry.currentVersion + 1;
    const stored: KvVersion = {
      data: structuredClone(data as Record<string, unknown>),
      createdTime: now,
      destroyed: false,
    };
    entry.versions.set(version, stored);
    entry.currentVersion = version;
    entry.updatedTime = now;
    if (entry.oldestVersion === 0) entry.oldestVersion = 1;
    // KeyMetadata.AddVersion: versions beyond max_versions are removed, oldest first.
    const max = entry.maxVersions > 0 ? entry.maxVersions : DEFAULT_MAX_VERSIONS;
    while (entry.currentVersion - entry.oldestVersion + 1 > max) {
      entry.versions.delete(entry.oldestVersion);
      entry.oldestVersion += 1;
    }
    return versionMetadata(version, stored, entry);
  }

  /** `pathDataRead`. Unknown path or version: 404 `{"errors":[]}`; deleted/destroyed: 404 with metadata. */
  read(path: string, versionParam: number): Record<string, unknown> {
    const entry = this.entries.get(path);
    if (!entry) throw new VaultError(404, '');
    const num = versionParam > 0 ? versionParam : entry.currentVersion;
    const v = entry.versions.get(num);
    if (!v) throw new VaultError(404, '');
    const body = { data: null as Record<string, unknown> | null, metadata: versionMetadata(num, v, entry) };
    if ((v.deletionTime !== undefined && v.deletionTime <= this.now()) || v.destroyed) {
      throw new VaultError(404, '', body);
    }
    body.data = structuredClone(v.data);
    return body;
  }

  /** DELETE `data/<path>`: soft-deletes the latest version. */
  deleteLatest(path: string): void {
    const entry = this.entries.get(path);
    if (!entry) return;
    const v = entry.versions.get(entry.currentVersion);
    if (v && !v.destroyed && v.deletionTime === undefined) v.deletionTime = this.now();
  }

  /** `delete/<path>` and `undelete/<path>` with `versions`. */
  setDeleted(path: string, versionsRaw: unknown, deleted: boolean): void {
    const versions = parseVersions(versionsRaw, 'No version number provided');
    const entry = this.entries.get(path);
    if (!entry) return;
    for (const n of versions) {
      const v = entry.versions.get(n);
      if (!v || v.destroyed) continue;
      if (deleted) {
        if (v.deletionTime === undefined || v.deletionTime > this.now()) v.deletionTime = this.now();
      } else {
        delete v.deletionTime;
      }
    }
  }

  /** `destroy/<path>`: removes the data of `versions` for good. */
  destroy(path: string, versionsRaw: unknown): void {
    const versions = parseVersions(versionsRaw, 'no version number provided');
    const entry = this.entries.get(path);
    if (!entry) return;
    for (const n of versions) {
      const v = entry.versions.get(n);
      if (!v || v.destroyed) continue;
      v.destroyed = true;
      v.data = {};
    }
  }

  /** `pathMetadataList`: the keys and folders (with a trailing `/`) directly under `prefix`; 404 when none. */
  list(prefix: string): Record<string, unknown> {
    const base = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    const keys = new Set<string>();
    for (const key of this.entries.keys()) {
      if (!key.startsWith(base)) continue;
      const rest = key.slice(base.length);
      const slash = rest.indexOf('/');
      keys.add(slash < 0 ? rest : rest.slice(0, slash + 1));
    }
    if (keys.size === 0) throw new VaultError(404, '');
    return { keys: [...keys].sort() };
  }

  /** `pathMetadataRead`. */
  metadata(path: string): Record<string, unknown> {
    const entry = this.entries.get(path);
    if (!entry) throw new VaultError(404, '');
    const versions: Record<string, unknown> = {};
    for (const [n, v] of entry.versions) {
      versions[String(n)] = {
        created_time: isoTime(v.createdTime),
        deletion_time: v.deletionTime === undefined ? '' : isoTime(v.deletionTime),
        destroyed: v.destroyed,
      };
    }
    return {
      versions,
      current_version: entry.currentVersion,
      oldest_version: entry.oldestVersion,
      created_time: isoTime(entry.createdTime),
      updated_time: isoTime(entry.updatedTime),
      max_versions: entry.maxVersions,
      cas_required: entry.casRequired,
      delete_version_after: '0s',
      custom_metadata: entry.customMetadata,
    };
  }

  /** `metadata/<path>` POST: `max_versions`, `cas_required`, `custom_metadata`. */
  writeMetadata(path: string, body: Record<string, unknown>): void {
    let entry = this.entries.get(path);
    if (!entry) {
      const now = this.now();
      entry = {
        versions: new Map(),
        currentVersion: 0,
        oldestVersion: 0,
        createdTime: now,
        updatedTime: now,
        maxVersions: 0,
        casRequired: false,
        customMetadata: null,
      };
      this.entries.set(path, entry);
    }
    if (body.max_versions !== undefined) entry.maxVersions = Number(body.max_versions) || 0;
    if (body.cas_required !== undefined) entry.casRequired = body.cas_required === true || body.cas_required === 'true';
    if (body.custom_metadata && typeof body.custom_metadata === 'object') {
      entry.customMetadata = { ...(body.custom_metadata as Record<string, string>) };
    }
  }

  /** `metadata/<path>` DELETE: every version and the metadata. */
  deleteMetadata(path: string): void {
    this.entries.delete(path);
  }
}

function versionMetadata(num: number, v: KvVersion, entry: KvEntry): Record<string, unknown> {
  return {
    version: num,
    created_time: isoTime(v.createdTime),
    deletion_time: v.deletionTime === undefined ? '' : isoTime(v.deletionTime),
    destroyed: v.destroyed,
    custom_metadata: entry.customMetadata,
  };
}

function parseVersions(raw: unknown, missing: string): number[] {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : raw === undefined ? [] : [raw];
  const out = list.map((x) => Number(x));
  if (out.length === 0) throw badRequest(missing);
  if (out.some((n) => !Number.isInteger(n))) throw badRequest('versions must be integers');
  return out;
}
