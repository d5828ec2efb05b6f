/**
 * Leak canaries. Every secret value in the suite contains `CANARY`; the Jest environment in
 * test/setup scans stdout, stderr, fd 1/2 and console.* of every test file and fails the run on a
 * hit. This file proves the scanner catches leaks (directly and in a child Jest run) and checks
 * that no rendering of Hush objects — handles, stores, snapshots, health, stats, errors, events,
 * logger lines — contains a value.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import { z } from 'zod';
import {
  awsSecretsManager,
  defineSecrets,
  memorySource,
  redactObject,
  SecretsLoadError,
  SecretStore,
  type SecretsEvent,
} from '@hush/core';
import { toLogger } from '@hush/core/internal';
import { startEmulator } from '@hush/emulator';
import { LeakRecorder, findCanary, maskCanary, wrapConsole } from '../setup/leak-scanner';
import { allRenderings, destroyClients, emulatorClient, recordingLogger } from './helpers';

const ROOT = join(__dirname, '..', '..');

describe('the scanner', () => {
  it('finds a canary, masks it, and appends it to the report file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hush-leak-'));
    const report = join(dir, 'report.jsonl');
    try {
      const recorder = new LeakRecorder('some.spec.ts', report);
      expect(recorder.check('test', 'nothing to see')).toBe(false);
      expect(recorder.check('test', `password=pw-${'CANARY'}-1 in a line`)).toBe(true);
      expect(recorder.hits).toHaveLength(1);
      expect(recorder.hits[0]!.snippet).toBe('password=pw-C#NARY-1 in a line');
      const line = readFileSync(report, 'utf8');
      expect(line).toContain('"testPath":"some.spec.ts"');
      expect(line).not.toContain('CANARY');
      recorder.active = false;
      expect(recorder.check('test', 'CANARY')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scans console calls after util.format, so inspect hooks and %s substitutions count', () => {
    const recorder = new LeakRecorder('x', null);
    const lines: string[] = [];
    const fake = {
      log: (...a: unknown[]) => void lines.push(a.join(' ')),
      error: () => undefined,
    } as unknown as Console;
    wrapConsole(fake, recorder);
    fake.log('user %s', 'u-CANARY');
    fake.log({ nested: { deep: ['CANARY'] } });
    fake.log(redactObject({ password: 'CANARY' }, 'Creds'));
    expect(recorder.hits.map((h) => h.channel)).toEqual(['console.log', 'console.log']);
    expect(lines).toHaveLength(3);
    expect(maskCanary('aCANARYbCANARY')).toBe('aC#NARYbC#NARY');
    expect(findCanary('no hit')).toBeUndefined();
  });

  it('fails a child Jest run that leaks through console, stderr or pino, and on an unhandled rejection — not on assertion diffs', () => {
    const out = mkdtempSync(join(tmpdir(), 'hush-leak-run-'));
    try {
      const result = spawnSync(
        process.execPath,
        [
          join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
          '--config',
          join(ROOT, 'jest.config.js'),
          '--rootDir',
          ROOT,
          '--testMatch',
          '<rootDir>/test/setup/fixtures/*.fixture.ts',
          '--verbose',
          '--runInBand',
          '--ci',
        ],
        { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, HUSH_LEAK_REPORT: '' } },
      );
      expect(result.status).not.toBe(0);
      // The global teardown lists every leak, masked.
      const teardown = result.stderr.slice(result.stderr.indexOf('Leak canary scan'));
      expect(teardown).toMatch(/Leak canary scan: \d+ secret value\(s\) reached test output/);
      expect(teardown).toContain('leaky.fixture.ts via console.log: …connecting with password pw-C#NARY-console');
      expect(teardown).toContain('tok-C#NARY-stderr');
      expect(teardown).toMatch(/via fs\.write(Sync)?\(1\).*pw-C#NARY-pino/);
      expect(teardown).not.toContain('diff.fixture.ts');
      expect(teardown).not.toContain('clean.fixture.ts');

      // Per-file results, from the default reporter (a throwing globalTeardown skips --outputFile).
      const sections = new Map<string, string>();
      // Only the per-file part: the run summary and the teardown's report follow the last file.
      const summaryAt = result.stderr.search(/^Test Suites:/m);
      const perFile = summaryAt === -1 ? result.stderr : result.stderr.slice(0, summaryAt);
      for (const part of perFile.split(/^(?=PASS |FAIL )/m)) {
        const m = /^(PASS|FAIL) \S*?([\w.-]+\.fixture\.ts)/.exec(part);
        if (m) sections.set(m[2]!, `${m[1]} ${part}`);
      }
      const leaky = sections.get('leaky.fixture.ts')!;
      expect(leaky).toMatch(/^FAIL/);
      expect(leaky).toContain('Leak canary found in test output');
      expect(leaky).toContain('● fails on an unhandled rejection');
      expect(leaky).toContain('unhandled-in-fixture');
      expect(sections.get('clean.fixture.ts')).toMatch(/^PASS/);
      const diff = sections.get('diff.fixture.ts')!;
      expect(diff).toMatch(/^FAIL/);
      expect(diff).toContain('Expected: "something else"');
      expect(diff).not.toContain('Leak canary');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('no rendering of a Hush object contains a value', () => {
  const secrets = defineSecrets({
    db: { id: 'app/db', format: 'json', schema: z.object({ username: z.string(), password: z.string() }) },
    dbPassword: { id: 'app/db', key: 'password' },
    api: 'app/api',
    bin: { id: 'app/bin', format: 'binary' },
    old: { id: 'app/api', versionStage: 'AWSPREVIOUS', optional: true },
    missing: { id: 'app/missing', optional: true },
  });
  const values = {
    'app/db': { username: 'user-CANARY', password: 'pw-CANARY-1' },
    'app/api': 'api-CANARY-1',
    'app/bin': new TextEncoder().encode('bin-CANARY-1'),
  };

  it('handles, store, snapshot, health, stats, events and logger lines (memory source, pino and console-style loggers)', async () => {
    const pinoLines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (pinoLines.push(String(chunk)), cb()) });
    const pinoLogger = pino({ level: 'debug' }, sink);
    const rec = recordingLogger();
    const source = memorySource(values);
    const events: SecretsEvent[] = [];
    const stores = [
      new SecretStore(secrets, {
        source,
        refreshInterval: 30,
        maxStaleness: 60,
        minRefreshInterval: 0,
        backoff: { initial: 10, max: 20 },
        logger: pinoLogger,
      }),
      new SecretStore(secrets, {
        source,
        refreshInterval: 30,
        maxStaleness: 60,
        minRefreshInterval: 0,
        backoff: { initial: 10, max: 20 },
        logger: rec,
      }),
    ];
    for (const s of stores) s.onEvent((e) => void events.push(e));
    await Promise.all(stores.map((s) => s.load()));
    const store = stores[1]!;
    const subscribed: unknown[] = [];
    store.subscribe('db', (next, info) => void subscribed.push(info));
    source.set('app/api', 'api-CANARY-2');
    source.set('app/db', { username: 'user-CANARY', password: 'pw-CANARY-2' });
    await Promise.all(stores.map((s) => s.refresh()));
    source.fail('*', 'AccessDeniedException');
    await Promise.all(stores.map((s) => s.refresh()));
    await new Promise((resolve) => setTimeout(resolve, 100)); // stale, events, background retries
    source.recover();
    await Promise.all(stores.map((s) => s.refresh()));

    expect(store.get('dbPassword')).toBe('pw-CANARY-2');
    const renderings = [
      store,
      store.handle('db'),
      store.handle('bin'),
      store.handle('missing'),
      [store.handle('db'), store.handle('api')],
      { config: { db: store.handle('db') } },
      store.snapshot(),
      { snapshot: store.snapshot() },
      store.health(),
      store.stats(),
      events,
      subscribed,
      source.stats(),
    ].map((v) => allRenderings(v));
    renderings.push(`${store.handle('api')}`, `${store.snapshot()}`, String(store.handle('dbPassword')));
    for (const text of renderings) expect(text).not.toContain('CANARY');
    expect(rec.lines.length).toBeGreaterThan(5);
    expect(rec.lines.join('\n')).not.toContain('CANARY');
    expect(pinoLines.length).toBeGreaterThan(5);
    expect(pinoLines.join('')).not.toContain('CANARY');
    expect(pinoLines.join('')).toContain('"component":"hush"');
    await Promise.all(stores.map((s) => s.close()));
  });

  it('errors from a failed load, their JSON, inspect output and causes (real SDK over HTTP)', async () => {
    const emu = await startEmulator({
      seed: {
        'app/db': JSON.stringify({ username: 'user-CANARY', pw: 'pw-CANARY' }),
        'app/api': 'api-CANARY',
        'app/bin': 'not-binary-CANARY',
      },
    });
    try {
      emu.injectFault({
        operation: 'BatchGetSecretValue',
        secretId: 'app/api',
        error: 'AccessDeniedException',
        perSecret: true,
      });
      const store = new SecretStore(secrets, {
        source: awsSecretsManager({ client: emulatorClient(emu) }),
        refreshInterval: false,
        bootTimeout: 2_000,
      });
      const error = await store.load().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SecretsLoadError);
      const e = error as SecretsLoadError;
      expect(e.failures.map((f) => [f.name, f.code])).toEqual([
        ['db', 'SECRET_VALIDATION_FAILED'],
        ['dbPassword', 'SECRET_PARSE_FAILED:MISSING_KEY'],
        ['api', 'AccessDeniedException'],
        ['bin', 'SECRET_PARSE_FAILED:STRING_AS_BINARY'],
      ]);
      for (const text of [
        allRenderings(e),
        inspect(e, { depth: 20, showHidden: true }),
        e.stack ?? '',
        allRenderings(store.health()),
        allRenderings(store),
      ]) {
        expect(text).not.toContain('CANARY');
      }
      await store.close();
    } finally {
      destroyClients();
      await emu.close();
    }
  });

  it('a throwing or value-logging logger adapter never receives a value', () => {
    const calls: unknown[] = [];
    const logger = toLogger({
      info: (...a: unknown[]) => calls.push(a),
      warn: () => {
        throw new Error('broken logger');
      },
      error: () => undefined,
    });
    expect(() => logger.warn('x', { secret: 'db' })).not.toThrow();
    logger.info('hello', { secret: 'db' });
    expect(JSON.stringify(calls)).toBe('[["hello",{"secret":"db"}]]');
  });
});
