/**
 * Load generator for scenario 3, run as a separate process (`child_process.fork`) so it never
 * shares an event loop with the server it measures. Receives `{ url, seconds, connections,
 * expectBody }` messages and answers each with the autocannon summary.
 */
// autocannon ships no types; only the summary fields used below are read.

const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
}

export interface LoadRequest {
  readonly url: string;
  readonly seconds: number;
  readonly connections: number;
  readonly expectBody: string;
}

export interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly total: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly mismatches: number;
}

process.on('message', (message: LoadRequest | 'exit') => {
  if (message === 'exit') return process.exit(0);
  void autocannon({
    url: message.url,
    duration: message.seconds,
    connections: message.connections,
    expectBody: message.expectBody,
  }).then(
    (r) =>
      process.send!({
        rps: r.requests.total / r.duration,
        p50: r.latency.p50,
        p99: r.latency.p99,
        total: r.requests.total,
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
        mismatches: r.mismatches,
      } satisfies LoadResult),
    (error: unknown) => process.send!({ error: String(error) }),
  );
});
process.send!('ready');
