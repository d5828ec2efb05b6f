import request from 'supertest';
import { SecretsConfigError } from '@hush/core';
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

describe.each(frameworks)('misuse on %s', (_label, express) => {
  it.each(['middleware', 'health', 'readiness'] as const)(
    'app.use(hush.%s) without the call says the fix',
    async (method) => {
      const app = express();
      app.use(hush[method] as never);
      app.get('/', (_req, res) => res.send('unreachable'));
      app.use(errorHandler);
      const res = await request(app).get('/').expect(500);
      expect(res.body.name).toBe('SecretsConfigError');
      expect(res.body.message).toContain(`hush.${method} is a factory: use app.use(hush.${method}())`);
    },
  );
});

describe('option validation', () => {
  it('rejects unknown createSecrets options with a did-you-mean hint', async () => {
    const error = await createSecrets({ secrets, source: source(emu), refreshIntervall: '5m' } as never).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SecretsConfigError);
    expect((error as Error).message).toContain('unknown option "refreshIntervall". Did you mean `refreshInterval`?');
    const noSecrets = await createSecrets({ secret: secrets, source: source(emu) } as never).catch((e: unknown) => e);
    expect((noSecrets as Error).message).toContain('Did you mean `secrets`?');
  });

  it('passes SecretStore options through and validates them', async () => {
    await expect(createSecrets({ secrets, source: source(emu), maxStaleness: 'soon' as never })).rejects.toThrow(
      /SecretStore\.maxStaleness.*cannot parse duration "soon"/,
    );
    await expect(createSecrets({ secrets: undefined as never, source: source(emu) })).rejects.toThrow(
      /createSecrets\.secrets/,
    );
    await expect(createSecrets({ secrets, source: source(emu), load: 'yes' as never })).rejects.toThrow(
      /createSecrets\.load/,
    );
  });

  it('rejects unknown middleware and health option keys', () => {
    expect(() => hush.middleware({ onlyy: ['db'] } as never)).toThrow(/unknown option "onlyy". Did you mean `only`\?/);
    expect(() => hush.health({ failOnStales: true } as never)).toThrow(/Did you mean `failOnStale`\?/);
    expect(() => hush.readiness({ failOnStale: true } as never)).toThrow(/readiness\.failOnStale.*Known options: key/);
    expect(() => hush.middleware('db' as never)).toThrow(SecretsConfigError);
  });

  it('rejects an `only` that names an undeclared secret, at creation', () => {
    // @ts-expect-error `only` is typed with the declared names
    expect(() => hush.middleware({ only: ['adminTokn'] })).toThrow(
      'Invalid Hush configuration at `middleware.only`: "adminTokn" is not a declared secret. Did you mean \'adminToken\'? ' +
        "Declared secrets: 'db', 'dbUser', 'apiKey', 'adminToken', 'legacy'.",
    );
    expect(() => hush.middleware({ only: [] })).toThrow(/non-empty array/);
  });

  it('prints itself without values', () => {
    expect(JSON.stringify(hush)).toBe(
      '{"names":["db","dbUser","apiKey","adminToken","legacy"],"loaded":true,"values":"[redacted]"}',
    );
    expect(require('node:util').inspect(hush)).toBe(
      'Hush { names: [db, dbUser, apiKey, adminToken, legacy], values: [redacted] }',
    );
  });
});
