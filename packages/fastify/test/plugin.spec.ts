/**
 * `@hush/fastify` in real Fastify 5 apps: `inject()` and a real `listen()` answered over HTTP,
 * against the emulator through the real AWS SDK client.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import express from 'express';
import request from 'supertest';
import { SecretNotFoundError, SecretStore, SecretsConfigError, SecretsLoadError, memorySource } from '@hush/core';
import { createSecrets, toHealthCheckResult as expressHealthResult } from '@hush/express';
import hushDefault, {
  hushSecrets,
  SecretNotVisibleError,
  toHealthCheckResult as fastifyHealthResult,
} from '@hush/fastify';
import type { Emulator } from '@hush/emulator';
import { adminToken, apiKey, dbValue, emulator, secrets, source, waitFor } from './helpers';

let emu: Emulator;
const apps: FastifyInstance[] = [];

beforeEach(async () => {
  emu = await emulator();
});
afterEach(async () => {
  await Promise.allSettled(apps.splice(0).map((a) => a.close()));
  await emu.close();
});

/** A Fastify app with the plugin registered (not yet ready). */
function appWith(options: Record<string, unknown> = {}): FastifyInstance {
  const app = Fastify();
  apps.push(app);
  void app.register(hushSecrets, {
    secrets,
    source: source(emu),
    refreshInterval: false,
    minRefreshInterval: 0,
    ...options,
  });
  return app;
}

const json = async (app: FastifyInstance, url: string) => {
  const res = await app.inject(url);
  return { status: res.statusCode, body: res.json() as Record<string, unknown>, text: res.body };
};

