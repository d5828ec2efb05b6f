/** One line of the results table. Figures are strings as printed; `data` keeps the raw numbers. */
export interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly hush: string;
  /** Baselines as `name: figure`, side by side from the same run. */
  readonly baseline: string;
  /** The comparison the target is about, e.g. `0.98× baseline`. */
  readonly ratio: string;
  readonly target: string;
  /** `yes`, `NO (…)`, or `—` when the row has no target. */
  readonly met: string;
  readonly data?: Record<string, unknown>;
}

export function met(ok: boolean, why = ''): string {
  return ok ? 'yes' : `**NO**${why ? ` (${why})` : ''}`;
}

export function toMarkdown(rows: readonly Row[]): string {
  const head = ['#', 'Scenario', 'Metric', 'Hush', 'Baseline(s)', 'Ratio', 'Target', 'Met?'];
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  rows.forEach((r, i) => {
    lines.push(
      `| ${[String(i + 1), r.scenario, r.metric, r.hush, r.baseline, r.ratio, r.target, r.met].map(esc).join(' | ')} |`,
    );
  });
  return lines.join('\n');
}
