import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, open, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  defineSecrets,
  externalSecretsKey,
  mountedFiles,
  SecretsConfigError,
  SecretStore,
  type SecretDeclarations,
} from '@hush/core';
import { waitFor } from '../../../test/support';

/**
 * The two real layouts `mountedFiles()` reads, written the way their writers write them:
 * - the AWS CSI provider's default (`driverWritesSecrets: false`): per file, a temp file in the
 *   mount dir, chmod, write, fsync, rename over the target (provider `server/server.go`, `writeFile`);
 *   file names from `objectAlias`/`objectName` with `pathTranslation` (`provider/secret_descriptor.go`);
 * - the kubelet AtomicWriter (Secret volumes, ESO; CSI with `driverWritesSecrets: true`):
 *   `..<timestamp>/`, the `..data` symlink swap, `<key> -> ..data/<key>`.
 */

let root: string;
let n = 0;
const stores: SecretStore[] = [];

async function freshDir(): Promise<string> {
  const dir = join(root, `l${++n}`);
  await mkdir(dir);
  return dir;
}

function store<D extends SecretDeclarations>(decls: D, source: ReturnType<typeof mountedFiles>): SecretStore<D> {
  const s = new SecretStore(decls, { source, refreshInterval: false, minRefreshInterval: 0 });
  stores.push(s as unknown as SecretStore);
  return s;
}

/** The AWS CSI provider's write: CreateTemp(mountDir, fileName) → chmod → write → Sync → Rename. */
async function providerWrite(dir: string, fileName: string, value: string, mode = 0o644): Promise<void> {
  const tmp = join(dir, `${fileName}${Math.floor(Math.random() * 1e9)}`);
  const handle = await open(tmp, 'wx');
  try {
    await handle.chmod(mode);
    // Two writes with a pause between, so a reader of the temp file would see half a value.
    const half = Math.floor(value.length / 2);
    await handle.write(value.slice(0, half));
    await new Promise((r) => setTimeout(r, 5));
    await handle.write(value.slice(half));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, fileName));
}

