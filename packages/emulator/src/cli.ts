#!/usr/bin/env node
import { startAgent, type Agent } from './agent';
import { startEmulator, type Emulator } from './emulator';

const USAGE = `Usage: hush-emulator [options]

Local AWS Secrets Manager emulator (awsJson1.1) with fault injection.

Options:
  --port <n>          Port (default 4566; 0 = random)
  --host <addr>       Bind address (default 127.0.0.1)
  --seed <file>       JSON seed file: {"secrets": {"name": "value"}} or {"name": "value"}
  --region <r>        Region for ARNs and clients (default us-east-1)
  --quotas aws        Throttle like the real service (GetSecretValue 10000/s, ...)
  --quota-scale <x>   Throttle at x times the AWS quotas (e.g. 0.01)
  --agent-port <n>    Also serve the Secrets Manager Agent API on this port (e.g. 2773)
  --agent-token <t>   Token the agent requires in X-Aws-Parameters-Secrets-Token (default: test)
  --agent-ttl <s>     Agent cache TTL in seconds (default 300)
  --verbose           Log every request
  -h, --help          Show this help
`;

interface CliArgs {
  port: number;
  host: string;
  seed?: string;
  region?: string;
  quotas?: 'aws';
  quotaScale?: number;
  agentPort?: number;
  agentToken?: string;
  agentTtl?: number;
  verbose: boolean;
}

function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = { port: 4566, host: '127.0.0.1', verbose: false };
  const number = (flag: string, raw: string | undefined): number => {
    const n = Number(raw);
    if (raw === undefined || !Number.isFinite(n)) throw new Error(`${flag} needs a number, got ${raw ?? 'nothing'}.`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--port':
        args.port = number(flag, value());
        break;
      case '--host':
        args.host = value() ?? args.host;
        break;
      case '--seed':
        args.seed = value();
        break;
      case '--region':
        args.region = value();
        break;
      case '--quotas': {
        const q = value();
        if (q !== 'aws')
          throw new Error(`--quotas only accepts "aws", got ${q ?? 'nothing'}. Use --quota-scale to scale them.`);
        args.quotas = 'aws';
        break;
      }
      case '--quota-scale':
        args.quotaScale = number(flag, value());
        break;
      case '--agent-port':
        args.agentPort = number(flag, value());
        break;
      case '--agent-token':
        args.agentToken = value();
        break;
      case '--agent-ttl':
        args.agentTtl = number(flag, value());
        break;
      case '--verbose':
        args.verbose = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default:
        throw new Error(`Unknown option ${arg}. Run hush-emulator --help.`);
    }
  }
  return args;
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = {
    info: (m: string) => process.stdout.write(`${m}\n`),
    warn: (m: string) => process.stderr.write(`${m}\n`),
    error: (m: string) => process.stderr.write(`${m}\n`),
    ...(args.verbose ? { debug: (m: string) => process.stdout.write(`${m}\n`) } : {}),
  };
  const emulator: Emulator = await startEmulator({
    port: args.port,
    host: args.host,
    seed: args.seed,
    region: args.region,
    quotas: args.quotaScale !== undefined ? { scale: args.quotaScale } : args.quotas,
    logger,
  });
  let agent: Agent | undefined;
  if (args.agentPort !== undefined) {
    agent = await startAgent({
      emulator,
      port: args.agentPort,
      host: args.host,
      token: args.agentToken,
      ttlSeconds: args.agentTtl,
      logger,
    });
  }
  const names = emulator.store.list().map((s) => s.name);
  process.stdout.write(
    [
      '',
      `Secrets: ${names.length === 0 ? '(none)' : names.join(', ')}`,
      '',
      'AWS CLI:',
      `  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws --region ${emulator.region} --endpoint-url ${emulator.url} secretsmanager get-secret-value --secret-id ${names[0] ?? '<name>'}`,
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
