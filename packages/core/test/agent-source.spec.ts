import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  defineSecrets,
  SecretFetchError,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  secretsManagerAgent,
  type FetchContext,
  type SecretBytes,
} from '@hush/core';
import { startAgent, startEmulator, type Agent, type AgentUpstream, type Emulator } from '@hush/emulator';
import { recordingLogger } from '../../../test/support';

const TOKEN = 'agent-token-7f3a';
const logger = recordingLogger();
const { lines } = logger;

const secrets = defineSecrets({
  db: { id: 'prod/app/db', format: 'json' },
  dbPassword: { id: 'prod/app/db', key: 'password' },
  apiKey: 'prod/app/api-key',
  cert: { id: 'prod/app/cert', format: 'binary' },
});

const ctx = (force = false): FetchContext => ({ signal: new AbortController().signal, force, reason: 'refresh' });

let emu: Emulator;
let agent: Agent;
let tmp: string;
const stores: SecretStore[] = [];

function store(
  source: ReturnType<typeof secretsManagerAgent>,
  decls: Parameters<typeof defineSecrets>[0] = secrets,
  extra: object = {},
): SecretStore {
  const s = new SecretStore(defineSecrets(decls), {
    source,
    refreshInterval: false,
    logger,
    minRefreshInterval: 0,
    ...extra,
  });
  stores.push(s);
  return s;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'hush-agent-'));
  emu = await startEmulator({
    seed: {
      'prod/app/db': JSON.stringify({ username: 'app', password: 'pw-CANARY-agent-1' }),
      'prod/app/api-key': 'key-CANARY-agent-1',
      'prod/app/cert': { binary: Buffer.from('\u0000\u0001CANARY-bin').toString('base64') },
    },
  });
  agent = await startAgent({ emulator: emu, token: TOKEN });
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  agent.clearFaults();
  agent.clearCache();
  agent.resetCalls();
  emu.resetCalls();
});

afterAll(async () => {
  await agent.close();
  await emu.close();
  await rm(tmp, { recursive: true, force: true });
  const all = lines.join('\n');
  expect(all).not.toContain('CANARY');
  expect(all).not.toContain(TOKEN);
});

