#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startAgent, type Agent } from './agent';
import { startEmulator, type Emulator } from './emulator';
import type { RotationFunction } from './rotation';
import { toMs } from './schedule';

/**
 * Flags, their environment-variable equivalents (flags win) and their help lines. The default port
 * stays 4566 (see the README: every `--endpoint-url http://localhost:4566` snippet works unchanged).
 */
const FLAGS = {
  port: { type: 'string', env: 'HUSH_EMULATOR_PORT', arg: '<n>', help: 'Port (default 4566; 0 = random)' },
  host: { type: 'string', env: 'HUSH_EMULATOR_HOST', arg: '<addr>', help: 'Bind address (default 127.0.0.1)' },
  seed: {
    type: 'string',
    env: 'HUSH_EMULATOR_SEED',
    arg: '<file>',
    help: 'JSON seed file: {"secrets": {"name": "value"}, "parameters": {"/name": "value"}} or {"name": "value"}',
  },
  region: {
    type: 'string',
    env: 'HUSH_EMULATOR_REGION',
    arg: '<r>',
    help: 'Region for ARNs and clients (default us-east-1)',
  },
  quotas: {
    type: 'string',
    env: 'HUSH_EMULATOR_QUOTAS',
    arg: 'aws',
    help: 'Throttle like the real services (GetSecretValue 10000/s, SSM gets 40/s, ...)',
  },
  'quota-scale': {
    type: 'string',
    env: 'HUSH_EMULATOR_QUOTA_SCALE',
    arg: '<x>',
    help: 'Throttle at x times the AWS quotas (e.g. 0.01)',
  },
  'agent-port': {
    type: 'string',
    env: 'HUSH_EMULATOR_AGENT_PORT',
    arg: '<n>',
    help: 'Also serve the Secrets Manager Agent API on this port (e.g. 2773)',
  },
  'agent-token': {
    type: 'string',
    env: 'HUSH_EMULATOR_AGENT_TOKEN',
    arg: '<t>',
    help: 'Token the agent requires in X-Aws-Parameters-Secrets-Token (default: test)',
  },
  'agent-ttl': {
    type: 'string',
    env: 'HUSH_EMULATOR_AGENT_TTL',
    arg: '<s>',
    help: 'Agent cache TTL in seconds (default 300)',
  },
  'rotation-module': {
    type: 'string',
    env: 'HUSH_EMULATOR_ROTATION_MODULE',
    arg: '<file>',
    help: 'Module with rotation functions: exports rotationFunctions {arn: fn}, or a Lambda handler',
  },
  'rotation-arn': {
    type: 'string',
    env: 'HUSH_EMULATOR_ROTATION_ARN',
    arg: '<arn>',
    help: 'Lambda ARN for a module that exports handler (default arn:aws:lambda:<region>:123456789012:function:rotation)',
  },
  'rotation-window': {
    type: 'string',
    env: 'HUSH_EMULATOR_ROTATION_WINDOW',
    arg: '<d>',
    help: 'Pause between setSecret and finishSecret, e.g. 5s (default 0)',
  },
  'time-scale': {
    type: 'string',
    env: 'HUSH_EMULATOR_TIME_SCALE',
    arg: '<x>',
    help: 'Emulator clock speed: 86400 = a day per second (schedules, recovery windows)',
  },
  'deletion-delay': {
    type: 'string',
    env: 'HUSH_EMULATOR_DELETION_DELAY',
    arg: '<d>',
    help: 'How long a force-deleted name stays taken (default 2s)',
  },
  verbose: { type: 'boolean', env: 'HUSH_EMULATOR_VERBOSE', arg: '', help: 'Log every request' },
  version: { type: 'boolean', env: '', arg: '', help: 'Print the version' },
  help: { type: 'boolean', short: 'h', env: '', arg: '', help: 'Show this help' },
} as const;

type Flag = keyof typeof FLAGS;

const USAGE = `Usage: hush-emulator [options]

Local AWS Secrets Manager and SSM Parameter Store emulator (awsJson1.1) with fault injection.

Options:
${(Object.entries(FLAGS) as Array<[Flag, (typeof FLAGS)[Flag]]>)
  .map(([name, f]) => `  ${`${'short' in f ? `-${f.short}, ` : ''}--${name} ${f.arg}`.padEnd(26)}${f.help}`)
  .join('\n')}

Every option except --help and --version can also come from its environment variable
(HUSH_EMULATOR_PORT, HUSH_EMULATOR_SEED, ...; a flag wins over the variable).
Exit codes: 0 stopped by SIGINT/SIGTERM, 1 start-up failure (e.g. port taken), 2 usage error.
`;

