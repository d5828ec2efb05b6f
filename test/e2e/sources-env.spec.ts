import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defineSecrets,
  SecretsConfigError,
  SecretStore,
  sourceFromEnv,
  sourceKindFromEnv,
  type Source,
} from '@hush/core';
import { startAgent, startEmulator, type Agent, type Emulator } from '@hush/emulator';
import { createExpressDemo, DEMO_SEED } from '@hush/express-demo';
import { createNestDemo } from '@hush/nest-demo';
import { sampleLines } from './helpers';
import { recordingLogger } from '../support';

/** The same declarations run on every source; only the environment changes. */
const secrets = defineSecrets({
  db: { id: 'prod/app/db', format: 'json' },
  dbPassword: { id: 'prod/app/db', key: 'password' },
  apiKey: 'prod/app/api-key',
  signingKey: { id: 'prod/app/signing-key', format: 'binary' },
  legacy: { id: 'prod/app/legacy', optional: true },
});

const values = {
  'prod/app/db': JSON.stringify({ username: 'app', password: 'pw-CANARY-env-1', host: 'db.internal' }),
  'prod/app/api-key': 'key-CANARY-env-1',
  'prod/app/signing-key': Buffer.from([0x00, 0x9f, 0xff, 0x43, 0x41, 0x4e, 0x41, 0x52, 0x59]), // not UTF-8
};

const TOKEN = 'e2e-agent-token';
const logger = recordingLogger();
const { lines } = logger;

let emu: Emulator;
let agent: Agent;
let dir: string;
/** Version ids of the demo secrets in the emulator (what the API and the agent report). */
const demoVersions: Record<string, string> = {};

/** CSI's default pathTranslation turns "/" into "_": objectName prod/app/db is mounted as prod_app_db. */
const fileName = (id: string) => id.replaceAll('/', '_');

beforeAll(async () => {
  emu = await startEmulator({
    seed: {
      'prod/app/db': values['prod/app/db'],
      'prod/app/api-key': values['prod/app/api-key'],
      'prod/app/signing-key': { binary: values['prod/app/signing-key'].toString('base64') },
    },
  });
  agent = await startAgent({ emulator: emu, token: TOKEN });
  dir = await mkdtemp(join(tmpdir(), 'hush-e2e-files-'));
  for (const [id, value] of Object.entries(values)) await writeFile(join(dir, fileName(id)), value);
  // The demo apps' secrets (demo/db, demo/api-key), in the emulator and as mounted files (demo_db, demo_api-key).
  for (const [id, value] of Object.entries(DEMO_SEED)) {
    demoVersions[id] = emu.putSecret(id, value).versionId;
    await writeFile(join(dir, fileName(id)), value);
  }
});

afterAll(async () => {
  await agent.close();
  await emu.close();
  await rm(dir, { recursive: true, force: true });
  expect(lines.join('\n')).not.toContain('CANARY');
});

function envFor(kind: 'aws' | 'agent' | 'files'): Record<string, string> {
  switch (kind) {
    case 'aws':
      return { HUSH_SOURCE: 'aws', AWS_REGION: 'us-east-1', HUSH_AWS_ENDPOINT: emu.url };
    case 'agent':
      return { HUSH_SOURCE: 'agent', HUSH_AGENT_URL: agent.url, AWS_TOKEN: TOKEN };
    case 'files':
      return { HUSH_SOURCE: 'files', HUSH_SECRETS_DIR: dir, HUSH_FILES_POLL_INTERVAL: '50ms' };
  }
}

// The emulator accepts any credentials; real deployments get them from the default provider chain.
const overrides = {
  aws: { clientConfig: { credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 } },
};

async function loadWith(
  kind: 'aws' | 'agent' | 'files',
): Promise<{ store: SecretStore<typeof secrets>; source: Source }> {
  const source = sourceFromEnv(envFor(kind), overrides);
  const store = new SecretStore(secrets, { source, refreshInterval: false, logger, minRefreshInterval: 0 });
  await store.load();
  return { store, source };
}

