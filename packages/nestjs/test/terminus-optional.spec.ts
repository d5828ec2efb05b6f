import 'reflect-metadata';

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
    // Without terminus the indicator's dependency is a descriptive placeholder token, not a crash at import.
    const deps = Reflect.getMetadata('self:paramtypes', entry.SecretsHealthIndicator) as Array<{
      index: number;
      param: unknown;
    }>;
    expect(String(deps.find((d) => d.index === 1)?.param)).toMatch(/install @nestjs\/terminus/);

    const moduleRef = await Test.createTestingModule({
      imports: [entry.SecretsModule.forTesting({ apiKey: 'k-CANARY-optional' }, { logger: false })],
    })
      .setLogger(new nest.ConsoleLogger({ logLevels: [] }))
      .compile();
    expect(moduleRef.get(entry.SecretStore, { strict: false }).get('apiKey')).toBe('k-CANARY-optional');
    await moduleRef.close();
    jest.dontMock('@nestjs/terminus');
  });
});