/** The kubelet AtomicWriter: timestamped dir, `..data` swap, per-key symlinks. */
async function kubeletWrite(dir: string, files: Record<string, string>, stamp: string, mode = 0o644): Promise<void> {
  const tsDir = `..${stamp}`;
  await mkdir(join(dir, tsDir));
  for (const [key, value] of Object.entries(files)) {
    await writeFile(join(dir, tsDir, key), value);
    await chmod(join(dir, tsDir, key), mode);
  }
  const old = await readlink(join(dir, '..data')).catch(() => undefined);
  await symlink(tsDir, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const key of Object.keys(files)) {
    await symlink(join('..data', key), join(dir, key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  if (old) await rm(join(dir, old), { recursive: true, force: true });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hush-layouts-'));
  await chmod(root, 0o755); // the unprivileged reader below must traverse it, as a pod traverses its mount
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('AWS CSI provider layout (temp file + rename, no ..data)', () => {
  it('rotates on each rename, once per change, never serving a half-written or temp file', async () => {
    const dir = await freshDir();
    const v = (i: number) => JSON.stringify({ username: 'app', password: `pw-CANARY-${i}-${'x'.repeat(2000)}` });
    await providerWrite(dir, 'prod_app_db', v(0));
    const s = store(defineSecrets({ db: { id: 'prod/app/db', format: 'json' } }), mountedFiles({ dir }));
    await s.load();
    const rotations: string[] = [];
    s.subscribe('db', (next) => void rotations.push((next as { password: string }).password.slice(0, 12)));
    const seen = new Set<string>();
    const sampler = setInterval(() => seen.add((s.get('db') as { password: string }).password.slice(0, 12)), 1);
    for (let i = 1; i <= 3; i++) {
      await providerWrite(dir, 'prod_app_db', v(i));
      await waitFor(() => rotations.length === i, 5_000, `rotation ${i}`);
    }
    clearInterval(sampler);
    expect(rotations).toEqual(['pw-CANARY-1-', 'pw-CANARY-2-', 'pw-CANARY-3-']);
    // Every value ever read parsed as a whole JSON document (a torn read would have thrown or been kept out).
    expect([...seen].every((p) => /^pw-CANARY-\d-$/.test(p))).toBe(true);
    // A rewrite with the same content (v1.6 re-writes every file on every poll) is not a rotation.
    await providerWrite(dir, 'prod_app_db', v(3));
    await new Promise((r) => setTimeout(r, 300));
    expect(rotations).toHaveLength(3);
  });

  it('names files like the provider: pathTranslation "_" (default, leading "/" too), another character, or false (nested)', async () => {
    const dir = await freshDir();
    await providerWrite(dir, '_prod_db', 'lead-CANARY');
    await providerWrite(dir, 'prod_app_token', 'tok-CANARY');
    const s = store(defineSecrets({ lead: '/prod/db', token: 'prod/app/token' }), mountedFiles({ dir }));
    await s.load();
    expect(s.get('lead')).toBe('lead-CANARY');
    expect(s.get('token')).toBe('tok-CANARY');

    const dashed = await freshDir();
    await providerWrite(dashed, 'prod-app-token', 'dash-CANARY');
    const d = store(defineSecrets({ token: 'prod/app/token' }), mountedFiles({ dir: dashed, pathTranslation: '-' }));
    await d.load();
    expect(d.get('token')).toBe('dash-CANARY');

    const nested = await freshDir();
    await mkdir(join(nested, 'prod', 'app'), { recursive: true });
    await providerWrite(join(nested, 'prod', 'app'), 'token', 'nest-CANARY');
    await providerWrite(nested, 'prod_app_token', 'wrong-file');
    const f = store(
      defineSecrets({ token: 'prod/app/token', lead: '/prod/app/token' }),
      mountedFiles({ dir: nested, pathTranslation: false }),
    );
    await f.load();
    expect(f.get('token')).toBe('nest-CANARY');
    expect(f.get('lead')).toBe('nest-CANARY');

    expect(() => mountedFiles({ dir, pathTranslation: '//' })).toThrow(SecretsConfigError);
    expect(() => mountedFiles({ dir, pathTranslation: '/' })).toThrow(/pathTranslation/);
    expect(() => mountedFiles({ dir, pathTranslation: '' })).toThrow(/pathTranslation/);
  });
});

describe('kubelet AtomicWriter layout (..data swap): External Secrets Operator key names', () => {
  it('fileName maps ids to ESO conversionStrategy keys; a ..data swap rotates every key at once', async () => {
    expect(externalSecretsKey('prod/app/db')).toBe('prod_app_db');
    expect(externalSecretsKey('/a+b=c@d:e f')).toBe('_a_b_c_d_e_f');
    expect(externalSecretsKey('naïve-ключ.v1_x')).toBe('naïve-ключ.v1_x'); // letters of any script are kept
    expect(externalSecretsKey('a/b', 'Unicode')).toBe('a_U002f_b');
    const dir = await freshDir();
    await kubeletWrite(dir, { prod_app_db: 'db-CANARY-0', _team_api_key_v2: 'api-CANARY-0' }, '2026_12_01_0');
    const s = store(
      defineSecrets({ db: 'prod/app/db', api: '/team/api+key=v2' }),
      mountedFiles({ dir, fileName: (id) => externalSecretsKey(id) }),
    );
    await s.load();
    expect(s.get('db')).toBe('db-CANARY-0');
    expect(s.get('api')).toBe('api-CANARY-0');
    await kubeletWrite(dir, { prod_app_db: 'db-CANARY-1', _team_api_key_v2: 'api-CANARY-1' }, '2026_12_01_1');
    await waitFor(() => s.get('db') === 'db-CANARY-1' && s.get('api') === 'api-CANARY-1', 5_000, 'the ..data swap');
    expect(s.stats().rotations).toBe(2);
    // A mapping that escapes the directory is refused per secret, not at construction.
    const bad = store(defineSecrets({ x: 'x' }), mountedFiles({ dir, fileName: () => '../etc/passwd' }));
    await expect(bad.load()).rejects.toThrow(/InvalidSecretPath/);
  });
});

describe('permission hint', () => {
  /** Loads `id` from `dir` in a separate Node process as an unprivileged user (as a pod would). */
  function loadAsUser(dir: string, id: string): { status: number | null; out: string } {
    const core = resolve(__dirname, '..', 'dist', 'index.js');
    const script = `
      const { SecretStore, mountedFiles } = require(${JSON.stringify(core)});
      const s = new SecretStore({ x: ${JSON.stringify(id)} }, { source: mountedFiles({ dir: ${JSON.stringify(dir)} }) });
      s.load().then(() => { console.log('LOADED'); process.exit(0); }, (e) => { console.log(e.message); process.exit(3); });`;
    const asRoot = process.getuid?.() === 0;
    const r = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      timeout: 20_000,
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  }
  // As root, a 0600 root file is unreadable to uid 65534; as any other user, a 0000 file is unreadable.
  const unreadable = process.getuid?.() === 0 ? 0o600 : 0o000;

  it('names CSI filePermission (root-owned files ignore fsGroup) for a CSI mount, defaultMode/fsGroup for a Secret volume', async () => {
    const csi = await freshDir();
    await chmod(csi, 0o755);
    await providerWrite(csi, 'db', 'pw-CANARY-perm-1', unreadable);
    const a = loadAsUser(csi, 'db');
    expect(a.status).toBe(3);
    expect(a.out).toContain('EACCES');
    expect(a.out).toContain('filePermission');
    expect(a.out).toContain('fsGroup');
    expect(a.out).not.toContain('CANARY');

    const vol = await freshDir();
    await chmod(vol, 0o755);
    await kubeletWrite(vol, { db: 'pw-CANARY-perm-2' }, '2026_12_01_9', unreadable);
    await chmod(join(vol, '..2026_12_01_9'), 0o755);
    const b = loadAsUser(vol, 'db');
    expect(b.status).toBe(3);
    expect(b.out).toContain('defaultMode');
    expect(b.out).not.toContain('filePermission');
    expect(b.out).not.toContain('CANARY');
  });
});
