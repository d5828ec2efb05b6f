import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readlink, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defineSecrets,
  mountedFiles,
  type SecretBytes,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  type SecretDeclarations,
  type SecretsEvent,
} from '@hush/core';
import { recordingLogger, sleep, waitFor } from '../../../test/support';

const logger = recordingLogger();
const { lines } = logger;

let root: string;
let n = 0;
const stores: SecretStore[] = [];

async function freshDir(): Promise<string> {
  const dir = join(root, `m${++n}`);
  await mkdir(dir);
  return dir;
}

function store<D extends SecretDeclarations>(
  decls: D,
  source: ReturnType<typeof mountedFiles>,
  extra: object = {},
): SecretStore<D> {
  const s = new SecretStore(decls, { source, refreshInterval: false, logger, minRefreshInterval: 0, ...extra });
  stores.push(s as unknown as SecretStore);
  return s;
}

/** Writes a Secret volume the way the kubelet's AtomicWriter does: timestamped dir, `..data` swap, per-key symlinks. */
async function kubeletWrite(dir: string, files: Record<string, string>, stamp: string): Promise<void> {
  const tsDir = `..${stamp}`;
  await mkdir(join(dir, tsDir));
  for (const [key, value] of Object.entries(files)) await writeFile(join(dir, tsDir, key), value);
  let old: string | undefined;
  try {
    old = await readlink(join(dir, '..data'));
  } catch {
    old = undefined;
  }
  await symlink(tsDir, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data')); // the atomic step
  for (const key of Object.keys(files)) {
    await symlink(join('..data', key), join(dir, key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  if (old) await rm(join(dir, old), { recursive: true, force: true });
}

/** Samples `read()` every millisecond until stopped; returns the distinct values seen. */
function sample(read: () => unknown): { stop: () => Set<string> } {
  const seen = new Set<string>();
  const timer = setInterval(() => seen.add(JSON.stringify(read())), 1);
  return { stop: () => (clearInterval(timer), seen) };
}

beforeAll(async () => {
  // Not 'hush-files-': values below hold '-files-', and a message naming the directory would
  // rightly be withheld as quoting six characters of them.
  root = await mkdtemp(join(tmpdir(), 'hush-mnt-'));
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  expect(lines.join('\n')).not.toContain('CANARY');
});

describe('mountedFiles: Secrets Store CSI layout (one file per object)', () => {
  it('loads string, JSON, JSON keys and binary files; ids name files; "/" falls back to the CSI "_" translation', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'db'), JSON.stringify({ username: 'app', password: 'pw-CANARY-files-1' }));
    await writeFile(join(dir, 'api-key'), 'key-CANARY-files-1');
    await writeFile(join(dir, 'cert.der'), Buffer.from([0xff, 0xfe, 0x00, 0x43]));
    await writeFile(join(dir, 'prod_app_token'), 'tok-CANARY-files-1');
    const s = store(
      defineSecrets({
        db: { id: 'db', format: 'json' },
        dbPassword: { id: 'db', key: 'password' },
        apiKey: 'api-key',
        apiKeyBytes: { id: 'api-key', format: 'binary' },
        cert: { id: 'cert.der', format: 'binary' },
        token: 'prod/app/token',
      }),
      mountedFiles({ dir }),
    );
    await s.load();
    expect(s.get('dbPassword')).toBe('pw-CANARY-files-1');
    expect(s.get('db')).toEqual({ username: 'app', password: 'pw-CANARY-files-1' });
    expect(s.get('apiKey')).toBe('key-CANARY-files-1');
    expect((s.get('apiKeyBytes') as SecretBytes).toBuffer().toString()).toBe('key-CANARY-files-1');
    expect([...(s.get('cert') as SecretBytes).toUint8Array()]).toEqual([0xff, 0xfe, 0x00, 0x43]);
    expect(s.get('token')).toBe('tok-CANARY-files-1');
    expect(s.stats()).toMatchObject({ source: 'mounted-files', calls: { ReadFile: 4 }, failures: 0 });
    const health = s.health();
    expect(health.status).toBe('up');
    expect(health.secrets.apiKey!.version).toMatch(/^[0-9a-f]{8}$/);
  });

  it('gives version ids that reveal nothing about the content: keyed per process, stable across polls', async () => {
    const dir = await freshDir();
    // A 4-digit PIN: an unkeyed SHA-256 prefix of it is brute-forced in microseconds.
    await writeFile(join(dir, 'pin'), '4821');
    await writeFile(join(dir, 'same-pin'), '4821');
    const s = store(defineSecrets({ pin: 'pin', samePin: 'same-pin' }), mountedFiles({ dir, watch: false }));
    await s.load();
    const version = s.handle('pin').version!;
    expect(version).toMatch(/^[0-9a-f]{16}$/);
    const unkeyed = createHash('sha256').update('4821').digest('hex');
    expect(unkeyed.startsWith(version)).toBe(false);
    expect(unkeyed.includes(s.health().secrets.pin!.version!)).toBe(false);
    // Same content, same id within the process (so an unchanged file never looks rotated)…
    expect(s.handle('samePin').version).toBe(version);
    await s.refresh();
    expect(s.handle('pin').version).toBe(version);
    // …and a different id in another process (the key is random per process).
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        `const { mountedFiles } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
         mountedFiles({ dir: ${JSON.stringify(dir)}, watch: false, pollInterval: false })
           .fetch([{ id: 'pin' }], { signal: new AbortController().signal, force: false })
           .then((o) => process.stdout.write(o[0].secret.versionId));`,
      ],
      { encoding: 'utf8' },
    );
    expect(child.stderr).toBe('');
    expect(child.stdout).toMatch(/^[0-9a-f]{16}$/);
    expect(child.stdout).not.toBe(version);
  });

  it('reports a missing file, an unsafe id and a pinned version clearly, without retrying until bootTimeout', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'present'), 'ok-CANARY');
    const s = store(
      defineSecrets({
        missing: 'absent',
        escape: '../etc/passwd',
        pinned: { id: 'present', versionStage: 'AWSPREVIOUS' },
        present: 'present',
      }),
      mountedFiles({ dir, settle: 10 }),
      { bootTimeout: '10s' },
    );
    const started = Date.now();
    const error = (await s.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(SecretsLoadError);
    const byName = Object.fromEntries(error.failures.map((f) => [f.name, f]));
    expect(byName.missing).toMatchObject({ code: 'FileNotFound' });
    expect(byName.missing!.message).toContain('objectAlias');
    expect(byName.escape).toMatchObject({ code: 'InvalidSecretPath' });
    expect(byName.pinned).toMatchObject({ code: 'UnsupportedVersionRequest' });
    expect(byName.present).toBeUndefined();
    expect(() => mountedFiles({} as never)).toThrow(SecretsConfigError);
    expect(() => mountedFiles({ dir, pollIntervall: '1s' } as never)).toThrow(/Did you mean `pollInterval`/);
  });

  it('picks up an in-place rewrite (fs.watch), rotates once, and ignores a rewrite with the same content', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'api-key'), 'key-CANARY-w-1');
    const s = store(defineSecrets({ apiKey: 'api-key' }), mountedFiles({ dir, pollInterval: false, settle: 20 }));
    await s.load();
    const rotations: string[] = [];
    s.subscribe('apiKey', (v) => void rotations.push(v));
    await writeFile(join(dir, 'api-key'), 'key-CANARY-w-2');
    await waitFor(() => s.get('apiKey') === 'key-CANARY-w-2');
    expect(rotations).toEqual(['key-CANARY-w-2']);
    const generation = s.generation;
    await writeFile(join(dir, 'api-key'), 'key-CANARY-w-2'); // same bytes, new mtime
    await sleep(200);
    expect(s.generation).toBe(generation);
    expect(rotations).toEqual(['key-CANARY-w-2']);
  });
});

