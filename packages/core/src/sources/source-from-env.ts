import { SecretsConfigError } from '../errors';
import { suggest, type Duration } from '../validation';
import type { AwsSecretsManagerOptions } from './aws-options';
import { awsSecretsManager } from './aws-secrets-manager.source';
import { mountedFiles, type MountedFilesOptions } from './mounted-files.source';
import { defaultAgentUrl, secretsManagerAgent, type SecretsManagerAgentOptions } from './secrets-manager-agent.source';
import type { Source } from './source';

/** Values of `HUSH_SOURCE`. */
export const SOURCE_KINDS = ['aws', 'agent', 'files'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** Options merged over what {@link sourceFromEnv} reads from the environment, per source kind. */
export interface SourceFromEnvOverrides {
  aws?: Partial<Extract<AwsSecretsManagerOptions, { client?: undefined }>>;
  agent?: Partial<SecretsManagerAgentOptions>;
  files?: Partial<MountedFilesOptions>;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Picks the source from the environment, so one build runs on the API, the agent sidecar or
 * mounted files by configuration alone.
 *
 * | `HUSH_SOURCE` | Source | Reads |
 * | --- | --- | --- |
 * | `aws` (default) | {@link awsSecretsManager} | `AWS_REGION`, `HUSH_AWS_ENDPOINT` or `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `HUSH_AWS_FAILOVER_REGIONS` (comma-separated) |
 * | `agent` | {@link secretsManagerAgent} | `HUSH_AGENT_URL` (default `http://localhost:${PARAMETERS_SECRETS_EXTENSION_HTTP_PORT}`, else `http://localhost:2773`), token from `AWS_TOKEN`, `AWS_SESSION_TOKEN`, `AWS_CONTAINER_AUTHORIZATION_TOKEN` (SnapStart, where `AWS_SESSION_TOKEN` is absent) |
 * | `files` | {@link mountedFiles} | `HUSH_SECRETS_DIR` (required), `HUSH_FILES_POLL_INTERVAL` |
 *
 * @example
 * const store = new SecretStore(secrets, { source: sourceFromEnv() });
 * // HUSH_SOURCE=agent AWS_TOKEN=file:///var/run/awssmatoken node dist/main.js
 * @throws SecretsConfigError for an unknown `HUSH_SOURCE` or a missing required variable.
 */
export function sourceFromEnv(env: Env = process.env, overrides: SourceFromEnvOverrides = {}): Source {
  const kind = sourceKindFromEnv(env);
  switch (kind) {
    case 'aws': {
      const endpoint = blank(env.HUSH_AWS_ENDPOINT) ?? blank(env.AWS_ENDPOINT_URL_SECRETS_MANAGER);
      const region = blank(env.AWS_REGION) ?? blank(env.AWS_DEFAULT_REGION);
      const failoverRegions = blank(env.HUSH_AWS_FAILOVER_REGIONS)
        ?.split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      return awsSecretsManager({
        ...(region ? { region } : {}),
        ...(endpoint ? { endpoint } : {}),
        ...(failoverRegions?.length ? { failoverRegions } : {}),
        ...overrides.aws,
      });
    }
    case 'agent':
      return secretsManagerAgent({ url: blank(env.HUSH_AGENT_URL) ?? defaultAgentUrl(env), env, ...overrides.agent });
    case 'files': {
      const dir = overrides.files?.dir ?? blank(env.HUSH_SECRETS_DIR);
      if (!dir) {
        throw new SecretsConfigError(
          'HUSH_SECRETS_DIR',
          'HUSH_SOURCE=files needs HUSH_SECRETS_DIR, the directory the secrets are mounted in (e.g. /mnt/secrets-store).',
        );
      }
      const poll = blank(env.HUSH_FILES_POLL_INTERVAL);
      return mountedFiles({
        ...(poll ? { pollInterval: (/^\d+$/.test(poll) ? Number(poll) : poll) as Duration } : {}),
        ...overrides.files,
        dir,
      });
    }
  }
}

/** The `HUSH_SOURCE` value (default `aws`). @throws SecretsConfigError with a "did you mean" hint. */
export function sourceKindFromEnv(env: Env = process.env): SourceKind {
  const raw = blank(env.HUSH_SOURCE)?.toLowerCase() ?? 'aws';
  if ((SOURCE_KINDS as readonly string[]).includes(raw)) return raw as SourceKind;
  const hint = suggest(raw, SOURCE_KINDS);
  throw new SecretsConfigError(
    'HUSH_SOURCE',
    `unknown source ${JSON.stringify(raw)}.${hint ? ` Did you mean "${hint}"?` : ''} Use one of: ${SOURCE_KINDS.join(', ')}.`,
  );
}

function blank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
