/** Shared by the end-to-end specs: polling and reading Prometheus text from the demos' `/metrics`. */

/** Calls `probe` every 50 ms until `done(value)` or `timeoutMs`; returns the last value either way. */
export async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await probe();
  }
  return value;
}

/** The value of one Prometheus sample, e.g. `hush_rotations_total{hush_secret_name="db"}`; 0 when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `))) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** Every `name{...}` line of `text`, for asserting which label sets exist. */
export const sampleLines = (text: string, name: string): string[] =>
  text.split('\n').filter((l) => l.startsWith(`${name}{`));

/** A `hush-emulator` process started by {@link startEmulatorCli}. */
export interface EmulatorCli {
  /** The endpoint it printed. */
  endpoint: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node packages/emulator/dist/cli.js <args>` as a separate process and waits until it
 * prints its endpoint (the "Control API:" line).
 */
export async function startEmulatorCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<EmulatorCli> {
  const { spawn } = await import('node:child_process');
  const { join } = await import('node:path');
  const cli = join(__dirname, '..', '..', 'packages/emulator/dist/cli.js');
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (!output.includes('Control API:') && child.exitCode === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const endpoint = /endpoint: '([^']+)'/.exec(output)?.[1];
  if (!endpoint) {
    child.kill('SIGKILL');
    throw new Error(`hush-emulator did not start:\n${output}`);
  }
  return {
    endpoint,
    output: () => output,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