describe('mountedFiles: Kubernetes Secret volume (External Secrets Operator, kubelet ..data swap)', () => {
  for (const mode of ['fs.watch', 'polling'] as const) {
    it(`rotates on an atomic ..data symlink swap detected by ${mode}, once, never serving anything else`, async () => {
      const dir = await freshDir();
      await kubeletWrite(
        dir,
        { db: JSON.stringify({ username: 'app', password: 'pw-CANARY-k-1' }), 'api-key': 'key-CANARY-k-1' },
        '2026_11_22_10_00_00.000000001',
      );
      const source =
        mode === 'fs.watch'
          ? mountedFiles({ dir, pollInterval: false, settle: 20 })
          : mountedFiles({ dir, watch: false, pollInterval: 50, settle: 20 });
      const s = store(
        defineSecrets({ db: { id: 'db', format: 'json' }, password: { id: 'db', key: 'password' }, apiKey: 'api-key' }),
        source,
      );
      await s.load();
      const before = s.health().secrets.password!.version;
      const rotations: unknown[] = [];
      const events: SecretsEvent[] = [];
      s.subscribe('password', (v) => void rotations.push(v));
      s.onEvent((e) => void events.push(e));
      const sampler = sample(() => s.get('password'));

      await kubeletWrite(
        dir,
        { db: JSON.stringify({ username: 'app', password: 'pw-CANARY-k-2' }), 'api-key': 'key-CANARY-k-1' },
        '2026_11_22_10_05_00.000000002',
      );
      await waitFor(() => s.get('password') === 'pw-CANARY-k-2');
      await sleep(150); // let any further (spurious) scans run
      const seen = sampler.stop();

      expect(rotations).toEqual(['pw-CANARY-k-2']);
      expect([...seen].sort()).toEqual(['"pw-CANARY-k-1"', '"pw-CANARY-k-2"']);
      expect(s.get('db')).toEqual({ username: 'app', password: 'pw-CANARY-k-2' });
      expect(s.get('apiKey')).toBe('key-CANARY-k-1');
      expect(
        events
          .filter((e) => e.type === 'rotated')
          .map((e) => (e as { name: string }).name)
          .sort(),
      ).toEqual(['db', 'password']);
      const health = s.health();
      expect(health.status).toBe('up');
      expect(health.secrets.password).toMatchObject({ status: 'fresh' });
      expect(health.secrets.password!.version).not.toBe(before);
    });
  }

  it('never serves a half-written string file: an in-place writer is given `settle` to finish', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'token'), 'tok-CANARY-hw-1');
    const source = mountedFiles({ dir, pollInterval: 30, settle: 250 });
    const s = store(defineSecrets({ token: 'token' }), source);
    await s.load();
    const rotations: string[] = [];
    s.subscribe('token', (v) => void rotations.push(v));
    const sampler = sample(() => s.get('token'));

    const full = 'tok-CANARY-hw-2-' + 'x'.repeat(64);
    const fh = await open(join(dir, 'token'), 'w'); // truncates: the file is empty for a moment
    const direct = (async () => {
      await sleep(5);
      // A second source on the same dir, as another process would read it.
      return mountedFiles({ dir, settle: 250 }).fetch([{ id: 'token' }], {
        signal: new AbortController().signal,
        force: false,
        reason: 'refresh',
      });
    })();
    for (let i = 0; i < full.length; i += 16) {
      await fh.write(full.slice(i, i + 16));
      await sleep(10);
    }
    await fh.close();
    await waitFor(() => s.get('token') === full);
    await sleep(100);
    const seen = sampler.stop();

    expect([...seen]).toEqual([JSON.stringify('tok-CANARY-hw-1'), JSON.stringify(full)]);
    expect(rotations).toEqual([full]);
    const [out] = await direct;
    expect(out!.ok && out!.secret.string).toBe(full);
  });

  it('keeps the last good value when a JSON file is left half-written, and rotates once it is complete', async () => {
    const dir = await freshDir();
    const v1 = JSON.stringify({ username: 'app', password: 'pw-CANARY-hj-1' });
    const v2 = JSON.stringify({ username: 'app', password: 'pw-CANARY-hj-2' });
    await writeFile(join(dir, 'db'), v1);
    const s = store(
      defineSecrets({ db: { id: 'db', format: 'json' } }),
      mountedFiles({ dir, pollInterval: 30, settle: 20 }),
    );
    await s.load();
    const failed: SecretsEvent[] = [];
    s.onEvent((e) => e.type === 'refresh-failed' && failed.push(e));
    const sampler = sample(() => s.get('db'));

    await writeFile(join(dir, 'db'), v2.slice(0, 20)); // the writer stalls here
    await waitFor(() => failed.length > 0);
    expect(failed[0]).toMatchObject({ name: 'db', code: 'SECRET_PARSE_FAILED:INVALID_JSON' });
    expect(failed[0]!.type === 'refresh-failed' && failed[0]!.message).not.toContain('CANARY');
    expect(s.get('db')).toEqual(JSON.parse(v1));
    expect(s.health().secrets.db).toMatchObject({ status: 'error', error: 'SECRET_PARSE_FAILED:INVALID_JSON' });

    await writeFile(join(dir, 'db'), v2);
    await waitFor(() => (s.get('db') as { password: string }).password === 'pw-CANARY-hj-2');
    await sleep(30); // let the sampler see the new value
    const seen = sampler.stop();
    expect([...seen]).toEqual([v1, v2]);
    expect(s.health().secrets.db).toMatchObject({ status: 'fresh' });
    expect(s.health().secrets.db!.error).toBeUndefined();
  });

  it('serves the last good value while a file is missing and recovers when it returns; close() stops watching', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'api-key'), 'key-CANARY-m-1');
    const s = store(defineSecrets({ apiKey: 'api-key' }), mountedFiles({ dir, pollInterval: 30, settle: 10 }));
    await s.load();
    await unlink(join(dir, 'api-key'));
    await waitFor(() => s.health().secrets.apiKey!.error === 'FileNotFound');
    expect(s.get('apiKey')).toBe('key-CANARY-m-1');
    expect(s.health().secrets.apiKey!.status).toBe('error');
    await writeFile(join(dir, 'api-key'), 'key-CANARY-m-2');
    await waitFor(() => s.get('apiKey') === 'key-CANARY-m-2');
    expect(s.health().secrets.apiKey).toMatchObject({ status: 'fresh' });

    await s.close();
    const calls = s.stats().calls.ReadFile;
    await writeFile(join(dir, 'api-key'), 'key-CANARY-m-3');
    await sleep(150);
    expect(s.stats().calls.ReadFile).toBe(calls);
  });
});

describe('mountedFiles: settle: 0 (the 50 ms floor) does not spin while a file is being written', () => {
  it('re-checks an unsettled file after the quiet floor, not with zero-delay timers', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'a'), 'spin-v1-CANARY');
    const s = store(defineSecrets({ a: 'a' }), mountedFiles({ dir, pollInterval: false, settle: 0 }));
    await s.load();
    // Count the source's timers while an in-place writer keeps the file younger than the floor.
    const real = global.setTimeout;
    let zeroDelay = 0;
    const spy = jest.spyOn(global, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      if ((ms ?? 0) === 0 && /mounted-files/.test(new Error().stack ?? '')) zeroDelay++;
      return real(fn, ms);
    }) as typeof setTimeout);
    try {
      for (let i = 0; i < 25; i++) {
        await writeFile(join(dir, 'a'), `spin-v${i + 2}-CANARY`);
        await sleep(20);
      }
    } finally {
      spy.mockRestore();
    }
    // One watch event per write may arm a zero-delay scan (~25-50); a spin arms ~1 per millisecond (~500).
    expect(zeroDelay).toBeLessThan(120);
    await waitFor(() => s.get('a') === 'spin-v26-CANARY', 5_000, 'the last write to be served');
  });
});