describe('secretsManagerAgent over real HTTP (emulator agent mode)', () => {
  it("loads string, JSON keys and binary secrets, parsing the agent's string CreatedDate", async () => {
    const source = secretsManagerAgent({ url: agent.url, token: TOKEN });
    const s = store(source);
    await s.load();
    expect(s.get('dbPassword')).toBe('pw-CANARY-agent-1');
    expect(s.get('db')).toEqual({ username: 'app', password: 'pw-CANARY-agent-1' });
    expect(s.get('apiKey')).toBe('key-CANARY-agent-1');
    expect((s.get('cert') as unknown as SecretBytes).toBuffer().toString()).toBe('\u0000\u0001CANARY-bin');
    // The same id is fetched once: 3 agent requests for 4 declarations.
    expect(agent.calls().requests).toBe(3);
    expect(s.stats()).toMatchObject({ source: 'secrets-manager-agent', calls: { AgentGet: 3 }, failures: 0 });
    expect(s.health().status).toBe('up');

    const [raw] = await source.fetch([{ id: 'prod/app/api-key' }], ctx());
    expect(raw).toMatchObject({ ok: true });
    const secret = raw?.ok ? raw.secret : undefined;
    expect(secret!.createdDate).toBeInstanceOf(Date);
    expect(Math.abs(secret!.createdDate!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(secret!.arn).toMatch(/^arn:aws:secretsmanager:us-east-1:\d+:secret:prod\/app\/api-key-/);
  });

  it('shares one agent cache between processes: a second store costs no upstream call', async () => {
    await store(secretsManagerAgent({ url: agent.url, token: TOKEN })).load();
    const upstream = agent.calls().upstreamGetSecretValue;
    expect(upstream).toBe(3);
    const second = store(secretsManagerAgent({ url: agent.url, token: TOKEN }));
    await second.load();
    expect(agent.calls().upstreamGetSecretValue).toBe(upstream);
    expect(agent.calls().cacheHits).toBe(3);
    expect(second.get('apiKey')).toBe('key-CANARY-agent-1');
  });

  it('store.refresh() sends refreshNow=true and gets a rotated value past the agent TTL cache', async () => {
    const s = store(secretsManagerAgent({ url: agent.url, token: TOKEN }), {
      apiKey: 'prod/app/api-key',
      prev: { id: 'prod/app/api-key', versionStage: 'AWSPREVIOUS', optional: true },
    });
    await s.load();
    const rotations: string[] = [];
    s.subscribe('apiKey', (v) => void rotations.push(v as string));
    emu.putSecret('prod/app/api-key', 'key-CANARY-agent-2');
    try {
      // A non-forced read is served from the agent's 300 s cache: still the old value.
      const cached = await secretsManagerAgent({ url: agent.url, token: TOKEN }).fetch(
        [{ id: 'prod/app/api-key' }],
        ctx(false),
      );
      expect(cached[0]!.ok && cached[0]!.secret.string).toBe('key-CANARY-agent-1');
      await s.refresh();
      expect(s.get('apiKey')).toBe('key-CANARY-agent-2');
      expect(s.get('prev')).toBe('key-CANARY-agent-1');
      expect(rotations).toEqual(['key-CANARY-agent-2']);
    } finally {
      emu.putSecret('prod/app/api-key', 'key-CANARY-agent-1');
    }
  });

  it('bounds concurrency (default 8, configurable)', async () => {
    let inFlight = 0;
    let peak = 0;
    const upstream: AgentUpstream = {
      async getSecretValue({ SecretId }) {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 60));
        inFlight--;
        return { Name: SecretId, VersionId: 'v1', SecretString: `val-CANARY-${SecretId}`, CreatedDate: new Date() };
      },
    };
    const slow = await startAgent({ upstream, token: TOKEN, ttlSeconds: 0 });
    try {
      const decls: Record<string, string> = {};
      for (let i = 0; i < 20; i++) decls[`s${i}`] = `bulk/${i}`;
      const s = store(secretsManagerAgent({ url: slow.url, token: TOKEN, concurrency: 3 }), decls);
      await s.load();
      expect(peak).toBe(3);
      expect(s.get('s19')).toBe('val-CANARY-bulk/19');
      peak = 0;
      const s8 = store(secretsManagerAgent({ url: slow.url, token: TOKEN }), decls);
      await s8.load();
      expect(peak).toBe(8);
    } finally {
      await slow.close();
    }
  });

  it('treats 403 as a configuration error: fails load at once, names AWS_TOKEN, never echoes the token', async () => {
    const s = store(
      secretsManagerAgent({ url: agent.url, token: 'wrong-token-CANARY' }),
      { apiKey: 'prod/app/api-key' },
      { bootTimeout: '10s' },
    );
    const started = Date.now();
    const error = await s.load().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(2_000); // not retried until bootTimeout
    expect(error).toBeInstanceOf(SecretsLoadError);
    const failure = (error as SecretsLoadError).failures[0]!;
    expect(failure.code).toBe('AgentForbidden');
    expect(failure.message).toContain('AWS_TOKEN');
    expect(failure.message).not.toContain('wrong-token');
    expect(JSON.stringify(error)).not.toContain('CANARY');
  });

  it('requires a token at construction and resolves it from AWS_TOKEN, AWS_SESSION_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN', async () => {
    expect(() => secretsManagerAgent({ url: agent.url, env: {} })).toThrow(SecretsConfigError);
    expect(() => secretsManagerAgent({ url: agent.url, env: {} })).toThrow(/AWS_TOKEN/);
    expect(() => secretsManagerAgent({ url: 'ftp://x', token: TOKEN })).toThrow(/http/);
    expect(() => secretsManagerAgent({ url: agent.url, token: TOKEN, concurency: 2 } as never)).toThrow(
      /Did you mean `concurrency`/,
    );
    for (const name of ['AWS_TOKEN', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN']) {
      const env = { [name]: TOKEN, ...(name !== 'AWS_TOKEN' ? { AWS_TOKEN: '' } : {}) };
      const [out] = await secretsManagerAgent({ url: agent.url, env }).fetch([{ id: 'prod/app/api-key' }], ctx());
      expect(out!.ok).toBe(true);
    }
    // AWS_TOKEN wins over AWS_SESSION_TOKEN (the agent's order).
    const [out] = await secretsManagerAgent({
      url: agent.url,
      env: { AWS_TOKEN: TOKEN, AWS_SESSION_TOKEN: 'other' },
    }).fetch([{ id: 'prod/app/api-key' }], ctx());
    expect(out!.ok).toBe(true);
  });

  it('reads a file:// token and re-reads it once after a 403 (agent restarted with a new token)', async () => {
    const tokenFile = join(tmp, 'awssmatoken');
    await writeFile(tokenFile, `${TOKEN}\n`);
    let restarted: Agent | undefined;
    const first = await startAgent({ emulator: emu, token: TOKEN });
    try {
      const source = secretsManagerAgent({ url: first.url, env: { AWS_TOKEN: `file://${tokenFile}` } });
      const s = store(source, { apiKey: 'prod/app/api-key' });
      await s.load();
      const port = first.port;
      await first.close();
      restarted = await startAgent({ emulator: emu, token: 'second-token', port });
      await writeFile(tokenFile, 'second-token\n');
      await s.refresh();
      expect(s.health().secrets.apiKey).toMatchObject({ status: 'fresh' });
      expect(s.health().secrets.apiKey!.error).toBeUndefined();
      expect(restarted.calls().requests).toBe(2); // 403 with the cached token, then 200 with the re-read one
      expect(s.stats().attempts.AgentGet).toBe(3);
    } finally {
      await first.close();
      await restarted?.close();
    }
  });

  it('serves the last good value through 502, 504 and 500 (transient) and recovers', async () => {
    const s = store(secretsManagerAgent({ url: agent.url, token: TOKEN }), { apiKey: 'prod/app/api-key' });
    await s.load();
    for (const status of [502, 504, 500]) {
      agent.injectFault({ status, times: 1 });
      await s.refresh();
      const code = status === 502 ? 'ConnectionError' : status === 504 ? 'TimeoutError' : 'InternalFailure';
      expect(s.health().secrets.apiKey).toMatchObject({ status: 'error', error: code });
      expect(s.get('apiKey')).toBe('key-CANARY-agent-1');
    }
    const [out] = await secretsManagerAgent({ url: agent.url, token: TOKEN }).fetch(
      [{ id: 'prod/app/api-key' }],
      ctx(),
    );
    expect(out!.ok).toBe(true);
    agent.injectFault({ status: 503, times: 1 });
    const [failed] = await secretsManagerAgent({ url: agent.url, token: TOKEN }).fetch(
      [{ id: 'prod/app/api-key' }],
      ctx(),
    );
    expect(failed!.ok).toBe(false);
    expect(!failed!.ok && failed!.error.retryable).toBe(true);
    await s.refresh();
    expect(s.health().secrets.apiKey).toMatchObject({ status: 'fresh' });
  });

  it('retries transient failures during load until the agent answers', async () => {
    agent.injectFault({ status: 502, times: 2 });
    const s = store(
      secretsManagerAgent({ url: agent.url, token: TOKEN }),
      { apiKey: 'prod/app/api-key' },
      { backoff: { initial: 10, max: 20 } },
    );
    await s.load();
    expect(s.get('apiKey')).toBe('key-CANARY-agent-1');
    expect(s.stats().outcomes.AgentGet).toEqual({ ConnectionError: 2, ok: 1 });
  });

  it('maps a missing secret (400 ResourceNotFoundException) to a non-retryable error with that code', async () => {
    const s = store(
      secretsManagerAgent({ url: agent.url, token: TOKEN }),
      { gone: 'prod/app/missing', maybe: { id: 'prod/app/also-missing', optional: true } },
      { bootTimeout: '10s' },
    );
    const started = Date.now();
    const error = (await s.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error.failures).toEqual([expect.objectContaining({ name: 'gone', code: 'ResourceNotFoundException' })]);
  });

  it('times out a hung agent (retryable TimeoutError) and reports ECONNREFUSED with a hint', async () => {
    agent.injectFault({ hang: true, times: 1 });
    const [hung] = await secretsManagerAgent({ url: agent.url, token: TOKEN, requestTimeout: 150 }).fetch(
      [{ id: 'prod/app/api-key' }],
      ctx(),
    );
    expect(hung!.ok).toBe(false);
    const e = !hung!.ok ? hung!.error : undefined;
    expect(e).toBeInstanceOf(SecretFetchError);
    expect(e).toMatchObject({ awsCode: 'TimeoutError', retryable: true });

    const closed = await startAgent({ emulator: emu, token: TOKEN });
    const url = closed.url;
    await closed.close();
    const [refused] = await secretsManagerAgent({ url, token: TOKEN }).fetch([{ id: 'prod/app/api-key' }], ctx());
    expect(!refused!.ok && refused!.error).toMatchObject({ awsCode: 'ECONNREFUSED', retryable: true });
    expect(!refused!.ok && refused!.error.message).toContain('Is the Secrets Manager Agent');
  });

  it('maps 429 (connection limit) to a throttled, retryable error and aborts with the store signal', async () => {
    agent.injectFault({ status: 429, error: 'ThrottlingException', times: 1 });
    const [throttled] = await secretsManagerAgent({ url: agent.url, token: TOKEN }).fetch(
      [{ id: 'prod/app/api-key' }],
      ctx(),
    );
    expect(!throttled!.ok && throttled!.error).toMatchObject({
      awsCode: 'ThrottlingException',
      retryable: true,
      throttled: true,
    });

    agent.injectFault({ hang: true, times: 1 });
    const abort = new AbortController();
    const pending = secretsManagerAgent({ url: agent.url, token: TOKEN }).fetch([{ id: 'prod/app/api-key' }], {
      signal: abort.signal,
      force: false,
      reason: 'load',
    });
    setTimeout(() => abort.abort(new SecretFetchError('*', 'TimeoutError', 'deadline', { retryable: true })), 50);
    const [aborted] = await pending;
    expect(!aborted!.ok && aborted!.error).toMatchObject({ awsCode: 'TimeoutError', retryable: true });
  });
});

describe('the Lambda extension while it starts', () => {
  // It listens before it is ready and answers 400 "not ready to serve traffic, please wait".
  it('a 400 "not ready to serve traffic" is a retryable AgentNotReady; a load knocks again until it is ready', async () => {
    let notReady = 3;
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      if (notReady-- > 0) return void res.writeHead(400).end('not ready to serve traffic, please wait');
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ Name: 'prod/app/api-key', VersionId: 'v1', SecretString: 'key-CANARY-ready' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const source = secretsManagerAgent({ url, token: TOKEN });
      const load: FetchContext = { signal: new AbortController().signal, force: false, reason: 'load' };
      const [loaded] = await source.fetch([{ id: 'prod/app/api-key' }], load);
      expect(loaded!.ok).toBe(true);
      expect(requests).toBe(4);
      // A refresh is not knocked on again: the store's retry schedule takes it.
      notReady = 1;
      const [refreshed] = await source.fetch([{ id: 'prod/app/api-key' }], ctx());
      const error = refreshed && !refreshed.ok ? refreshed.error : undefined;
      expect(error).toBeInstanceOf(SecretFetchError);
      expect(error!.awsCode).toBe('AgentNotReady');
      expect(error!.retryable).toBe(true);
      expect(error!.message).toContain('not ready to serve traffic');
      expect(requests).toBe(5);
      await source.close();
    } finally {
      server.close();
    }
  });
});

