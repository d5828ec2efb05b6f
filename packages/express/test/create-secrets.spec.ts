import request from 'supertest';
import type { Server } from 'node:http';
import { SecretsLoadError, defineSecrets } from '@hush/core';
import { createSecrets, SecretNotVisibleError, type CreateSecretsOptions, type Hush } from '@hush/express';
import type { Emulator } from '@hush/emulator';
import { dbValue, emulator, errorHandler, frameworks, recordingLogger, secrets, source, until } from './helpers';

let emu: Emulator;
const hushes: Hush<any>[] = [];
const logger = recordingLogger();

async function boot(extra: Partial<CreateSecretsOptions<typeof secrets>> = {}): Promise<Hush<typeof secrets>> {
  const hush = await createSecrets({
    secrets,
    source: source(emu),
    refreshInterval: false,
    minRefreshInterval: 0,
    logger,
    ...extra,
  });
  hushes.push(hush);
  return hush;
}

beforeEach(async () => {
  emu = await emulator();
});
afterEach(async () => {
  await Promise.all(hushes.splice(0).map((h) => h.close()));
  await emu.close();
});
afterAll(() => {
  expect(logger.lines.join('\n')).not.toContain('CANARY');
});

describe.each(frameworks)('@hush/express on %s', (_label, express) => {
  describe('createSecrets', () => {
    it('rejects with the aggregate SecretsLoadError naming every missing required secret', async () => {
      const declarations = defineSecrets({
        db: 'app/db',
        gone: 'app/gone',
        alsoGone: 'app/also-gone',
        legacy: { id: 'app/nope', optional: true },
      });
      const error = await createSecrets({
        secrets: declarations,
        source: source(emu),
        refreshInterval: false,
        bootTimeout: '2s',
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SecretsLoadError);
      const load = error as SecretsLoadError;
      expect(load.failures.map((f) => [f.name, f.id, f.code])).toEqual([
        ['gone', 'app/gone', 'ResourceNotFoundException'],
        ['alsoGone', 'app/also-gone', 'ResourceNotFoundException'],
      ]);
      expect(load.message).toMatch(/Failed to load 2 required secrets \[gone, alsoGone\]/);
      expect(load.message).not.toContain('CANARY');
    });

    it('loads every declared secret in one batched call before resolving', async () => {
      const hush = await boot();
      expect(hush.loaded).toBe(true);
      expect(emu.calls().BatchGetSecretValue).toBe(1);
      expect(emu.calls().GetSecretValue).toBe(0);
      expect(hush.get('apiKey')).toBe('key-CANARY-1');
      expect(hush.store.get('dbUser')).toBe('user-CANARY-1');
    });
  });

  describe('req.secrets', () => {
    it('exposes typed values, including an absent optional secret as undefined', async () => {
      const hush = await boot();
      const app = express();
      app.use(hush.middleware());
      app.get('/', (req, res) => {
        const { username, host } = req.secrets.db;
        res.json({
          username,
          host,
          passwordLength: req.secrets.db.password.length,
          dbUser: req.secrets.dbUser,
          apiKey: req.secrets.apiKey,
          legacy: req.secrets.legacy === undefined ? 'absent' : 'present',
          frozen: Object.isFrozen(req.secrets.db),
        });
      });
      const res = await request(app).get('/').expect(200);
      expect(res.body).toEqual({
        username: 'user-CANARY-1',
        host: 'db-CANARY-1.internal',
        passwordLength: 'pw-CANARY-1'.length,
        dbUser: 'user-CANARY-1',
        apiKey: 'key-CANARY-1',
        legacy: 'absent',
        frozen: true,
      });
    });

    it('reflects a rotation on the next request, with no call to the source on the request path', async () => {
      const hush = await boot();
      const app = express();
      app.use(hush.middleware());
      app.get('/', (req, res) => res.json({ password: req.secrets.db.password, user: req.secrets.dbUser }));
      await request(app).get('/').expect(200, { password: 'pw-CANARY-1', user: 'user-CANARY-1' });
      const before = emu.calls().total;
      for (let i = 0; i < 5; i++) await request(app).get('/').expect(200);
      expect(emu.calls().total).toBe(before);

      emu.putSecret('app/db', JSON.stringify(dbValue(2)));
      await hush.refresh();
      await request(app).get('/').expect(200, { password: 'pw-CANARY-2', user: 'user-CANARY-2' });
    });

    it('keeps one generation for a request in flight while a refresh lands', async () => {
      const hush = await boot();
      const app = express();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      app.use(hush.middleware());
      app.get('/slow', async (req, res) => {
        const first = req.secrets.db.password;
        entered();
        await gate;
        res.json({ first, second: req.secrets.db.password, user: req.secrets.dbUser, apiKey: req.secrets.apiKey });
      });
      app.get('/fast', (req, res) => res.json({ password: req.secrets.db.password, apiKey: req.secrets.apiKey }));

      const slow = request(app)
        .get('/slow')
        .then((r) => r);
      await inside;
      emu.putSecret('app/db', JSON.stringify(dbValue(2)));
      emu.putSecret('app/api-key', 'key-CANARY-2');
      await hush.refresh();
      // A request that starts after the refresh sees the new generation...
      await request(app).get('/fast').expect(200, { password: 'pw-CANARY-2', apiKey: 'key-CANARY-2' });
      release();
      // ...while the one in flight still sees the generation it started with, for every name.
      const res = await slow;
      expect(res.body).toEqual({
        first: 'pw-CANARY-1',
        second: 'pw-CANARY-1',
        user: 'user-CANARY-1',
        apiKey: 'key-CANARY-1',
      });
    });

    it('hands every request of one generation the same cached view, and a new one after a change', async () => {
      const hush = await boot();
      const app = express();
      const seen: object[] = [];
      app.use(hush.middleware());
      app.get('/', (req, res) => {
        seen.push(req.secrets);
        res.end();
      });
      await request(app).get('/');
      await request(app).get('/');
      emu.putSecret('app/api-key', 'key-CANARY-2');
      await hush.refresh();
      await request(app).get('/');
      expect(seen[0]).toBe(seen[1]);
      expect(seen[2]).not.toBe(seen[1]);
    });
  });

  describe('only', () => {
    it('shows a router only the names it is given, and says how to see the others', async () => {
      const hush = await boot();
      const app = express();
      const admin = express.Router();
      admin.use(hush.middleware({ only: ['adminToken'] }));
      admin.get('/token', (req, res) => res.json({ token: req.secrets.adminToken, keys: Object.keys(req.secrets) }));
      admin.get('/leak', (req, res) => res.json({ apiKey: req.secrets.apiKey }));
      app.use('/admin', admin);
      app.get('/public', hush.middleware(), (req, res) => res.json({ keys: Object.keys(req.secrets) }));
      app.use(errorHandler);

      await request(app)
        .get('/admin/token')
        .expect(200, { token: 'admin-CANARY-1', keys: ['adminToken'] });
      const leak = await request(app).get('/admin/leak').expect(500);
      expect(leak.body.name).toBe('SecretNotVisibleError');
      expect(leak.body.message).toContain('"apiKey" is declared but hidden from this route');
      expect(leak.body.message).toContain("only: ['adminToken']");
      expect(leak.body.message).toContain("Add 'apiKey' to `only`");
      expect(leak.body.message).not.toContain('CANARY');
      const publicRes = await request(app).get('/public').expect(200);
      expect(publicRes.body.keys).toEqual(['db', 'dbUser', 'apiKey', 'adminToken']);
    });

    it('restricts the generation a request already holds from app-level middleware', async () => {
      const hush = await boot();
      const app = express();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      app.use(hush.middleware());
      app.use('/admin', async (_req, _res, next) => {
        entered();
        await gate;
        next();
      });
      app.use('/admin', hush.middleware({ only: ['adminToken'] }));
      app.get('/admin/token', (req, res) => res.json({ token: req.secrets.adminToken }));

      const pending = request(app)
        .get('/admin/token')
        .then((r) => r);
      await inside;
      emu.putSecret('app/admin-token', 'admin-CANARY-2');
      await hush.refresh();
      release();
      expect((await pending).body).toEqual({ token: 'admin-CANARY-1' });
      await request(app).get('/admin/token').expect(200, { token: 'admin-CANARY-2' });
    });

    it('throws a SecretNotVisibleError that is also a SecretNotFoundError', async () => {
      const hush = await boot();
      const app = express();
      let caught: unknown;
      app.get('/', hush.middleware({ only: ['db'] }), (req, res) => {
        try {
          void req.secrets.apiKey;
        } catch (error) {
          caught = error;
        }
        res.end();
      });
      await request(app).get('/').expect(200);
      expect(caught).toBeInstanceOf(SecretNotVisibleError);
      expect((caught as SecretNotVisibleError).code).toBe('SECRET_NOT_FOUND');
    });
  });

  describe('health and readiness', () => {
    it('follow load → outage past maxStaleness → recovery', async () => {
      const hush = await boot({
        maxStaleness: '400ms',
        refreshInterval: '100ms',
        backoff: { initial: '50ms', max: '100ms' },
      });
      const app = express();
      app.get('/healthz', hush.health());
      app.get('/healthz-strict', hush.health({ failOnStale: true }));
      app.get('/readyz', hush.readiness());

      const ok = await request(app).get('/readyz').expect(200);
      expect(ok.headers['content-type']).toMatch(/application\/json/);
      expect(ok.headers['cache-control']).toBe('no-store');
      expect(ok.body).toEqual({
        status: 'ok',
        info: { secrets: expect.objectContaining({ status: 'up', store: 'up' }) },
        error: {},
        details: { secrets: expect.objectContaining({ status: 'up', store: 'up' }) },
      });
      expect(ok.body.details.secrets.secrets.db).toEqual({
        status: 'fresh',
        version: expect.stringMatching(/^.{8}$/),
        ageSeconds: 0,
      });
      expect(ok.body.details.secrets.secrets.legacy).toEqual({
        status: 'missing',
        optional: true,
        error: 'ResourceNotFoundException',
      });
      await request(app).get('/healthz').expect(200);

      await emu.pause();
      await until(async () => (await request(app).get('/readyz')).status === 503);
      const stale = await request(app).get('/readyz').expect(503);
      expect(stale.body.status).toBe('error');
      expect(stale.body.info).toEqual({});
      expect(stale.body.error.secrets).toMatchObject({
        status: 'down',
        store: 'degraded',
        failing: ['db', 'dbUser', 'apiKey', 'adminToken'],
      });
      expect(stale.body.error.secrets.secrets.db).toMatchObject({ status: 'stale', error: expect.any(String) });
      expect(stale.body.details).toEqual(stale.body.error);
      // Liveness: the service still serves the last good values, so it stays 200 unless told otherwise.
      const live = await request(app).get('/healthz').expect(200);
      expect(live.body).toMatchObject({ status: 'ok', info: { secrets: { status: 'up', store: 'degraded' } } });
      await request(app).get('/healthz-strict').expect(503);

      await emu.resume();
      await hush.refresh();
      const recovered = await request(app).get('/readyz').expect(200);
      expect(recovered.body.details.secrets).toMatchObject({ status: 'up', store: 'up' });
      expect(recovered.body.details.secrets.secrets.db.status).toBe('fresh');
      for (const body of [ok.body, stale.body, live.body, recovered.body])
        expect(JSON.stringify(body)).not.toContain('CANARY');
    });

    it('answers 503 until loaded when created with load: false, and 503 shutting_down after close', async () => {
      const hush = await boot({ load: false });
      const app = express();
      app.get('/healthz', hush.health());
      app.get('/readyz', hush.readiness());
      app.get('/', hush.middleware(), (req, res) => res.json({ apiKey: req.secrets.apiKey }));
      app.use(errorHandler);

      const loading = await request(app).get('/readyz').expect(503);
      expect(loading.body).toMatchObject({
        status: 'error',
        info: {},
        error: { secrets: { status: 'down', store: 'down' } },
      });
      expect(loading.body.error.secrets.secrets.db).toEqual({ status: 'missing' });
      await request(app).get('/healthz').expect(503);
      const early = await request(app).get('/').expect(500);
      expect(early.body).toMatchObject({
        name: 'SecretNotLoadedError',
        message: expect.stringContaining('await hush.load()'),
      });

      await hush.load();
      await request(app).get('/readyz').expect(200);
      await request(app).get('/').expect(200, { apiKey: 'key-CANARY-1' });

      await hush.close();
      await hush.close();
      const closing = await request(app).get('/readyz').expect(503);
      expect(closing.body.status).toBe('shutting_down');
      await request(app).get('/healthz').expect(503);
      // Requests still in the pipeline keep reading the last generation during shutdown.
      await request(app).get('/').expect(200, { apiKey: 'key-CANARY-1' });
    });

    it('names a named store in both health bodies', async () => {
      const hush = await boot({ name: 'payments' });
      const app = express();
      app.get('/healthz', hush.health());
      app.get('/readyz', hush.readiness());
      for (const path of ['/healthz', '/readyz']) {
        const { body } = await request(app).get(path).expect(200);
        expect(body.details.secrets).toMatchObject({ status: 'up', store: 'up', name: 'payments' });
      }
      expect(hush.store.name).toBe('payments');
    });

    it('serves a real listening server (app.listen) end to end', async () => {
      const hush = await boot();
      const app = express();
      app.use(hush.middleware());
      app.get('/readyz', hush.readiness());
      app.get('/user', (req, res) => res.send(req.secrets.dbUser));
      const server: Server = await new Promise((resolve) => {
        const s = app.listen(0, () => resolve(s));
      });
      try {
        const port = (server.address() as { port: number }).port;
        const res = await fetch(`http://127.0.0.1:${port}/user`);
        expect(await res.text()).toBe('user-CANARY-1');
        expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