describe('HUSH_SOURCE=aws|agent|files: one set of declarations, identical values', () => {
  it('loads the same values through the API, the agent sidecar and mounted files', async () => {
    const results: Record<string, unknown> = {};
    const kinds = { aws: 'aws-secrets-manager', agent: 'secrets-manager-agent', files: 'mounted-files' } as const;
    for (const kind of ['aws', 'agent', 'files'] as const) {
      const { store, source } = await loadWith(kind);
      try {
        expect(source.kind).toBe(kinds[kind]);
        const health = store.health();
        expect(health.status).toBe('up');
        expect(health.secrets.legacy).toMatchObject({ status: 'missing', optional: true });
        results[kind] = {
          db: store.get('db'),
          dbPassword: store.get('dbPassword'),
          apiKey: store.get('apiKey'),
          signingKey: [...store.get('signingKey').toUint8Array()],
          legacy: store.get('legacy'),
        };
        expect(JSON.stringify(health)).not.toContain('CANARY');
      } finally {
        await store.close();
      }
    }
    expect(results.aws).toEqual({
      db: { username: 'app', password: 'pw-CANARY-env-1', host: 'db.internal' },
      dbPassword: 'pw-CANARY-env-1',
      apiKey: 'key-CANARY-env-1',
      signingKey: [...values['prod/app/signing-key']],
      legacy: undefined,
    });
    expect(results.agent).toEqual(results.aws);
    expect(results.files).toEqual(results.aws);
  });

  it('follows a rotation on each source (forced refresh for API and agent, file change for files)', async () => {
    const loaded = await Promise.all(
      (['aws', 'agent', 'files'] as const).map(async (kind) => [kind, await loadWith(kind)] as const),
    );
    try {
      emu.putSecret('prod/app/api-key', 'key-CANARY-env-2');
      await writeFile(join(dir, fileName('prod/app/api-key')), 'key-CANARY-env-2');
      for (const [kind, { store }] of loaded) {
        if (kind === 'files') {
          const until = Date.now() + 3_000;
          while (store.get('apiKey') !== 'key-CANARY-env-2' && Date.now() < until)
            await new Promise((r) => setTimeout(r, 10));
        } else {
          await store.refresh();
        }
        expect([kind, store.get('apiKey')]).toEqual([kind, 'key-CANARY-env-2']);
        expect(store.stats().rotations).toBe(1);
      }
    } finally {
      await Promise.all(loaded.map(([, { store }]) => store.close()));
    }
  });

  it('explains a wrong configuration', () => {
    expect(sourceKindFromEnv({})).toBe('aws');
    expect(() => sourceFromEnv({ HUSH_SOURCE: 'agnet' })).toThrow(SecretsConfigError);
    expect(() => sourceFromEnv({ HUSH_SOURCE: 'agnet' })).toThrow(/Did you mean "agent"\?/);
    expect(() => sourceFromEnv({ HUSH_SOURCE: 'files' })).toThrow(/HUSH_SECRETS_DIR/);
    expect(() => sourceFromEnv({ HUSH_SOURCE: 'agent', HUSH_AGENT_URL: agent.url })).toThrow(/AWS_TOKEN/);
  });
});

describe('HUSH_SOURCE=aws|agent|files: both demo apps boot on each source', () => {
  const kinds = { aws: 'aws-secrets-manager', agent: 'secrets-manager-agent', files: 'mounted-files' } as const;

  async function get(url: string): Promise<{ status: number; body: any; text: string }> {
    const res = await fetch(url);
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text), text };
  }

  /** The sources `hush_source_calls_total` counted an ok call on, from the app's /metrics. */
  async function sourcesCalled(url: string): Promise<string[]> {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('CANARY');
    const called = sampleLines(text, 'hush_source_calls_total')
      .filter((l) => l.includes('hush_outcome="ok"'))
      .map((l) => /hush_source="([^"]+)"/.exec(l)?.[1]);
    return [...new Set(called)].sort() as string[];
  }

  it.each(['aws', 'agent', 'files'] as const)(
    'HUSH_SOURCE=%s: /whoami, readiness and /metrics answer from that source',
    async (kind) => {
      const env = envFor(kind);
      const [nest, web] = await Promise.all([
        createNestDemo({ port: 0, source: sourceFromEnv(env, overrides), rotateEveryMs: 0, logLevels: false }),
        createExpressDemo({ port: 0, source: sourceFromEnv(env, overrides), rotateEvery: false, logger }),
      ]);
      try {
        // With a source and no emulator, neither demo starts one of its own.
        expect(nest.emulatorUrl).toBeUndefined();
        expect(web.emulator).toBeUndefined();
        await expect(nest.rotate()).rejects.toThrow(/No emulator/);

        const [nestWhoami, nestHealth, webWhoami, webReady] = await Promise.all([
          get(`${nest.url}/whoami`),
          get(`${nest.url}/health`),
          get(`${web.url}/whoami`),
          get(`${web.url}/readyz`),
        ]);
        expect([kind, nestWhoami.status, nestHealth.status, webWhoami.status, webReady.status]).toEqual([
          kind,
          200,
          200,
          200,
          200,
        ]);
        expect(nestWhoami.body).toMatchObject({ dbUser: 'demo_app', dbHost: 'db.demo.internal' });
        expect(webWhoami.body).toMatchObject({ dbUser: 'demo_app' });
        expect(nestHealth.body).toMatchObject({ status: 'ok', details: { secrets: { status: 'up' } } });
        expect(webReady.body).toMatchObject({ status: 'ok', details: { secrets: { status: 'up' } } });
        // Same value, same version on both apps: the emulator's version through the API and the agent,
        // a content hash for mounted files.
        expect(webWhoami.body.dbVersion).toBe(nestWhoami.body.dbVersion);
        expect(webWhoami.body.apiKeyVersion).toBe(nestWhoami.body.apiKeyVersion);
        const emulatorVersion = demoVersions['demo/db']!.slice(0, 8);
        if (kind === 'files') expect(nestWhoami.body.dbVersion).not.toBe(emulatorVersion);
        else expect(nestWhoami.body.dbVersion).toBe(emulatorVersion);

        expect(await sourcesCalled(nest.url)).toEqual([kinds[kind]]);
        expect(await sourcesCalled(web.url)).toEqual([kinds[kind]]);
        for (const r of [nestWhoami, nestHealth, webWhoami, webReady]) expect(r.text).not.toContain('CANARY');
      } finally {
        await Promise.all([nest.close(), web.close()]);
      }
    },
  );
});
