/**
 * Whether this process runs on Lambda Managed Instances: environments that never freeze and run
 * many invokes at once, one store per Node worker thread. Detected from
 * `AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances`.
 *
 * @example
 * isManagedInstances(); // false on on-demand Lambda, true on Managed Instances
 */
export function isManagedInstances(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return env.AWS_LAMBDA_INITIALIZATION_TYPE === 'lambda-managed-instances';
}