describe('hushSecrets', () => {
  it('is the named and the default export, and require() gives the plugin itself', () => {
    expect(hushDefault).toBe(hushSecrets);
    expect(require('@hush/fastify')).toBe(hushSecrets);
    expect(typeof hushSecrets).toBe('function');
  });

  it('loads in onReady and serves request.secrets and app.secrets through inject()', async () => {
    const app = appWith();
    app.get('/', (req) => ({
      user: req.secrets.db.username,
      dbUser: req.secrets.dbUser,
      apiKey: req.secrets.apiKey,
      legacy: req.secrets.legacy ?? null,
      appKey: app.secrets.apiKey,
    }));
    expect(emu.calls().total).toBe(0); // nothing is fetched before ready()
    await app.ready();
    expect(app.hush.loaded).toBe(true);
    const { status, body } = await json(app, '/');
    expect(status).toBe(200);
    expect(body).toEqual({
      user: dbValue(1).username,
      dbUser: dbValue(1).username,
      apiKey: apiKey(1),
      legacy: null,
      appKey: apiKey(1),
    });
  });

  it('serves a real listen() to HTTP clients', async () => {
    const app = appWith({ healthPath: '/healthz', readinessPath: '/readyz' });
    app.get('/key', (req) => ({ apiKey: req.secrets.apiKey, password: req.secrets.db.password }));
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const [key, ready, health] = await Promise.all([
      fetch(`${address}/key`).then(async (r) => ({ status: r.status, body: await r.json() })),
      fetch(`${address}/readyz`),
      fetch(`${address}/healthz`),
    ]);
    expect(key).toEqual({ status: 200, body: { apiKey: apiKey(1), password: dbValue(1).password } });
    expect(ready.status).toBe(200);
    expect(health.status).toBe(200);
    expect(health.headers.get('cache-control')).toBe('no-store');
  });

  it('keeps one generation per request while a rotation lands mid-request', async () => {
    const app = appWith();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    app.get('/slow', async (req) => {
      const before = { key: req.secrets.apiKey, pw: req.secrets.db.password };
      entered = true;
      await gate;
      return { before, after: { key: req.secrets.apiKey, pw: req.secrets.db.password }, live: app.secrets.apiKey };
    });
    app.get('/fast', (req) => ({ key: req.secrets.apiKey }));
    await app.ready();
    const slow = app.inject('/slow');
    await waitFor(() => entered, 5_000, 'the slow request to read its secrets');
    const generation = app.hush.store.generation;
    emu.putSecret('app/api-key', apiKey(2));
    emu.putSecret('app/db', JSON.stringify(dbValue(2)));
    await app.hush.refresh();
    expect(app.hush.store.generation).toBeGreaterThan(generation);
    // A request that starts now sees the new generation…
    expect((await json(app, '/fast')).body).toEqual({ key: apiKey(2) });
    release();
    // …the one in flight keeps the values it started with, both of them.
    const res = (await slow).json() as Record<string, unknown>;
    expect(res).toEqual({
      before: { key: apiKey(1), pw: dbValue(1).password },
      after: { key: apiKey(1), pw: dbValue(1).password },
      live: apiKey(2),
    });
  });

  it('pins the generation in onRequest, before the handler first reads it', async () => {
    const app = appWith();
    app.addHook('preHandler', async () => {
      // Between onRequest and the handler: a rotation lands before any read.
      emu.putSecret('app/api-key', apiKey(3));
      await app.hush.refresh('apiKey');
    });
    app.get('/', (req) => ({ key: req.secrets.apiKey, live: app.secrets.apiKey }));
    await app.ready();
    expect((await json(app, '/')).body).toEqual({ key: apiKey(1), live: apiKey(3) });
  });

  it('rejects ready() and listen() with the SecretsLoadError naming every failing secret, and closes its store', async () => {
    const failing = Fastify();
    apps.push(failing);
    const store = new SecretStore(secrets, { source: memorySource({ 'app/db': JSON.stringify(dbValue(1)) }) });
    void failing.register(hushSecrets, { store });
    const error = await failing.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect((error as SecretsLoadError).failures.map((f) => f.name).sort()).toEqual(['adminToken', 'apiKey']);
    expect((error as Error).message).toMatch(/Failed to load 2 required secrets \[apiKey, adminToken\]/);
    await store.close();

    const down = Fastify();
    apps.push(down);
    void down.register(hushSecrets, {
      secrets,
      source: memorySource({}),
      refreshInterval: false,
    });
    const listened = await down.listen({ port: 0, host: '127.0.0.1' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(listened).toBeInstanceOf(SecretsLoadError);
    expect(down.hush.store.health().status).toBe('down');
    // The owned store was closed, so nothing keeps the process alive.
    await expect(down.hush.store.load()).rejects.toThrow(/closed/);
  });

  it('closes the store it created in onClose; a probe answered while closing says shutting_down', async () => {
    const app = appWith();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    await app.after(); // app.hush exists once the plugin is registered
    const readiness = app.hush.readiness();
    // A readiness probe in flight when shutdown begins.
    app.get('/slow-readyz', async (req, reply) => {
      entered = true;
      await gate;
      return readiness(req, reply);
    });
    app.get('/readyz', readiness);
    let closing = false;
    app.addHook('preClose', (done) => {
      closing = true;
      done();
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    expect((await fetch(`${address}/readyz`)).status).toBe(200);
    const inFlight = fetch(`${address}/slow-readyz`);
    await waitFor(() => entered, 5_000, 'the slow probe');
    const closed = app.close();
    await waitFor(() => closing, 5_000, "preClose hooks (the plugin's runs first)");
    release();
    const probe = await inFlight;
    expect(probe.status).toBe(503);
    expect(await probe.json()).toMatchObject({ status: 'shutting_down', error: { secrets: { status: 'down' } } });
    // That response began before close, so its keep-alive connection stays open (fetch's pool keeps it).
    app.server.closeAllConnections();
    await closed;
    await expect(app.hush.store.load()).rejects.toThrow(/closed/);
  });

  it('shares a store given as { store }: loads it if needed and leaves it open on close', async () => {
    const store = new SecretStore(secrets, { source: source(emu), refreshInterval: false });
    const a = Fastify();
    const b = Fastify();
    apps.push(a, b);
    await a.register(hushSecrets, { store });
    await b.register(hushSecrets, { store });
    a.get('/', (req) => req.secrets.apiKey);
    b.get('/', (req) => req.secrets.apiKey);
    await a.ready();
    const calls = emu.calls().total;
    await b.ready();
    expect(emu.calls().total).toBe(calls); // already loaded: b fetches nothing
    expect((await a.inject('/')).body).toBe(apiKey(1));
    await a.close();
    expect((await b.inject('/')).body).toBe(apiKey(1));
    await b.close();
    expect(store.loaded).toBe(true);
    expect(store.get('apiKey')).toBe(apiKey(1));
    await store.close();
  });

  it('answers health and readiness with the same status codes and JSON as @hush/express', async () => {
    // Named stores: the store's name is in both bodies (it was missing from Fastify's copy).
    const store = new SecretStore(secrets, { name: 'orders', source: source(emu), refreshInterval: false });
    const fastify = Fastify();
    apps.push(fastify);
    await fastify.register(hushSecrets, {
      store,
      healthPath: '/healthz',
      readinessPath: '/readyz',
      healthOptions: { key: 'vault' },
    });
    fastify.get('/stale-health', fastify.hush.health({ failOnStale: true }));
    const hush = await createSecrets({ name: 'orders', secrets, source: source(emu) });
    const web = express();
    web.get('/healthz', hush.health({ key: 'vault' }));
    web.get('/readyz', hush.readiness());
    web.get('/stale-health', hush.health({ failOnStale: true }));
    const compare = async (path: string) => {
      const f = await fastify.inject(path);
      const e = await request(web).get(path);
      // Versions and ages come from two stores; the shape, codes and headers must match.
      const same = (text: string) => text.replace(/"ageSeconds":\d+/g, '"ageSeconds":0');
      expect({
        status: f.statusCode,
        type: f.headers['content-type'],
        cache: f.headers['cache-control'],
        body: same(f.body),
      }).toEqual({
        status: e.status,
        type: e.headers['content-type'],
        cache: e.headers['cache-control'],
        body: same(e.text),
      });
      return f;
    };
    expect((await compare('/readyz')).statusCode).toBe(200);
    expect((await compare('/healthz')).json()).toMatchObject({
      status: 'ok',
      info: { vault: { status: 'up', name: 'orders' } },
    });
    await compare('/stale-health');
    await hush.close();
    await store.close();
  });

  it('builds health results with the same function as @hush/express (missing, stale, not loaded, closed)', async () => {
    const store = new SecretStore(secrets, { source: memorySource({ 'app/api-key': 'k-CANARY' }), bootTimeout: 50 });
    await expect(store.load()).rejects.toThrow(SecretsLoadError);
    const report = store.health();
    for (const options of [
      {},
      { failOnStale: true },
      { loaded: false },
      { loaded: true, key: 'vault' },
      { closed: true },
    ]) {
      expect(fastifyHealthResult(report, options)).toEqual(expressHealthResult(report, options));
    }
    expect(fastifyHealthResult(report, {})).toMatchObject({ status: 'error', error: { secrets: { status: 'down' } } });
    await store.close();
  });

  it('rejects a second registration with a clear error, in the same context or a child one', async () => {
    for (const where of ['same', 'child'] as const) {
      const app = appWith();
      const again = { secrets, source: memorySource({}) };
      if (where === 'same') void app.register(hushSecrets, again);
      else void app.register(async (child) => void (await child.register(hushSecrets, again)));
      const error = await app.ready().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SecretsConfigError);
      expect((error as Error).message).toContain('the plugin is already registered in this app');
    }
  });

  it('rejects unknown options, bad paths and a missing declaration with the option named', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { secrets, source: memorySource({}), refreshIntervall: '5m' },
        /refreshIntervall.*Did you mean `refreshInterval`/s,
      ],
      [{ secrets, source: memorySource({}), healthPath: 'healthz' }, /hushSecrets\.healthPath.*starting with '\/'/],
      [{ source: memorySource({}) }, /hushSecrets\.secrets.*declare your secrets/],
      [{ secrets, source: memorySource({}), readinessOptions: { failOnStale: true } }, /failOnStale/],
    ];
    for (const [options, message] of cases) {
      const app = Fastify();
      apps.push(app);
      void app.register(hushSecrets, options as never);
      await expect(app.ready()).rejects.toThrow(message);
    }
  });
});

