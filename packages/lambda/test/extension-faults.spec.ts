/**
 * The Lambda extension source under faults, as Lambda runs it: the function is its own process
 * under the runtime loop (frozen between invokes), and the extension is a fake HTTP server in this
 * test that answers however the case needs and counts what it receives.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { requireBuild, startEmulatorProcess } from '../../../test/field/helpers';
import { sleep } from '../../../test/support';
import { LambdaEnvironment, httpGet, type InvokeResult } from './runtime/lambda-runtime';

jest.setTimeout(45_000);

const fixtures = join(__dirname, 'fixtures');
/** Shaped like a session token (base64 with + / =), with a quote and a backslash (a header carries no unicode). */
const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE+/SESSIONtoken-"q"\\-x==';

/** Every 6-character window of `secret`, raw and as JSON, base64, hex and URL encoding show it. */
function fragmentsOf(secret: string): string[] {
  const out = new Set<string>();
  // By code points, so an emoji is never cut in half.
  const chars = Array.from(secret);
  for (let i = 0; i + 6 <= chars.length; i++) {
    const w = chars.slice(i, i + 6).join('');
    if (w.trim() === '') continue;
    out.add(w);
    out.add(JSON.stringify(w).slice(1, -1));
    out.add(encodeURIComponent(w));
  }
  for (let i = 0; i + 12 <= chars.length; i += 3) {
    const w = Buffer.from(chars.slice(i, i + 12).join(''));
    out.add(w.toString('base64').slice(0, 8));
    out.add(w.toString('hex').slice(0, 12));
  }
  return [...out];
}

