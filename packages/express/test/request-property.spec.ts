/**
 * How `req.secrets` is attached. On an Express request it is an accessor on Express's request
 * prototype reading a per-request WeakMap entry (no own property is added to `req`); anywhere
 * else (plain node:http, Connect) it is an own, non-enumerable, read-only property. These tests
 * pin the visibility that an own property used to give: mounted sub-apps, routers, leaving a
 * sub-app, requests that never ran the middleware, and an own `secrets` set by other code.
 */
import request from 'supertest';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { createSecrets, type Hush } from '@hush/express';
import type { Emulator } from '@hush/emulator';
import { emulator, errorHandler, frameworks, secrets, source } from './helpers';

let emu: Emulator;
let hush: Hush<typeof secrets>;

beforeEach(async () => {
  emu = await emulator();
  hush = await createSecrets({ secrets, source: source(emu), refreshInterval: false, minRefreshInterval: 0 });
});
afterEach(async () => {
  await hush.close();
  await emu.close();
});

type Loose = { secrets?: unknown };

describe.each(frameworks)('req.secrets on %s', (_label, express) => {
  it('adds no own property to the request', async () => {
    const app = express();
    let without: string[] = [];
    app.get('/plain', (req, res) => {
      without = Reflect.ownKeys(req).map(String).sort();
      res.end();
    });
    app.use(hush.middleware());
    app.get('/', (req, res) => {
      res.json({
        own: Object.prototype.hasOwnProperty.call(req, 'secrets'),
        ownKeys: Reflect.ownKeys(req).map(String).sort(),
        inObjectKeys: Object.keys(req).includes('secrets'),
        spread: inspect({ ...req }, { depth: 0 }).includes('secrets'),
        apiKey: req.secrets.apiKey,
      });
    });
    await request(app).get('/plain').expect(200);
    const res = await request(app).get('/').expect(200);
    expect(res.body.own).toBe(false);
    expect(res.body.inObjectKeys).toBe(false);
    expect(res.body.spread).toBe(false);
    expect(res.body.apiKey).toBe('key-CANARY-1');
    // Exactly the keys Express itself gives a request (the middleware adds none).
    expect(res.body.ownKeys).toEqual(without);
  });

  it('prints [redacted] even when inspecting the request with getters shown', async () => {
    const app = express();
    app.use(hush.middleware());
    app.get('/', (req, res) => {
      // `getters: true` also runs Express 4's deprecated `req.host` getter; keep its notice quiet.
      const quiet = process.noDeprecation;
      process.noDeprecation = true;
      try {
        res.json({
          hidden: inspect(req, { showHidden: true, depth: 2 }),
          getters: inspect(req, { showHidden: true, getters: true, depth: 2 }),
        });
      } finally {
        process.noDeprecation = quiet;
      }
    });
    const res = await request(app).get('/').expect(200);
    expect(res.body.hidden).toContain('[secrets]: [Getter/Setter]');
    expect(res.body.getters).toContain('[secrets]: [Getter/Setter] Secrets [redacted]');
    expect(res.text).not.toContain('CANARY');
  });

  it('is visible in a mounted sub-app and a nested sub-app, and after leaving them', async () => {
    const app = express();
    const sub = express();
    const inner = express();
    const seen: Record<string, unknown> = {};
    app.use(hush.middleware());
    inner.use((req, _res, next) => {
      seen['inner'] = req.secrets;
      next();
    });
    sub.use('/inner', inner);
    sub.use((req, _res, next) => {
      seen['sub'] = req.secrets;
      next();
    });
    app.use('/sub', sub);
    app.use((req, res) => {
      seen['after'] = req.secrets;
      res.json({ apiKey: req.secrets.apiKey });
    });
    await request(app).get('/sub/inner/x').expect(200, { apiKey: 'key-CANARY-1' });
    expect(seen['inner']).toBeDefined();
    expect(seen['sub']).toBe(seen['inner']);
    expect(seen['after']).toBe(seen['inner']);
  });

  it('set only inside a sub-app, stays visible to the parent app after the sub-app passes on', async () => {
    const app = express();
    const sub = express();
    sub.use(hush.middleware({ only: ['apiKey'] }));
    sub.use((_req, _res, next) => next());
    app.use('/sub', sub);
    app.use((req, res) => res.json({ apiKey: (req as Loose).secrets === undefined ? 'none' : req.secrets.apiKey }));
    app.use(errorHandler);
    await request(app).get('/sub/x').expect(200, { apiKey: 'key-CANARY-1' });
    await request(app).get('/elsewhere').expect(200, { apiKey: 'none' });
  });

  it('keeps the generation of the app-level middleware inside a sub-app that restricts it', async () => {
    const app = express();
    const admin = express();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    app.use(hush.middleware());
    admin.use(async (_req, _res, next) => {
      entered();
      await gate;
      next();
    });
    admin.use(hush.middleware({ only: ['adminToken'] }));
    admin.get('/token', (req, res) => res.json({ token: req.secrets.adminToken, keys: Object.keys(req.secrets) }));
    app.use('/admin', admin);

    const pending = request(app)
      .get('/admin/token')
      .then((r) => r);
    await inside;
    emu.putSecret('app/admin-token', 'admin-CANARY-2');
    await hush.refresh();
    release();
    expect((await pending).body).toEqual({ token: 'admin-CANARY-1', keys: ['adminToken'] });
    await request(app)
      .get('/admin/token')
      .expect(200, { token: 'admin-CANARY-2', keys: ['adminToken'] });
  });

  it('leaves requests that never ran the middleware alone: undefined, and assignable as before', async () => {
    const app = express();
    app.get('/with', hush.middleware(), (req, res) => res.json({ apiKey: req.secrets.apiKey }));
    app.get('/without', (req, res) => {
      const before = (req as Loose).secrets;
      (req as Loose).secrets = { mine: true };
      res.json({
        before: before === undefined ? 'undefined' : 'set',
        after: (req as Loose).secrets,
        enumerable: Object.prototype.propertyIsEnumerable.call(req, 'secrets'),
      });
    });
    // Another app of the same copy of Express, which never uses Hush.
    const other = express();
    other.get('/', (req, res) => {
      (req as Loose).secrets = 'theirs';
      res.json({ secrets: (req as Loose).secrets });
    });
    await request(app).get('/with').expect(200, { apiKey: 'key-CANARY-1' });
    await request(app)
      .get('/without')
      .expect(200, { before: 'undefined', after: { mine: true }, enumerable: true });
    await request(other).get('/').expect(200, { secrets: 'theirs' });
  });

  it('replaces an own `secrets` that earlier code set on the request', async () => {
    const app = express();
    app.use((req, _res, next) => {
      (req as Loose).secrets = { apiKey: 'not-from-hush' };
      next();
    });
    app.use(hush.middleware());
    app.get('/', (req, res) => {
      let assign = 'allowed';
      try {
        (req as Loose).secrets = {};
      } catch (error) {
        assign = (error as Error).constructor.name;
      }
      res.json({
        apiKey: req.secrets.apiKey,
        enumerable: Object.prototype.propertyIsEnumerable.call(req, 'secrets'),
        assign,
      });
    });
    await request(app).get('/').expect(200, { apiKey: 'key-CANARY-1', enumerable: false, assign: 'TypeError' });
  });

  it('throws a read-only TypeError on assignment even from sloppy-mode code', async () => {
    const app = express();
    app.use(hush.middleware());
    // Function() bodies are sloppy mode: an own non-writable property would fail silently there.
    const sloppyAssign = Function('req', 'req.secrets = {}; return req.secrets;') as (req: unknown) => unknown;
    app.get('/', (req, res) => {
      try {
        sloppyAssign(req);
        res.json({ thrown: false });
      } catch (error) {
        res.json({ thrown: true, name: (error as Error).name, message: (error as Error).message });
      }
    });
    const res = await request(app).get('/').expect(200);
    expect(res.body).toEqual({
      thrown: true,
      name: 'TypeError',
      message: expect.stringContaining('req.secrets is read-only'),
    });
  });
});

describe('outside Express (plain node:http)', () => {
  it('defines an own, non-enumerable, read-only property that prints [redacted]', async () => {
    const middleware = hush.middleware();
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      middleware(req, res, () => {
        const r = req as IncomingMessage & { secrets: { apiKey: string } };
        const descriptor = Object.getOwnPropertyDescriptor(req, 'secrets');
        let assign = 'allowed';
        try {
          (req as Loose).secrets = {};
        } catch (error) {
          assign = (error as Error).constructor.name;
        }
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            apiKey: r.secrets.apiKey,
            enumerable: descriptor?.enumerable,
            writable: descriptor?.writable,
            keys: Object.keys(req).includes('secrets'),
            printed: inspect(req, { showHidden: true, depth: 1 }).includes('[secrets]: Secrets [redacted]'),
            assign,
          }),
        );
      });
    });
    await request(server).get('/').expect(200, {
      apiKey: 'key-CANARY-1',
      enumerable: false,
      writable: false,
      keys: false,
      printed: true,
      assign: 'TypeError',
    });
  });
});