describe('only: scoped route plugins', () => {
  /** The declared names a view lets you read (a hidden one throws). */
  const readable = (view: object): string[] =>
    ['db', 'dbUser', 'apiKey', 'adminToken'].filter((name) => {
      try {
        return (view as Record<string, unknown>)[name] !== undefined;
      } catch {
        return false;
      }
    });

  async function scopedApp(): Promise<FastifyInstance> {
    const app = appWith();
    app.setErrorHandler((error: Error, _req, reply) => {
      void reply.code(500).send({ name: error.name, message: error.message });
    });
    app.get('/all', (req) => ({ keys: readable(req.secrets) }));
    await app.register(
      async (admin) => {
        await admin.register(hushSecrets, { only: ['adminToken', 'dbUser'] });
        admin.get('/token', (req) => ({ token: req.secrets.adminToken, user: req.secrets.dbUser }));
        admin.get('/keys', (req) => ({ request: readable(req.secrets), app: readable(admin.secrets) }));
        admin.get('/hidden', (req) => req.secrets.apiKey);
        admin.get('/app-hidden', () => admin.secrets.apiKey);
        admin.get('/undeclared', (req) => (req.secrets as unknown as Record<string, unknown>)['nope']);
        await admin.register(async (nested) => {
          nested.get('/nested', (req) => ({ keys: readable(req.secrets) }));
        });
      },
      { prefix: '/admin' },
    );
    await app.ready();
    return app;
  }

  it('shows a route plugin only the names it is given; the rest of the app sees everything', async () => {
    const app = await scopedApp();
    expect((await json(app, '/admin/token')).body).toEqual({ token: adminToken(1), user: dbValue(1).username });
    expect((await json(app, '/admin/keys')).body).toEqual({
      request: ['dbUser', 'adminToken'],
      app: ['dbUser', 'adminToken'],
    });
    // Encapsulation: nested plugins inherit the scope, siblings and the parent do not.
    expect((await json(app, '/admin/nested')).body).toEqual({ keys: ['dbUser', 'adminToken'] });
    expect((await json(app, '/all')).body).toEqual({ keys: ['db', 'dbUser', 'apiKey', 'adminToken'] });
    expect(readable(app.secrets)).toEqual(['db', 'dbUser', 'apiKey', 'adminToken']);
  });

  it('throws SecretNotVisibleError for a hidden name, with the same message as @hush/express', async () => {
    const app = await scopedApp();
    for (const path of ['/admin/hidden', '/admin/app-hidden']) {
      const { status, body } = await json(app, path);
      expect(status).toBe(500);
      expect(body).toEqual({
        name: 'SecretNotVisibleError',
        message:
          'request.secrets: secret "apiKey" is declared but hidden from this route: its plugin was registered with ' +
          "app.register(hushSecrets, { only: ['dbUser', 'adminToken'] }). Add 'apiKey' to `only` to read it here.",
      });
    }
    const undeclared = await json(app, '/admin/undeclared');
    expect(undeclared.body).toEqual({
      name: 'SecretNotFoundError',
      message: 'request.secrets: secret "nope" is not declared. Declared secrets: "dbUser", "adminToken".',
    });
    expect(new SecretNotVisibleError('a', ['b'])).toBeInstanceOf(SecretNotFoundError);
  });

  it('keeps the request generation when narrowing', async () => {
    const app = appWith();
    app.addHook('onRequest', async () => {
      // After the app's pinning hook, before the scope's: a rotation lands.
      emu.putSecret('app/admin-token', adminToken(2));
      await app.hush.refresh('adminToken');
    });
    await app.register(async (admin) => {
      await admin.register(hushSecrets, { only: ['adminToken'] });
      admin.get('/t', (req) => ({ token: req.secrets.adminToken, live: admin.secrets.adminToken }));
    });
    await app.ready();
    expect((await json(app, '/t')).body).toEqual({ token: adminToken(1), live: adminToken(2) });
  });

  it('rejects misuse with the same messages as @hush/express', async () => {
    const cases: [(app: FastifyInstance) => void, string][] = [
      [
        (app) =>
          app.register(async (s) => void (await s.register(hushSecrets, { only: ['adminTokn' as 'adminToken'] }))),
        `"adminTokn" is not a declared secret. Did you mean 'adminToken'? Declared secrets: 'db', 'dbUser', 'apiKey', 'adminToken', 'legacy'.`,
      ],
      [
        (app) => app.register(async (s) => void (await s.register(hushSecrets, { only: [] }))),
        `expected a non-empty array of declared secret names, e.g. { only: ['db'] }.`,
      ],
      [
        (app) => app.register(hushSecrets, { only: ['db'] }),
        '`only` narrows an encapsulated context, but this is the context the store was registered in',
      ],
      [
        (app) =>
          app.register(async (s) => {
            await s.register(hushSecrets, { only: ['db'] });
            await s.register(async (n) => void (await n.register(hushSecrets, { only: ['apiKey'] })));
          }),
        `"apiKey" is hidden from the enclosing plugin (its only: ['db']); a nested plugin cannot widen it.`,
      ],
    ];
    for (const [misuse, message] of cases) {
      const app = appWith();
      misuse(app);
      await expect(app.ready()).rejects.toThrow(message);
    }
    // The Express wording, for the shared part of the messages.
    const hush = await createSecrets({ secrets, source: memorySource({}), load: false });
    expect(() => hush.middleware({ only: ['adminTokn' as 'adminToken'] })).toThrow(
      `"adminTokn" is not a declared secret. Did you mean 'adminToken'? Declared secrets: 'db', 'dbUser', 'apiKey', 'adminToken', 'legacy'.`,
    );
    expect(() => hush.middleware({ only: [] })).toThrow(
      `expected a non-empty array of declared secret names, e.g. { only: ['db'] }.`,
    );
    await hush.close();

    const bare = Fastify();
    apps.push(bare);
    void bare.register(async (s) => void (await s.register(hushSecrets, { only: ['db'] })));
    await expect(bare.ready()).rejects.toThrow('no store is registered above it');
  });
});