class UsageError extends Error {}

type Values = Partial<Record<Flag, string | boolean>>;

/** Flags whose value came from the environment, so errors can say where to look. */
const fromEnvironment = new Set<Flag>();

function readArgs(argv: string[], env: NodeJS.ProcessEnv): Values {
  const options = Object.fromEntries(
    Object.entries(FLAGS).map(([name, f]) => [name, { type: f.type, ...('short' in f ? { short: f.short } : {}) }]),
  );
  let parsed: { values: Record<string, string | boolean | undefined> };
  try {
    parsed = parseArgs({ args: argv, options: options as never, strict: true, allowPositionals: false });
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(e.message)?.[1] ?? e.message;
      throw new UsageError(`Unknown option ${flag}. Run hush-emulator --help.`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const flag = /--[a-z-]+/.exec(e.message)?.[0] ?? 'an option';
      throw new UsageError(`${flag} needs a value. Run hush-emulator --help.`);
    }
    throw new UsageError(`${e.message.replace(/\.?$/, '.')} Run hush-emulator --help.`);
  }
  const values: Values = {};
  for (const [name, f] of Object.entries(FLAGS) as Array<[Flag, (typeof FLAGS)[Flag]]>) {
    const fromFlag = parsed.values[name];
    const fromEnv = f.env ? env[f.env] : undefined;
    if (fromFlag !== undefined) values[name] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== '') {
      values[name] = f.type === 'boolean' ? /^(1|true|yes)$/i.test(fromEnv) : fromEnv;
      fromEnvironment.add(name);
    }
  }
  return values;
}

function number(values: Values, flag: Flag): number | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) {
    const from = fromEnvironment.has(flag) ? ` (from ${FLAGS[flag].env})` : '';
    throw new UsageError(`--${flag} needs a number, got ${String(raw)}${from}.`);
  }
  return n;
}

