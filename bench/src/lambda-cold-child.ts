/**
 * One Lambda cold start as its own Node process (scenario 13). The module scope does what the
 * function's INIT does for its library, then the first invoke runs; the process prints
 * `{ initMs, firstResponseMs, value }` (milliseconds from its own time origin, about the spawn) and
 * exits. Every library gets its modules imported only in its own branch, so each pays exactly its
 * own import cost. Configured by HUSH_BENCH_COLD (JSON, {@link ColdJob}).
 */
export type ColdKind = 'hush' | 'hush-agent' | 'sdk' | 'powertools' | 'middy';

export interface ColdJob {
  readonly kind: ColdKind;
  readonly endpoint: string;
  readonly agentUrl: string;
  readonly agentToken: string;
  readonly ids: readonly string[];
}

export interface ColdResult {
  readonly initMs: number;
  readonly firstResponseMs: number;
  readonly value: string;
}

type Invoke = () => Promise<string>;
const context = { getRemainingTimeInMillis: () => 3_000, awsRequestId: 'cold' };

async function init(job: ColdJob): Promise<Invoke> {
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const decl = Object.fromEntries(job.ids.map((id, i) => [`s${i}`, id]));
  switch (job.kind) {
    case 'hush':
    case 'hush-agent': {
      const { SecretStore, awsSecretsManager, secretsManagerAgent } = await import('@hush/core');
      const { withSecrets } = await import('@hush/lambda');
      const source =
        job.kind === 'hush'
          ? awsSecretsManager({ region, endpoint: job.endpoint, clientConfig: { credentials } })
          : secretsManagerAgent({ url: job.agentUrl, token: job.agentToken });
      const store = new SecretStore(decl, { source, logger: false });
      await store.load();
      const handler = withSecrets(store, async () => job.ids.map((_, i) => store.get(`s${i}`) as string)[0]!, {
        closeOnSigterm: false,
      });
      return () => handler({}, context) as Promise<string>;
    }
    case 'sdk': {
      const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      const client = new SecretsManagerClient({ region, endpoint: job.endpoint, credentials });
      return async () =>
        (await Promise.all(job.ids.map((id) => client.send(new GetSecretValueCommand({ SecretId: id })))))[0]!
          .SecretString!;
    }
    case 'powertools': {
      const { SecretsProvider } = await import('@aws-lambda-powertools/parameters/secrets');
      const provider = new SecretsProvider({ clientConfig: { region, endpoint: job.endpoint, credentials } });
      return async () => (await Promise.all(job.ids.map((id) => provider.get(id))))[0] as string;
    }
    case 'middy': {
      const { default: middy } = await import('@middy/core');
      const { default: secretsManager } = await import('@middy/secrets-manager');
      // Default options: the fetch starts at INIT (prefetch) and the value never expires.
      const handler = middy()
        .use(
          secretsManager({
            awsClientOptions: { region, endpoint: job.endpoint, credentials },
            fetchData: decl,
            setToContext: true,
          }),
        )
        .handler(async (_event: unknown, ctx: Record<string, unknown>) => ctx['s0'] as string);
      return () => handler({}, { ...context } as never) as Promise<string>;
    }
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env['HUSH_BENCH_COLD']!) as ColdJob;
  const invoke = await init(job);
  const initMs = performance.now();
  const value = await invoke();
  const result: ColdResult = { initMs, firstResponseMs: performance.now(), value };
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