describe('request.secrets', () => {
  it('is read-only: assigning it or one of its values throws', async () => {
    const app = appWith();
    app.get('/', (req) => {
      const errors: string[] = [];
      for (const write of [
        () => ((req as unknown as { secrets: unknown }).secrets = {}),
        () => ((req.secrets as unknown as Record<string, unknown>)['apiKey'] = 'x'),
        () => ((req.secrets as unknown as Record<string, unknown>)['newName'] = 'x'),
        () => Object.defineProperty(req.secrets, 'apiKey', { value: 'x' }),
        () => Object.setPrototypeOf(req.secrets, null),
        () => ((app as unknown as { secrets: unknown }).secrets = {}),
        () => ((app.secrets as unknown as Record<string, unknown>)['apiKey'] = 'x'),
      ]) {
        try {
          write();
          errors.push('no error');
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      // The view has no own property: deleting a name removes nothing.
      delete (req.secrets as unknown as Record<string, unknown>)['apiKey'];
      return { errors, key: req.secrets.apiKey };
    });
    await app.ready();
    const { body } = await json(app, '/');
    expect(body['key']).toBe(apiKey(1));
    expect(body['errors']).toHaveLength(7);
    for (const message of body['errors'] as string[])
      expect(message).toMatch(/read-only|not extensible|Cannot redefine/);
  });

  it('reads by name only: no own keys, so keys, entries and spreads are empty; destructuring works', async () => {
    const app = appWith();
    app.get('/', (req) => {
      const { apiKey: key, dbUser } = req.secrets;
      return {
        keys: Object.keys(req.secrets),
        entries: Object.entries(req.secrets).length,
        spread: { ...req.secrets },
        has: ['apiKey' in req.secrets, 'nope' in req.secrets],
        key,
        dbUser,
        then: (req.secrets as unknown as { then?: unknown }).then ?? null,
        hasOwn: Object.prototype.hasOwnProperty.call(req.secrets, 'apiKey'),
      };
    });
    await app.ready();
    expect((await json(app, '/')).body).toEqual({
      keys: [],
      entries: 0,
      spread: {},
      has: [true, false],
      key: apiKey(1),
      dbUser: dbValue(1).username,
      then: null,
      hasOwn: false,
    });
  });

  it('adds no own property to the request', async () => {
    const bare = Fastify();
    apps.push(bare);
    let without: string[] = [];
    bare.get('/', (req) => {
      without = Reflect.ownKeys(req).map(String).sort();
      return 'ok';
    });
    await bare.ready();
    await bare.inject('/');

    const app = appWith();
    let withPlugin: string[] = [];
    app.get('/', (req) => {
      withPlugin = Reflect.ownKeys(req).map(String).sort();
      return { own: Object.prototype.hasOwnProperty.call(req, 'secrets'), enumerable: Object.keys(req) };
    });
    await app.ready();
    const { body } = await json(app, '/');
    expect(body['own']).toBe(false);
    expect(body['enumerable']).not.toContain('secrets');
    // One symbol-keyed slot (the pinned view), set up by Fastify's request constructor.
    expect(withPlugin.filter((k) => !without.includes(k))).toEqual(['Symbol(hush.view)']);
  });
});
