/** Finding the AWS CLI for the end-to-end specs that run it (aws-cli.spec.ts, aws-cli-ssm.spec.ts). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * `HUSH_AWS_CLI` if set (`none` = behave as if absent), else Debian's CLI at /usr/bin/aws (a
 * pip-installed v1 may shadow it on PATH), else `aws` on PATH.
 */
export function findAwsCli(): string | undefined {
  if (process.env.HUSH_AWS_CLI === 'none') return undefined;
  if (process.env.HUSH_AWS_CLI) return process.env.HUSH_AWS_CLI;
  if (existsSync('/usr/bin/aws')) return '/usr/bin/aws';
  return (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, 'aws'))
    .find((p) => existsSync(p));
}

/** `aws --version` (v1 printed it on stderr before 1.16, v2 on stdout), e.g. `aws-cli/1.45.11 Python/3.11.7 …`. */
export function cliVersion(cli: string): string {
  const run = spawnSync(cli, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n')[0] || `unknown version (exit ${run.status})`;
}
