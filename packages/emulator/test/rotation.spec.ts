import {
  CancelRotateSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { startEmulator, type Emulator, type EmulatorOptions, type RotationEvent } from '../src/index';
import { recorder, templateRotation, type FakeDatabase, type Recorder } from './rotation-fixture';

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:rotate-db';
const DAY = 86_400_000;

/** Polls a condition on the emulator's state (no fixed sleeps). */
async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('RotateSecret with rotation functions', () => {
  let emu: Emulator;
  let client: SecretsManagerClient;
  let db: FakeDatabase;
  let rec: Recorder;
  let beforeStep: ((event: RotationEvent) => Promise<void> | void) | undefined;

  const start = async (extra: Partial<EmulatorOptions> = {}) => {
    db = new Map([['app', 'p1']]);
    rec = recorder();
    beforeStep = undefined;
    emu = await startEmulator({
      seed: { 'prod/db': '{"username":"app","password":"p1"}' },
      rotationFunctions: { [LAMBDA]: templateRotation(db, rec, { beforeStep: (e) => beforeStep?.(e) }) },
      ...extra,
    });
    client = new SecretsManagerClient({
      ...emu.clientConfig(),
      retryStrategy: new ConfiguredRetryStrategy(2, () => 10),
    });
  };
  /** Makes `step` throw `message` the first time it runs. */
  const failOnce = (step: RotationEvent['Step'], message: string) => {
    let failures = 1;
    beforeStep = (e) => {
      if (e.Step === step && failures-- > 0) throw new Error(message);
    };
  };
  /** RotateSecret with a fixed token, then waits for the run. */
  const rotateAndSettle = async (token: string) => {
    await client.send(
      new RotateSecretCommand({ SecretId: 'prod/db', RotationLambdaARN: LAMBDA, ClientRequestToken: token }),
    );
    await emu.rotationsSettled();
  };
  /** Configures a schedule without rotating now (RotateImmediately false), then waits for the rotation test. */
  const schedule = async (RotationRules: {
    AutomaticallyAfterDays?: number;
    ScheduleExpression?: string;
    Duration?: string;
  }) => {
    await client.send(
      new RotateSecretCommand({
        SecretId: 'prod/db',
        RotationLambdaARN: LAMBDA,
        RotateImmediately: false,
        RotationRules,
      }),
    );
    await emu.rotationsSettled();
  };
  const current = async () =>
    JSON.parse((await client.send(new GetSecretValueCommand({ SecretId: 'prod/db' }))).SecretString!) as {
      password: string;
    };

  afterEach(async () => {
    client.destroy();
    await emu.close();
  });

  it('invokes the four steps in order, asynchronously, with the real event shape, and moves AWSCURRENT', async () => {
    await start();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    beforeStep = (e) => (e.Step === 'createSecret' ? gate : undefined);
    const out = await client.send(
      new RotateSecretCommand({
        SecretId: 'prod/db',
        RotationLambdaARN: LAMBDA,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    // RotateSecret answered while createSecret is still blocked: the steps run after it returns.
    expect(emu.rotations()[0]).toMatchObject({ state: 'running', steps: [] });
    release();
    await emu.rotationsSettled();

    const arn = emu.store.find('prod/db')!.arn;
    expect(out).toMatchObject({ ARN: arn, Name: 'prod/db', VersionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(rec.events).toEqual(
      ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((Step) => ({
        SecretId: arn,
        ClientRequestToken: out.VersionId,
        Step,
      })),
    );
    expect(emu.rotations()[0]).toMatchObject({ state: 'succeeded', trigger: 'RotateSecret', token: out.VersionId });
    const now = await current();
    expect(now.password).not.toBe('p1');
    expect(db.get('app')).toBe(now.password);
    const previous = await client.send(new GetSecretValueCommand({ SecretId: 'prod/db', VersionStage: 'AWSPREVIOUS' }));
    expect(JSON.parse(previous.SecretString!)).toMatchObject({ password: 'p1' });
  });

  it('reports the rotation fields in DescribeSecret and ListSecrets', async () => {
    await start();
    const before = await client.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    expect(before.RotationEnabled).toBeUndefined();
    expect(before.NextRotationDate).toBeUndefined();
    await client.send(
      new RotateSecretCommand({
        SecretId: 'prod/db',
        RotationLambdaARN: LAMBDA,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    await emu.rotationsSettled();
    const d = await client.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    expect(d).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: LAMBDA,
      RotationRules: { AutomaticallyAfterDays: 30 },
    });
    expect(d.LastRotatedDate).toBeInstanceOf(Date);
    expect(d.NextRotationDate!.getTime() - d.LastRotatedDate!.getTime()).toBe(30 * DAY);
    const listed = (await client.send(new ListSecretsCommand({}))).SecretList![0]!;
    expect(listed).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: LAMBDA,
      RotationRules: { AutomaticallyAfterDays: 30 },
    });
    expect(listed.NextRotationDate).toEqual(d.NextRotationDate);
    expect(listed.LastRotatedDate).toEqual(d.LastRotatedDate);
  });

  it('pauses between setSecret and finishSecret for the rotation window: both passwords are readable there', async () => {
    const windowMs = 400;
    await start({ rotationWindow: `${windowMs}ms` });
    // When setSecret starts and finishSecret is called; finishSecret is then held until the checks
    // inside the window are done (on a loaded machine they may take longer than the window).
    let setSecretAt = 0;
    let finishSecretAt = 0;
    let openFinish!: () => void;
    const finishHeld = new Promise<void>((resolve) => (openFinish = resolve));
    beforeStep = (e) => {
      if (e.Step === 'setSecret') setSecretAt = performance.now();
      if (e.Step !== 'finishSecret') return undefined;
      finishSecretAt = performance.now();
      return finishHeld;
    };
    const out = await client.send(new RotateSecretCommand({ SecretId: 'prod/db', RotationLambdaARN: LAMBDA }));
    await until(() => emu.rotations()[0]!.steps.includes('setSecret'));
    // Inside the window: the database already has the new password, AWSCURRENT is still the old one.
    expect((await current()).password).toBe('p1');
    const pending = await client.send(
      new GetSecretValueCommand({ SecretId: 'prod/db', VersionId: out.VersionId, VersionStage: 'AWSPENDING' }),
    );
    const next = (JSON.parse(pending.SecretString!) as { password: string }).password;
    expect(db.get('app')).toBe(next);
    expect(rec.steps()).toEqual(['createSecret', 'setSecret']);
    await until(() => finishSecretAt > 0);
    openFinish();
    await emu.rotationsSettled();
    // The window lies between the end of setSecret and finishSecret (1 ms: timers count whole ms).
    expect(finishSecretAt - setSecretAt).toBeGreaterThanOrEqual(windowMs - 1);
    expect((await current()).password).toBe(next);
  });

  it('a step that throws leaves AWSPENDING in place and AWSCURRENT unchanged; RotateSecret with the same token resumes', async () => {
    await start();
    failOnce('testSecret', 'database unreachable');
    const token = '11111111-2222-4333-8444-555555555555';
    await rotateAndSettle(token);
    expect(emu.rotations()[0]).toMatchObject({
      state: 'failed',
      step: 'testSecret',
      steps: ['createSecret', 'setSecret'],
      error: 'Error: database unreachable',
    });
    expect((await current()).password).toBe('p1');
    const described = await client.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    expect(described.VersionIdsToStages![token]).toEqual(['AWSPENDING']);
    const pending = await client.send(new GetSecretValueCommand({ SecretId: 'prod/db', VersionStage: 'AWSPENDING' }));
    expect(pending.VersionId).toBe(token);

    // Another token while AWSPENDING is on an unfinished version: AWS refuses and reattempts that one.
    await expect(
      client.send(new RotateSecretCommand({ SecretId: 'prod/db', ClientRequestToken: 'a'.repeat(32) })),
    ).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message: "A previous rotation isn't complete. That rotation will be reattempted.",
    });
    await emu.rotationsSettled();
    expect(emu.rotations()[1]).toMatchObject({ trigger: 'reattempt', token, state: 'succeeded' });
    expect((await current()).password).toBe(JSON.parse(pending.SecretString!).password);

    // createSecret found the pending value and did not write a second one.
    const puts = rec.events.filter((e) => e.Step === 'createSecret').length;
    expect(puts).toBe(2);
    expect(emu.calls().PutSecretValue).toBe(1);
  });

  it('resumes a failed rotation when RotateSecret is called again with the same token', async () => {
    await start();
    failOnce('finishSecret', 'lambda timed out');
    const token = '99999999-2222-4333-8444-555555555555';
    await rotateAndSettle(token);
    expect(emu.rotations()[0]).toMatchObject({ state: 'failed', step: 'finishSecret' });
    expect((await current()).password).toBe('p1');

    const again = await client.send(new RotateSecretCommand({ SecretId: 'prod/db', ClientRequestToken: token }));
    expect(again.VersionId).toBe(token);
    await emu.rotationsSettled();
    expect(emu.rotations()[1]).toMatchObject({ state: 'succeeded', token });
    expect((await current()).password).toBe(db.get('app'));
    expect(emu.calls().PutSecretValue).toBe(1);
  });

  it('a retried RotateSecret with the token of the run in progress does not start a second run', async () => {
    await start();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    beforeStep = (e) => (e.Step === 'setSecret' ? gate : undefined);
    const token = '33333333-2222-4333-8444-555555555555';
    const input = { SecretId: 'prod/db', RotationLambdaARN: LAMBDA, ClientRequestToken: token };
    await client.send(new RotateSecretCommand(input));
    expect((await client.send(new RotateSecretCommand(input))).VersionId).toBe(token);
    release();
    await emu.rotationsSettled();
    expect(emu.rotations()).toHaveLength(1);
    // And once it finished, the same token again is a no-op.
    await client.send(new RotateSecretCommand(input));
    await emu.rotationsSettled();
    expect(emu.rotations()).toHaveLength(1);
  });

  it('rejects a Lambda ARN it cannot invoke, and a secret without one', async () => {
    await start();
    await expect(
      client.send(new RotateSecretCommand({ SecretId: 'prod/db', RotationLambdaARN: `${LAMBDA}-missing` })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(client.send(new RotateSecretCommand({ SecretId: 'prod/db' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message: expect.stringContaining('No Lambda rotation function ARN is associated with this secret'),
    });
    expect(emu.rotations()).toHaveLength(0);
  });

  it('RotateImmediately false only runs testSecret, then removes the AWSPENDING version', async () => {
    await start();
    beforeStep = () => undefined;
    const out = await client.send(
      new RotateSecretCommand({
        SecretId: 'prod/db',
        RotationLambdaARN: LAMBDA,
        RotateImmediately: false,
        RotationRules: { ScheduleExpression: 'rate(10 days)' },
      }),
    );
    await emu.rotationsSettled();
    // The template's testSecret finds no pending value (the test version is empty) and throws: AWS would report it too.
    expect(rec.steps()).toEqual(['testSecret']);
    expect(emu.rotations()[0]).toMatchObject({ kind: 'test' });
    const d = await client.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    expect(d.VersionIdsToStages![out.VersionId!]).toBeUndefined();
    expect(d.RotationEnabled).toBe(true);
    expect(d.NextRotationDate!.getTime() - d.CreatedDate!.getTime()).toBeGreaterThanOrEqual(10 * DAY - 1000);
    expect((await current()).password).toBe('p1');
  });

  it('CancelRotateSecret turns rotation off and stops a rotation in progress before its next step', async () => {
    await start();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    beforeStep = (e) => (e.Step === 'setSecret' ? gate : undefined);
    const out = await client.send(
      new RotateSecretCommand({
        SecretId: 'prod/db',
        RotationLambdaARN: LAMBDA,
        RotationRules: { AutomaticallyAfterDays: 7 },
      }),
    );
    await until(() => rec.steps().includes('setSecret'));
    const cancelled = await client.send(new CancelRotateSecretCommand({ SecretId: 'prod/db' }));
    expect(cancelled).toMatchObject({ Name: 'prod/db', VersionId: out.VersionId });
    release();
    await emu.rotationsSettled();
    expect(rec.steps()).toEqual(['createSecret', 'setSecret']);
    expect(emu.rotations()[0]).toMatchObject({ state: 'cancelled' });
    const d = await client.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    expect(d.RotationEnabled).toBe(false);
    expect(d.NextRotationDate).toBeUndefined();
    expect(d.RotationLambdaARN).toBe(LAMBDA);
    expect((await current()).password).toBe('p1');
    await expect(client.send(new CancelRotateSecretCommand({ SecretId: 'prod/db' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
  });

  describe('schedules', () => {
    it('AutomaticallyAfterDays: advancing the clock 30 days triggers the due rotation', async () => {
      await start();
      await schedule({ AutomaticallyAfterDays: 30 });
      expect(emu.advanceClock('29d')).toEqual([]);
      const started = emu.advanceClock('1d');
      expect(started).toHaveLength(1);
      expect(started[0]).toMatchObject({ trigger: 'schedule', name: 'prod/db' });
      await emu.rotationsSettled();
      expect(started[0]!.state).toBe('succeeded');
      expect((await current()).password).toBe(db.get('app'));
      const d = await client.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
      expect(d.NextRotationDate!.getTime() - d.LastRotatedDate!.getTime()).toBe(30 * DAY);
    });

    it('timeScale runs a rate(4 hours) schedule by itself, in real seconds', async () => {
      // One real second = four emulated hours.
      await start({ timeScale: 4 * 3600 });
      await schedule({ ScheduleExpression: 'rate(4 hours)' });
      await until(
        () => emu.rotations().filter((r) => r.trigger === 'schedule' && r.state === 'succeeded').length >= 2,
        10_000,
      );
      expect((await current()).password).toBe(db.get('app'));
    });

    it('cron() gives the next matching UTC time, and bad rules are rejected', async () => {
      await start();
      await schedule({ ScheduleExpression: 'cron(0 16 1,15 * ? *)', Duration: '2h' });
      const next = (await client.send(new DescribeSecretCommand({ SecretId: 'prod/db' }))).NextRotationDate!;
      expect(next.getUTCHours()).toBe(16);
      expect(next.getUTCMinutes()).toBe(0);
      expect([1, 15]).toContain(next.getUTCDate());
      expect(next.getTime() - emu.now()).toBeLessThanOrEqual(17 * DAY); // 15th -> 1st of a 31-day month
      expect(next.getTime()).toBeGreaterThan(emu.now());

      for (const [rules, name] of [
        [{ AutomaticallyAfterDays: 0 }, 'ValidationException'],
        [{ AutomaticallyAfterDays: 7, ScheduleExpression: 'rate(7 days)' }, 'InvalidParameterException'],
        [{ ScheduleExpression: 'rate(2 hours)' }, 'InvalidParameterException'],
        [{ ScheduleExpression: 'every day' }, 'InvalidParameterException'],
      ] as const) {
        await expect(
          client.send(
            new RotateSecretCommand({ SecretId: 'prod/db', RotationLambdaARN: LAMBDA, RotationRules: rules }),
          ),
        ).rejects.toMatchObject({ name });
      }
    });

    it('control API: POST /_emulator/rotations/run-due with advance, GET /_emulator/rotations', async () => {
      await start();
      await schedule({ AutomaticallyAfterDays: 1 });
      const res = await fetch(`${emu.url}/_emulator/rotations/run-due`, {
        method: 'POST',
        body: JSON.stringify({ advance: '1d' }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { started: unknown[] }).started).toEqual([
        expect.objectContaining({ name: 'prod/db', trigger: 'schedule', state: 'running' }),
      ]);
      await emu.rotationsSettled();
      const list = (await (await fetch(`${emu.url}/_emulator/rotations`)).json()) as { rotations: unknown[] };
      expect(list.rotations).toEqual([
        expect.objectContaining({ kind: 'test' }),
        expect.objectContaining({
          trigger: 'schedule',
          state: 'succeeded',
          steps: ['createSecret', 'setSecret', 'testSecret', 'finishSecret'],
        }),
      ]);
    });
  });
});

describe('rotation logs', () => {
  it('a failing step logs secret, token and step, never the function error text (which may quote values)', async () => {
    const hostile = 'pw-CANARY-"quote\\back\nslash-ü-' + 'x'.repeat(300);
    const lines: string[] = [];
    const log = (m: string) => lines.push(m);
    const emu = await startEmulator({
      seed: { 'log/db': JSON.stringify({ username: 'app', password: hostile }) },
      logger: { debug: log, info: log, warn: log, error: log },
      rotationFunctions: {
        [LAMBDA]: async (event, { client }) => {
          const v = await client.send(new GetSecretValueCommand({ SecretId: event.SecretId }));
          throw new Error(`cannot log in with ${v.SecretString}`);
        },
      },
    });
    const client = new SecretsManagerClient(emu.clientConfig());
    try {
      await client.send(new RotateSecretCommand({ SecretId: 'log/db', RotationLambdaARN: LAMBDA }));
      await emu.rotationsSettled();
      expect(emu.rotations()[0]).toMatchObject({ state: 'failed', step: 'createSecret' });
      expect(emu.rotations()[0]!.error).toContain('CANARY'); // kept for the test, in the record only
      expect(lines.some((l) => l.includes('failed at createSecret'))).toBe(true);
      const all = lines.join('\n');
      for (const fragment of [
        'CANARY',
        'quote',
        'back',
        'slash',
        'ü',
        'x'.repeat(20),
        JSON.stringify(hostile).slice(1, 12),
      ]) {
        expect(all).not.toContain(fragment);
      }
    } finally {
      client.destroy();
      await emu.close();
    }
  });
});

describe('GetRandomPassword', () => {
  let emu: Emulator;
  let client: SecretsManagerClient;
  beforeAll(async () => {
    emu = await startEmulator();
    client = new SecretsManagerClient(emu.clientConfig());
  });
  afterAll(async () => {
    client.destroy();
    await emu.close();
  });

  it('defaults to 32 characters with each type, and honours length, exclusions and spaces', async () => {
    for (let i = 0; i < 20; i++) {
      const { RandomPassword: p } = await client.send(new GetRandomPasswordCommand({}));
      expect(p).toHaveLength(32);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[0-9]/);
      expect(p).toMatch(/[^a-zA-Z0-9]/);
    }
    const p = (
      await client.send(
        new GetRandomPasswordCommand({
          PasswordLength: 200,
          ExcludePunctuation: true,
          ExcludeUppercase: true,
          ExcludeCharacters: 'abc123',
          IncludeSpace: true,
        }),
      )
    ).RandomPassword!;
    expect(p).toHaveLength(200);
    expect(p).toMatch(/^[d-z04-9 ]+$/);
    expect(p).toContain(' ');
    await expect(client.send(new GetRandomPasswordCommand({ PasswordLength: 4097 }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(
      client.send(
        new GetRandomPasswordCommand({
          ExcludeLowercase: true,
          ExcludeUppercase: true,
          ExcludeNumbers: true,
          ExcludePunctuation: true,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });
});