function text(values: Values, flag: Flag): string | undefined {
  const v = values[flag];
  return typeof v === 'string' ? v : undefined;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(resolve(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Loads a rotation module: `rotationFunctions` (or a default export of that shape) maps Lambda
 * ARNs to functions; a module with only `handler` is registered under `arn`.
 */
async function loadRotationModule(file: string, arn: string): Promise<Record<string, RotationFunction>> {
  const url = pathToFileURL(resolve(file)).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`Could not load the rotation module ${file}: ${(err as Error).message}`, { cause: err });
  }
  const dflt = mod.default as Record<string, unknown> | undefined;
  const map = (mod.rotationFunctions ?? dflt?.rotationFunctions) as Record<string, unknown> | undefined;
  const handler = mod.handler ?? dflt?.handler ?? (typeof dflt === 'function' ? dflt : undefined);
  if (map && typeof map === 'object') {
    for (const [key, fn] of Object.entries(map)) {
      if (typeof fn !== 'function')
        throw new Error(`Rotation module ${file}: rotationFunctions[${key}] is not a function.`);
    }
    return map as Record<string, RotationFunction>;
  }
  if (typeof handler === 'function') return { [arn]: handler as RotationFunction };
  throw new Error(`Rotation module ${file} exports neither rotationFunctions ({ "<lambda arn>": fn }) nor handler.`);
}

async function main(): Promise<void> {
  let values: Values;
  try {
    values = readArgs(process.argv.slice(2), process.env);
    if (values.help) {
      process.stdout.write(USAGE);
      return;
    }
    if (values.version) {
      process.stdout.write(`${version()}\n`);
      return;
    }
    const quotas = text(values, 'quotas');
    if (quotas !== undefined && quotas !== 'aws') {
      throw new UsageError(`--quotas only accepts "aws", got ${quotas}. Use --quota-scale to scale them.`);
    }
    for (const flag of ['port', 'quota-scale', 'agent-port', 'agent-ttl', 'time-scale'] as const) number(values, flag);
    if ((number(values, 'time-scale') ?? 1) <= 0) throw new UsageError('--time-scale must be greater than 0.');
    for (const flag of ['rotation-window', 'deletion-delay'] as const) {
      const v = text(values, flag);
      if (v === undefined) continue;
      try {
        toMs(v, `--${flag}`);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const logger = {
    info: (m: string) => process.stdout.write(`${m}\n`),
    warn: (m: string) => process.stderr.write(`${m}\n`),
    error: (m: string) => process.stderr.write(`${m}\n`),
    ...(values.verbose ? { debug: (m: string) => process.stdout.write(`${m}\n`) } : {}),
  };
  const region = text(values, 'region') ?? 'us-east-1';
  const port = number(values, 'port') ?? 4566;
  const host = text(values, 'host') ?? '127.0.0.1';
  const quotaScale = number(values, 'quota-scale');
  const moduleFile = text(values, 'rotation-module');
  let emulator: Emulator;
  try {
    emulator = await startEmulator({
      port,
      host,
      seed: text(values, 'seed'),
      region,
      quotas: quotaScale !== undefined ? { scale: quotaScale } : (text(values, 'quotas') as 'aws' | undefined),
      rotationWindow: text(values, 'rotation-window') as never,
      timeScale: number(values, 'time-scale'),
      deletionDelay: text(values, 'deletion-delay') as never,
      logger,
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'EADDRINUSE') {
      throw new Error(
        `port ${port} on ${host} is taken (LocalStack uses 4566 too). Use --port <n> or HUSH_EMULATOR_PORT.`,
        { cause: err },
      );
    }
    throw err;
  }
  let rotationFunctions: Record<string, RotationFunction> | undefined;
  if (moduleFile) {
    // What a rotation Lambda finds in its environment, so `new SecretsManagerClient({})` at the
    // module's top level reaches this emulator (the port is known only now, with --port 0).
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER ??= emulator.url;
    process.env.AWS_REGION ??= region;
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    rotationFunctions = await loadRotationModule(
      moduleFile,
      text(values, 'rotation-arn') ?? `arn:aws:lambda:${region}:123456789012:function:rotation`,
    ).catch(async (err: unknown) => {
      await emulator.close();
      throw err;
    });
    for (const [arn, fn] of Object.entries(rotationFunctions)) emulator.setRotationFunction(arn, fn);
  }
  let agent: Agent | undefined;
  const agentPort = number(values, 'agent-port');
  if (agentPort !== undefined) {
    agent = await startAgent({
      emulator,
      port: agentPort,
      host,
      token: text(values, 'agent-token'),
      ttlSeconds: number(values, 'agent-ttl'),
      logger,
    });
  }
  const names = emulator.store.list().map((s) => s.name);
  const parameterNames = emulator.parameters.list().map((p) => p.name);
  process.stdout.write(
    [
      '',
      `Secrets: ${names.length === 0 ? '(none)' : names.join(', ')}`,
      ...(parameterNames.length > 0 ? [`Parameters: ${parameterNames.join(', ')}`] : []),
      ...(rotationFunctions ? [`Rotation functions: ${Object.keys(rotationFunctions).join(', ')}`] : []),
      '',
      'AWS CLI:',
      `  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws --region ${emulator.region} --endpoint-url ${emulator.url} secretsmanager get-secret-value --secret-id ${names[0] ?? '<name>'}`,
      `  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws --region ${emulator.region} --endpoint-url ${emulator.url} ssm get-parameters --with-decryption --names ${parameterNames[0] ?? '<name>'}`,
      '',
      'SDK:',
      `  new SecretsManagerClient({ region: '${emulator.region}', endpoint: '${emulator.url}', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })`,
      '',
      `Control API: ${emulator.url}/_emulator/health, /_emulator/calls, POST /_emulator/faults ...`,
      ...(agent
        ? [
            '',
            `Agent: curl -H 'X-Aws-Parameters-Secrets-Token: ${agent.token}' '${agent.url}/secretsmanager/get?secretId=${names[0] ?? '<name>'}'`,
          ]
        : []),
      '',
    ].join('\n'),
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: closing\n`);
    void Promise.all([agent?.close(), emulator.close()]).then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`hush-emulator: ${(err as Error).message}\n`);
  process.exit(1);
});
