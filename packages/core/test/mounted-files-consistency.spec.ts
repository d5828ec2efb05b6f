import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineSecrets, mountedFiles, SecretStore, type FetchContext } from '@hush/core';
import { recordingLogger, until, waitFor } from '../../../test/support';

const logger = recordingLogger();
const ctx: FetchContext = { signal: new AbortController().signal, force: false, reason: 'refresh' };
let dir: string;
const stores: SecretStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hush-files-c-'));
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});
afterAll(() => expect(logger.lines.join('\n')).not.toContain('CANARY'));

// A writer in another process that rewrites the file in place, again and again: truncate, write
// 32 KiB, write the rest (two write calls, like a stream), then rest a random 0–60 ms. Two 64 KiB
// contents alternate, so every complete read is one of them.
const WRITER = `
const fs = require('node:fs');
const [file] = process.argv.slice(1);
const contents = ['A', 'B'].map((c) => Buffer.from('tok-CANARY-' + c + '-' + c.repeat(65536 - 13)));
let i = 0;
function once() {
  const data = contents[i++ % 2];
  const fd = fs.openSync(file, 'r+');
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, data, 0, 32768, 0);
  fs.writeSync(fd, data, 32768, data.length - 32768, 32768);
  fs.closeSync(fd);
  setTimeout(once, Math.random() * 60);
}
once();
process.stdout.write('writing\\n');
`;

function startWriter(file: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', WRITER, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve(child));
  });
}

describe('mountedFiles never serves a torn file, whatever `settle` is', () => {
  it.each([0, 5])('settle: %i with a concurrent in-place writer in another process', async (settle) => {
    const file = join(dir, 'token');
    const full = ['A', 'B'].map((c) => `tok-CANARY-${c}-${c.repeat(65536 - 13)}`);
    await writeFile(file, full[0]!);
    const writer = await startWriter(file);
    const source = mountedFiles({ dir, settle, watch: false, pollInterval: false });
    let complete = 0;
    let torn = 0;
    let unstable = 0;
    try {
      const started = performance.now();
      while (performance.now() - started < 2_000 || complete < 5) {
        if (performance.now() - started > 10_000) break;
        const [out] = await source.fetch([{ id: 'token' }], ctx);
        if (!out!.ok) {
          expect(out!.error.awsCode).toBe('FileUnstable');
          unstable++;
        } else if (full.includes(out!.secret.string!)) complete++;
        else torn++;
      }
    } finally {
      writer.kill();
    }
    expect({ torn, complete: complete >= 5 }).toEqual({ torn: 0, complete: true });
    expect(unstable + complete).toBeGreaterThan(0);
  });
});

describe('mountedFiles with refreshInterval: false', () => {
  it('a polled file that is still current does not turn stale; one holding a rejected version does', async () => {
    await writeFile(join(dir, 'db'), JSON.stringify({ password: 'pw-CANARY-1' }));
    const store = new SecretStore(defineSecrets({ db: { id: 'db', format: 'json' } }), {
      source: mountedFiles({ dir, pollInterval: 40, watch: false, settle: 0 }),
      refreshInterval: false,
      maxStaleness: 300,
      logger,
    });
    stores.push(store as unknown as SecretStore);
    await store.load();
    const status = () => Promise.resolve(store.health().secrets.db!.status);
    // Three times maxStaleness: never stale while every poll finds the served version.
    expect(await until(status, (s) => s !== 'fresh', 900)).toBe('fresh');
    expect(store.health().status).toBe('up');

    // A broken file is not a confirmation of the served value: error, then stale.
    await writeFile(join(dir, 'db'), '{"password": ');
    await waitFor(async () => (await status()) === 'error', 2_000, 'the broken version to be rejected');
    await waitFor(async () => (await status()) === 'stale', 2_000, 'the rejected version to turn stale');
    expect(store.health().status).toBe('degraded');
  });
});

describe('mountedFiles shared by two stores', () => {
  it("closing one store does not stop the other store's watcher", async () => {
    await writeFile(join(dir, 'api-key'), 'key-CANARY-1');
    const source = mountedFiles({ dir, pollInterval: 30, settle: 0 });
    const open = () => {
      const s = new SecretStore(defineSecrets({ apiKey: 'api-key' }), { source, refreshInterval: false, logger });
      stores.push(s as unknown as SecretStore);
      return s;
    };
    const first = open();
    const second = open();
    await Promise.all([first.load(), second.load()]);
    await first.close();
    await writeFile(join(dir, 'api-key'), 'key-CANARY-2');
    await waitFor(() => second.get('apiKey') === 'key-CANARY-2', 3_000, 'the second store to see the rotation');
    // The last store to close closes the source: its watcher stops.
    await second.close();
    const reads = second.stats().calls.ReadFile;
    await writeFile(join(dir, 'api-key'), 'key-CANARY-3');
    expect(
      await until(
        () => Promise.resolve(second.stats().calls.ReadFile),
        (n) => n !== reads,
        300,
      ),
    ).toBe(reads);
  });
});