describe('secretsManagerAgent credentials (issue 13)', () => {
  it('never shows the token: inspect with any options, console.dir, JSON, spreading, Object.keys', () => {
    const source = secretsManagerAgent({ url: agent.url, env: { AWS_SESSION_TOKEN: TOKEN } });
    const renderings = [
      inspect(source),
      inspect(source, { customInspect: false, showHidden: true, getters: true, depth: 10 }),
      inspect({ options: { source } }, { customInspect: false, showHidden: true, getters: true, depth: 10 }),
      JSON.stringify(source),
      JSON.stringify({ ...source }),
      Object.keys(source).join(','),
      String(source),
    ];
    for (const text of renderings) expect(text).not.toContain(TOKEN);
    expect(inspect(source)).toBe(
      `SecretsManagerAgentSource { url: ${agent.url}, token: [redacted] (from AWS_SESSION_TOKEN) }`,
    );
    expect(JSON.parse(JSON.stringify(source))).toEqual({
      kind: 'secrets-manager-agent',
      url: agent.url,
      token: '[redacted] (from AWS_SESSION_TOKEN)',
    });
  });

  it('keeps URL userinfo out of the url field and of every message', async () => {
    const port = new URL(agent.url).port;
    const source = secretsManagerAgent({ url: `http://admin:pa55-CANARY-word@127.0.0.1:${port}`, token: 'wrong' });
    expect(source.url).toBe(`http://127.0.0.1:${port}`);
    const [outcome] = await source.fetch([{ id: 'prod/app/api-key' }], ctx());
    expect(outcome!.ok).toBe(false);
    const error = !outcome!.ok ? outcome!.error : undefined;
    expect(error!.awsCode).toBe('AgentForbidden');
    for (const text of [error!.message, JSON.stringify(error), inspect(error, { showHidden: true, depth: 10 })]) {
      expect(text).not.toContain('pa55');
      expect(text).not.toContain('admin');
    }
    expect(() => secretsManagerAgent({ url: 'http//user:pa55-CANARY@x', token: 't' })).toThrow(
      /cannot parse the url option as a URL \(its text is not shown\)/,
    );
  });

  it('refuses plain http to a non-loopback host unless allowInsecureHttp is set', () => {
    for (const url of ['http://10.0.0.7:2773', 'http://agent.internal:2773', 'http://[fd00::1]:2773']) {
      expect(() => secretsManagerAgent({ url, token: 't' })).toThrow(SecretsConfigError);
      expect(() => secretsManagerAgent({ url, token: 't' })).toThrow(/refusing plain http to .*not loopback/);
      expect(secretsManagerAgent({ url, token: 't', allowInsecureHttp: true }).url).toBe(url);
    }
    for (const url of ['http://localhost:2773', 'http://127.0.0.1:2773', 'http://127.8.9.10:1', 'http://[::1]:2773']) {
      expect(secretsManagerAgent({ url, token: 't' }).url).toBe(url);
    }
    expect(secretsManagerAgent({ url: 'https://agent.internal:2773', token: 't' }).url).toBe(
      'https://agent.internal:2773',
    );
  });

  it('warns once, without the token, when the token file is readable by every user', async () => {
    const warnings = recordingLogger();
    const tokenFile = join(tmp, 'world-readable-token');
    await writeFile(tokenFile, `${TOKEN}\n`);
    await chmod(tokenFile, 0o644);
    const tokenOption = `file://${tokenFile}`;
    const s = store(
      secretsManagerAgent({ url: agent.url, token: tokenOption }),
      { apiKey: 'prod/app/api-key' },
      {
        logger: warnings,
      },
    );
    await s.load();
    await s.refresh();
    const warned = warnings.records.filter((r) => r.fields.event === 'agent-token-file-world-readable');
    expect(warned).toHaveLength(1);
    expect(warned[0]!.message).toContain('mode 0644');
    expect(warned[0]!.message).toContain('0600');
    expect(warnings.lines.join('\n')).not.toContain(TOKEN);

    const quiet = recordingLogger();
    await chmod(tokenFile, 0o600);
    const owner = store(
      secretsManagerAgent({ url: agent.url, token: tokenOption }),
      { apiKey: 'prod/app/api-key' },
      {
        logger: quiet,
      },
    );
    await owner.load();
    expect(quiet.records.filter((r) => r.fields.event === 'agent-token-file-world-readable')).toEqual([]);
  });

  /** A fake agent answering each request with the next of `bodies` (status, body), in turn. */
  async function answering(bodies: readonly [number, string][]): Promise<{ server: Server; url: string }> {
    let next = 0;
    const server = createServer((_req, res) => {
      const [status, body] = bodies[next++ % bodies.length]!;
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
  }

  // The token is a credential (in Lambda, AWS_SESSION_TOKEN): an agent, a proxy or a broken
  // extension that quotes it in its error text must not get it into a message, a code or stats.
  it('withholds agent error text and codes that carry a fragment or an encoding of the token', async () => {
    const token = 'IQoJb3JpZ2luX2VjEXAMPLE+/SESSIONtoken-"q"\\-ü==';
    const bodies: [number, string][] = [
      [500, JSON.stringify({ __type: 'InternalFailure', message: `upstream call with token ${token}` })],
      [400, JSON.stringify({ __type: 'ResourceNotFoundException', message: `no secret for ${token.slice(3, 12)}` })],
      [400, JSON.stringify({ __type: token.slice(0, 16), message: 'not found' })],
      [401, `Bad Token: ${token}`],
      [502, `forbidden ${Buffer.from(token).toString('base64')}`],
      [404, `Not found: ${encodeURIComponent(token)}`],
      [429, JSON.stringify({ message: `Connection limit exceeded for ${Buffer.from(token).toString('hex')}` })],
    ];
    const { server, url } = await answering(bodies);
    try {
      const source = secretsManagerAgent({ url, env: { AWS_SESSION_TOKEN: token } });
      const shown: string[] = [];
      for (let i = 0; i < bodies.length; i++) {
        const [outcome] = await source.fetch([{ id: 'prod/app/api-key' }], ctx());
        const error = outcome && !outcome.ok ? outcome.error : undefined;
        expect(error).toBeInstanceOf(SecretFetchError);
        // The status stays in the code; the text that quoted the token is replaced by a note.
        expect(error!.awsCode).toMatch(
          i === 2
            ? /^AgentHttp400$/
            : /^(InternalFailure|ResourceNotFoundException|AgentHttp\d+|AgentNotFound|AgentConnectionLimitExceeded)$/,
        );
        if (i !== 2) expect(error!.message).toContain('text withheld, it quotes the SSRF token');
        shown.push(
          error!.message,
          error!.awsCode,
          inspect(error, { showHidden: true, depth: 10 }),
          JSON.stringify(error),
        );
      }
      shown.push(JSON.stringify(source.stats()));
      const fragments = [token.slice(0, 6), token.slice(3, 12), 'SESSIONtoken', 'IQoJb3', 'SVFvSm', '49516f4a'];
      for (const text of shown) for (const f of fragments) expect(text).not.toContain(f);
      await source.close();
    } finally {
      server.close();
    }
  });
  // A token shorter than the fragment length (6) is not found by a fragment search unless it is
  // quoted: an agent that echoed it unquoted got it into the message and the code.
  it('withholds agent text and codes that quote a short token (5 characters or less) unquoted', async () => {
    for (const token of ['k9Zq2', 'X7~', 'Q7']) {
      const bodies: [number, string][] = [
        [400, JSON.stringify({ __type: 'ValidationException', message: `token ${token} is not valid` })],
        [400, JSON.stringify({ __type: `X${token}`, message: 'nope' })],
        [500, JSON.stringify({ message: `upstream saw token ${token}` })],
        [400, `not found ${token}`],
      ];
      const { server, url } = await answering(bodies);
      try {
        const source = secretsManagerAgent({ url, token });
        for (let i = 0; i < bodies.length; i++) {
          const [outcome] = await source.fetch([{ id: 'prod/app/api-key' }], ctx());
          const error = outcome && !outcome.ok ? outcome.error : undefined;
          expect(error).toBeInstanceOf(SecretFetchError);
          for (const text of [error!.message, error!.awsCode, inspect(error, { depth: 10 }), JSON.stringify(error)])
            expect(text.replace(/SecretFetchError|secret id|prod\/app\/api-key|127\.0\.0\.1:\d+/g, '')).not.toContain(
              token,
            );
        }
        await source.close();
      } finally {
        server.close();
      }
    }
  });
});
