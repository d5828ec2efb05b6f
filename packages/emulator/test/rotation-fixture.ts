/**
 * A rotation function written the way AWS's rotation template is (SecretsManagerRotationTemplate):
 * it checks the version's labels with DescribeSecret, creates the AWSPENDING value with
 * GetRandomPassword + PutSecretValue, "sets" it in a fake database, tests it, and moves AWSCURRENT
 * with UpdateSecretVersionStage. Only the SDK is used, so it runs against the emulator as a real
 * Lambda would against Secrets Manager.
 */
import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { RotationEvent, RotationFunction, RotationStep } from '../src/index';

/** The "database": user -> password, as setSecret leaves it. */
export type FakeDatabase = Map<string, string>;

export interface TemplateOptions {
  /** Called before each step runs; throwing fails the step. */
  beforeStep?: (event: RotationEvent) => Promise<void> | void;
}

/** Every event received, in order. */
export interface Recorder {
  events: RotationEvent[];
  steps(): RotationStep[];
}

export function recorder(): Recorder {
  const events: RotationEvent[] = [];
  return { events, steps: () => events.map((e) => e.Step) };
}

export function templateRotation(db: FakeDatabase, rec: Recorder, opts: TemplateOptions = {}): RotationFunction {
  return async (event, { client }) => {
    rec.events.push(event);
    const { SecretId: arn, ClientRequestToken: token, Step: step } = event;
    await opts.beforeStep?.(event);
    const meta = await client.send(new DescribeSecretCommand({ SecretId: arn }));
    if (!meta.RotationEnabled) throw new Error(`Secret ${arn} is not enabled for rotation`);
    const versions = meta.VersionIdsToStages ?? {};
    const stages = versions[token];
    if (!stages) throw new Error(`Secret version ${token} has no stage for rotation of secret ${arn}.`);
    if (stages.includes('AWSCURRENT')) return;
    if (!stages.includes('AWSPENDING')) throw new Error(`Secret version ${token} not set as AWSPENDING for rotation.`);

    switch (step) {
      case 'createSecret': {
        const current = await client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }));
        try {
          await client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: token, VersionStage: 'AWSPENDING' }));
          return;
        } catch (err) {
          if ((err as Error).name !== 'ResourceNotFoundException') throw err;
        }
        const { RandomPassword } = await client.send(new GetRandomPasswordCommand({ ExcludeCharacters: '"@/\\' }));
        const value = { ...(JSON.parse(current.SecretString!) as object), password: RandomPassword };
        await client.send(
          new PutSecretValueCommand({
            SecretId: arn,
            ClientRequestToken: token,
            SecretString: JSON.stringify(value),
            VersionStages: ['AWSPENDING'],
          }),
        );
        return;
      }
      case 'setSecret': {
        const pending = await client.send(
          new GetSecretValueCommand({ SecretId: arn, VersionId: token, VersionStage: 'AWSPENDING' }),
        );
        const { username, password } = JSON.parse(pending.SecretString!) as { username: string; password: string };
        db.set(username, password);
        return;
      }
      case 'testSecret': {
        const pending = await client.send(
          new GetSecretValueCommand({ SecretId: arn, VersionId: token, VersionStage: 'AWSPENDING' }),
        );
        const { username, password } = JSON.parse(pending.SecretString!) as { username: string; password: string };
        if (db.get(username) !== password) throw new Error('testSecret: the pending password does not log in');
        return;
      }
      case 'finishSecret': {
        const current = Object.entries(versions).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
        await client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: arn,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: token,
            RemoveFromVersionId: current,
          }),
        );
        return;
      }
    }
  };
}
