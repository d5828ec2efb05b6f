import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

it('importing the built @hush/nestjs does not load @nestjs/terminus', () => {
  if (!existsSync(join(root, 'packages/nestjs/dist/index.js')))
    throw new Error('packages/nestjs/dist is missing: run `npm run build` first (npm test does).');
  const loaded = `() => Object.keys(require.cache).some((f) => f.includes('@nestjs/terminus'))`;
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      `const loaded = ${loaded}; require('@hush/nestjs'); require('@hush/nestjs/testing'); const before = loaded();` +
        // The control: the same check does see terminus once something loads it.
        `require('@nestjs/terminus'); console.log(JSON.stringify([before, loaded()]));`,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  expect(JSON.parse(out)).toEqual([false, true]);
});

describe('@nestjs/terminus is an optional peer', () => {
  it('the package entry loads and SecretsModule boots when terminus cannot be resolved', async () => {
    jest.resetModules();
    jest.doMock('@nestjs/terminus', () => {
      throw Object.assign(new Error("Cannot find module '@nestjs/terminus'"), { code: 'MODULE_NOT_FOUND' });
    });
    let entry!: typeof import('@hush/nestjs');
    let nest!: typeof import('@nestjs/common');
    let Test!: typeof import('@nestjs/testing').Test;
    jest.isolateModules(() => {
      entry = require('@hush/nestjs');
      nest = require('@nestjs/common');
      ({ Test } = require('@nestjs/testing'));
    });
    expect(() => require('@nestjs/terminus')).toThrow(/Cannot find module/);
    expect(typeof entry.SecretsModule.forRoot).toBe('function');
    expect(typeof entry.SecretsHealthIndicator).toBe('function');
    const moduleRef = await Test.createTestingModule({
      imports: [entry.SecretsModule.forTesting({ apiKey: 'k-CANARY-optional' }, { logger: false })],
    })
      .setLogger(new nest.ConsoleLogger({ logLevels: [] }))
      .compile();
    expect(moduleRef.get(entry.SecretStore, { strict: false }).get('apiKey')).toBe('k-CANARY-optional');
    // The indicator needs nothing from terminus: SecretsModule provides it, in terminus' result shape.
    const indicator = moduleRef.get(entry.SecretsHealthIndicator, { strict: false });
    expect(indicator.isHealthy('secrets')).toEqual({
      secrets: { status: 'up', store: 'up', secrets: { apiKey: expect.objectContaining({ status: 'fresh' }) } },
    });
    await moduleRef.close();
    jest.dontMock('@nestjs/terminus');
  });
});
