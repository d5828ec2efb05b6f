import request from 'supertest';
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import pino from 'pino';
import pinoHttp from 'pino-http';
import { SecretNotFoundError } from '@hush/core';
import { createSecrets, type Hush } from '@hush/express';
import type { Emulator } from '@hush/emulator';
import { emulator, errorHandler, frameworks, secrets, source } from './helpers';

let emu: Emulator;
let hush: Hush<typeof secrets>;

beforeAll(async () => {
  emu = await emulator();
  hush = await createSecrets({ secrets, source: source(emu), refreshInterval: false });
});
afterAll(async () => {
  await hush.close();
  await emu.close();
});

function memoryStream(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

describe.each(frameworks)('redaction on %s', (_label, express) => {
  it('prints [redacted] through JSON.stringify, String, templates and util.inspect', async () => {
    const app = express();
    app.use(hush.middleware());
    app.get('/', (req, res) => {
      // Reading values works; printing the container never shows them.
      if (!req.secrets.db.password.includes('CANARY')) throw new Error('value not readable');
      res.json({
        json: JSON.stringify(req.secrets),
        nested: JSON.stringify({ secrets: req.secrets }),
        string: String(req.secrets),
        template: `${req.secrets}`,
        inspectSecrets: inspect(req.secrets),
        inspectDeep: inspect(req.secrets, { showHidden: true, depth: 10, showProxy: true }),
        inspectReq: inspect(req, { depth: 4 }),
        inspectReqHidden: inspect(req, { showHidden: true, depth: 2 }),
        ownKeys: Object.keys(req),
        enumerable: Object.prototype.propertyIsEnumerable.call(req, 'secrets'),
        jsonReq: JSON.stringify({ headers: req.headers, secrets: req.secrets }),
      });
    });
    app.use(errorHandler);
    const res = await request(app).get('/').expect(200);
    expect(res.body.json).toBe('"[redacted]"');
    expect(res.body.nested).toBe('{"secrets":"[redacted]"}');
    expect(res.body.string).toBe('[redacted]');
    expect(res.body.template).toBe('[redacted]');
    expect(res.body.inspectSecrets).toBe('Secrets [redacted]');
    // An accessor on Express's request prototype (no own property on req): listed, never evaluated.
    expect(res.body.inspectReqHidden).toContain('[secrets]: [Getter/Setter]');
    expect(res.body.ownKeys).not.toContain('secrets');
    expect(res.body.enumerable).toBe(false);
    expect(res.text).not.toContain('CANARY');
  });

  it('never reaches a pino-http log line, even when a handler logs req.secrets or req', async () => {
    const stream = memoryStream();
    const app = express();
    app.use(pinoHttp({ logger: pino({ level: 'trace' }, stream), serializers: { req: (req: unknown) => req } }));
    app.use(hush.middleware());
    app.get('/', (req, res) => {
      req.log.info({ secrets: req.secrets, db: req.secrets.db.host.length }, 'handling');
      req.log.info({ req }, 'whole request');
      req.log.info(`template ${req.secrets}`);
      res.json({ ok: req.secrets.apiKey.length > 0 });
    });
    for (let i = 0; i < 3; i++) await request(app).get('/').expect(200, { ok: true });
    const text = stream.text();
    expect(text).toContain('"secrets":"[redacted]"');
    expect(text).toContain('template [redacted]');
    expect(text.match(/request completed/g)).toHaveLength(3);
    expect(text).not.toContain('CANARY');
  });

  it('is read-only', async () => {
    const app = express();
    app.use(hush.middleware());
    app.get('/', (req, res) => {
      const attempts = {
        assignReq: () => ((req as { secrets: unknown }).secrets = {}),
        assignValue: () => ((req.secrets as { apiKey: string }).apiKey = 'x'),
        deleteValue: () => delete (req.secrets as { apiKey?: string }).apiKey,
        define: () => Object.defineProperty(req.secrets, 'x', { value: 1 }),
        mutateJson: () => ((req.secrets.db as { password: string }).password = 'x'),
      };
      const out: Record<string, string> = {};
      for (const [k, attempt] of Object.entries(attempts)) {
        try {
          attempt();
          out[k] = 'allowed';
        } catch (error) {
          out[k] = (error as Error).constructor.name;
        }
      }
      res.json({ out, apiKey: req.secrets.apiKey, password: req.secrets.db.password });
    });
    const res = await request(app).get('/').expect(200);
    expect(res.body.out).toEqual({
      assignReq: 'TypeError',
      assignValue: 'TypeError',
      deleteValue: 'TypeError',
      define: 'TypeError',
      mutateJson: 'TypeError',
    });
    expect(res.body.apiKey).toBe('key-CANARY-1');
    expect(res.body.password).toBe('pw-CANARY-1');
  });

  it('throws a clear error naming the available names (never values) for an undeclared name', async () => {
    const app = express();
    app.use(hush.middleware());
    let caught: unknown;
    app.get('/', (req, res) => {
      try {
        void (req.secrets as unknown as Record<string, unknown>)['dbPassword'];
      } catch (error) {
        caught = error;
      }
      res.end();
    });
    await request(app).get('/').expect(200);
    expect(caught).toBeInstanceOf(SecretNotFoundError);
    expect((caught as Error).message).toBe(
      'req.secrets: secret "dbPassword" is not declared. Declared secrets: "db", "dbUser", "apiKey", "adminToken", "legacy".',
    );
  });

  it('lets promise checks, Jest matchers and loggers probe it without throwing', async () => {
    const app = express();
    app.use(hush.middleware());
    let view: Record<string | symbol, unknown> | undefined;
    app.get('/', async (req, res) => {
      view = req.secrets as unknown as Record<string | symbol, unknown>;
      // `await` probes `then`; a thenable check must not throw.
      const awaited = await req.secrets;
      res.json({ same: awaited === req.secrets });
    });
    await request(app).get('/').expect(200, { same: true });
    const v = view!;
    for (const probe of [
      'then',
      'asymmetricMatch',
      '$$typeof',
      'nodeType',
      '@@__IMMUTABLE_ITERABLE__@@',
      '__esModule',
      'constructor',
      'toJSON',
    ]) {
      expect(() => v[probe]).not.toThrow();
    }
    expect(() => v[Symbol.iterator]).not.toThrow();
    expect(() => v[Symbol.toPrimitive]).not.toThrow();
    expect(v).toBeDefined();
    expect(v).toEqual(expect.objectContaining({ apiKey: expect.any(String) }));
    expect('apiKey' in v).toBe(true);
    expect('nope' in v).toBe(false);
    expect(inspect({ v })).toBe('{ v: Secrets [redacted] }');
  });
});
