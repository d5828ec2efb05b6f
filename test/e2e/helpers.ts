/** Shared by the end-to-end specs: polling and reading Prometheus text from the demos' `/metrics`. */

export { until } from '../support';

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
