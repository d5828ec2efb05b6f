/**
 * A demo (apps/*.mjs) started as its own process, the way `npm start` runs it: its output, its exit,
 * and bounded waits whose miss names the phase with the demo's exit code and the end of its output
 * (a silent hang until Jest's timeout told CI nothing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(__dirname, '..', '..');

export interface DemoProcess {
  readonly child: ChildProcess;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** The exit code once it exited, else undefined. */
  exitCode(): number | null | undefined;
  /** An error for a missed phase, with the exit code and the last 4,000 characters printed. */
  stuck(phase: string): Error;
  /** Waits for the banner's "Ctrl-C to stop"; throws `stuck` when the demo exits or `ms` pass. */
  banner(ms: number): Promise<string>;
  /**
   * Sends `signal` (unless a signal was sent already) and waits for the exit (SIGKILL and `stuck`
   * after `ms`); resolves with the exit code.
   */
  stop(signal: NodeJS.Signals, ms: number): Promise<number | null>;
}

export function startDemo(script: string, env: Record<string, string>, built: readonly string[]): DemoProcess {
  for (const file of built) {
    if (!existsSync(join(root, file)))
      throw new Error(`${file} is missing: run \`npm run build\` first (npm test does).`);
  }
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const stuck = (phase: string) =>
    new Error(`${phase}; demo exit code ${String(exitCode)}; its output ends:\n${output.slice(-4000)}`);
  return {
    child,
    output: () => output,
    exitCode: () => exitCode,
    stuck,
    async banner(ms) {
      const by = Date.now() + ms;
      while (!output.includes('Ctrl-C to stop')) {
        if (exitCode !== undefined || Date.now() > by) throw stuck(`no banner within ${ms / 1000} s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return output;
    },
    async stop(signal, ms) {
      if (exitCode === undefined && !child.killed) child.kill(signal);
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms).unref())]);
      if (code !== 'hung') return code;
      child.kill('SIGKILL');
      throw stuck(`still running ${ms / 1000} s after ${signal}`);
    },
  };
}