interface FakeExtension {
  port: number;
  /** Requests received (secret reads), with the time since the server started. */
  requests: { atMs: number; url: string; token: string | undefined }[];
  answer: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

async function fakeExtension(answer: FakeExtension['answer']): Promise<FakeExtension> {
  const started = performance.now();
  const ext = { requests: [], answer } as unknown as FakeExtension;
  const server: Server = createServer((req, res) => {
    ext.requests.push({
      atMs: performance.now() - started,
      url: req.url ?? '',
      token: req.headers['x-aws-parameters-secrets-token'] as string | undefined,
    });
    ext.answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ext.port = (server.address() as { port: number }).port;
  ext.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return ext;
}

const envs: LambdaEnvironment[] = [];
const extensions: FakeExtension[] = [];

beforeAll(() => requireBuild());
afterEach(async () => {
  await Promise.all(envs.splice(0).map((e) => e.close()));
  await Promise.all(extensions.splice(0).map((x) => x.close()));
});

async function lambdaOn(ext: FakeExtension, hush: Record<string, unknown> = {}): Promise<LambdaEnvironment> {
  const e = await LambdaEnvironment.start({
    dir: fixtures,
    handler: 'two-secrets.handler',
    env: {
      HUSH_SOURCE: 'agent',
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(ext.port),
      AWS_SESSION_TOKEN: TOKEN,
      HUSH_OPTIONS: JSON.stringify({ refreshInterval: '1s', refreshJitter: 0, bootTimeout: '1s', ...hush }),
    },
  });
  envs.push(e);
  return e;
}

/** Everything the function put out: its stdout and stderr, and every payload it posted to the Runtime API. */
function everything(e: LambdaEnvironment, results: readonly InvokeResult[]): string {
  return [e.output, JSON.stringify(e.initErrors), ...results.map((r) => JSON.stringify(r.body))].join('\n');
}

describe('the Lambda extension source under faults (a real function process)', () => {
  test('an extension whose error text quotes the session token: INIT fails naming each secret and the status, and no fragment of the token gets out', async () => {
    let n = 0;
    const ext = await fakeExtension((_req, res) => {
      // A broken extension or a proxy in front of it, echoing the header it got.
      const bodies = [
        JSON.stringify({ __type: 'InternalFailure', message: `upstream failed for token ${TOKEN}` }),
        JSON.stringify({ __type: 'ResourceNotFoundException', message: `no secret for ${TOKEN.slice(2, 20)}` }),
      ];
      res.writeHead(n % 2 === 0 ? 500 : 400, { 'content-type': 'application/json' }).end(bodies[n++ % 2]);
    });
    extensions.push(ext);
    const e = await lambdaOn(ext);
    const result = await e.invoke({});
    expect(result.ok).toBe(false);
    // The token was sent (the header carries it), so the extension had it to echo.
    expect(ext.requests.length).toBeGreaterThan(0);
    expect(ext.requests.every((r) => r.token === TOKEN)).toBe(true);
    const init = JSON.stringify(e.initErrors);
    expect(e.initErrors.length).toBeGreaterThan(0);
    expect(init).toContain('SecretsLoadError');
    expect(init).toMatch(/a \(id \\"app\/a\\"\)/);
    expect(init).toMatch(/b \(id \\"app\/b\\"\)/);
    expect(init).toMatch(/InternalFailure|ResourceNotFoundException/);
    const all = everything(e, [result]);
    const leaked = fragmentsOf(TOKEN).filter((f) => all.includes(f));
    // Only a count: printing the fragments would print the token.
    expect(leaked.length).toBe(0);
  });
});

describe('the extension not ready yet at INIT', () => {
  // The Parameters and Secrets Lambda extension listens before it is ready, and until then
  // answers `400 not ready to serve traffic, please wait` (what users of it retry on: see the
  // README). INIT must wait for it, as it waits for a port that is not open yet.
  test('answers 400 "not ready to serve traffic, please wait" for its first 600 ms: INIT succeeds in the first process, nothing is logged as failed', async () => {
    // Not ready for 600 ms from the first request: a loaded machine may take longer than that to
    // start the function's process, whose first request then came after the window.
    let readyAt = Infinity;
    let notReady = 0;
    const ext = await fakeExtension((req, res) => {
      if (readyAt === Infinity) readyAt = performance.now() + 600;
      if (performance.now() < readyAt) {
        notReady++;
        return void res.writeHead(400).end('not ready to serve traffic, please wait');
      }
      const id = new URL(req.url ?? '', 'http://x').searchParams.get('secretId') ?? '';
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}-AbCdEf`,
          Name: id,
          VersionId: 'v1',
          SecretString: `value of ${id}`,
          CreatedDate: '1700000000.000',
        }),
      );
    });
    extensions.push(ext);
    const e = await lambdaOn(ext, { bootTimeout: '8s' });
    await e.waitForInit();
    expect(e.initErrors).toEqual([]);
    expect(e.procs).toHaveLength(1);
    const result = await e.invoke({});
    expect(result.ok).toBe(true);
    const { health } = result.body as { health: { status: string } };
    expect(health.status).toBe('up');
    expect(e.output).not.toMatch(/AgentHttp400|AgentNotReady|Waiting for/);
    expect(e.output).toContain('(0 failed)');
    // Knocked again while not ready, without a storm: a few requests per secret.
    expect(notReady).toBeGreaterThan(2);
    expect(notReady).toBeLessThan(60);
  });
});

/** What the hostile Express app's /ok answers. */
interface OkBody {
  lengths: { db: number };
  health: { secrets: { db: { error?: string } } };
}

describe('an Express app on Lambda through the extension, with hostile values', () => {
  const dbPassword = `pw-"'\\n\\\\-😀-${'ü'.repeat(3)}-DBPASS`;
  const values: Record<string, string> = {
    'app/api-key': 'api-"q"\\-\n-ü-😀-APIVALUE',
    'app/short': 'sh0rt!',
    'app/long': `LONG-${'ab😀\\"'.repeat(5_000)}`,
  };
  const binary = Buffer.from([0, 1, 2, 0xde, 0xad, 0xbe, 0xef, 0xff, 0x42, 0x49, 0x4e, 0x53, 0x45, 0x43, 0x52]);

  test('a bad edit (schema failure, broken JSON) keeps the last good value, and no fragment of any value or of the token gets out', async () => {
    const extension = await startEmulatorProcess(
      {
        ...values,
        'app/db': JSON.stringify({ username: 'app', password: dbPassword, port: 5432 }),
        'app/cert': { binary: binary.toString('base64') },
      } as unknown as Record<string, string>,
      ['--agent-port', '0', '--agent-token', TOKEN, '--agent-ttl', '0'],
    );
    try {
      const e = await LambdaEnvironment.start({
        dir: fixtures,
        handler: 'express-hostile.handler',
        env: {
          HUSH_SOURCE: 'agent',
          PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: new URL(extension.agentUrl!).port,
          AWS_SESSION_TOKEN: TOKEN,
          HUSH_OPTIONS: JSON.stringify({ refreshInterval: '1s', refreshJitter: 0 }),
        },
      });
      envs.push(e);
      await e.waitForInit();
      const results = [await e.invoke(httpGet('/ok'))];
      // The edits quote the password (a new one, and in the field that fails the schema).
      const edits = [
        JSON.stringify({ username: 'app', password: `${dbPassword}-2`, port: `p-${dbPassword}` }),
        `{"username":"app","password":"${dbPassword}-3",`,
      ];
      for (const edit of edits) {
        await extension.control('POST', `secrets/${encodeURIComponent('app/db')}`, { value: edit });
        await sleep(1_300);
        results.push(await e.invoke(httpGet('/ok')));
      }
      const bodies = results.map((r) => JSON.parse((r.body as { body: string }).body) as OkBody);
      // The handler still served the first password (its length), and health names the cause.
      expect(bodies.map((b) => b.lengths.db)).toEqual([dbPassword.length, dbPassword.length, dbPassword.length]);
      const db = bodies.map((b) => b.health.secrets.db.error);
      expect(db).toEqual([undefined, 'SECRET_VALIDATION_FAILED', 'SECRET_PARSE_FAILED:INVALID_JSON']);
      const all = everything(e, results);
      const secretsInProcess = [...Object.values(values), dbPassword, TOKEN, binary.toString('latin1')];
      const leaked = secretsInProcess
        .flatMap((v) => fragmentsOf(Array.from(v).slice(0, 200).join('')))
        .filter((f) => all.includes(f));
      expect(leaked.length).toBe(0);
      expect(all).not.toContain(binary.toString('hex').slice(6, 18));
      expect(all).not.toContain(binary.toString('base64').slice(4, 12));
    } finally {
      await extension.stop();
    }
  });
});
