import { Controller, Get, Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { HushPgPool } from '@hush/database/pg';
import { PG_POOL } from './pg-pool.provider';

/** What `GET /db` answers: who the app is logged in as, and the query counters. Never a password. */
export interface DbStatus {
  readonly user: string;
  readonly queries: number;
  readonly failed: number;
  /** SQLSTATE or error name of the failures, by count. */
  readonly failures: Readonly<Record<string, number>>;
  readonly pool: ReturnType<HushPgPool['credentialStats']>;
}

/** Counts every query the demo makes, and keeps a little load running so new logins happen all the time. */
@Injectable()
export class QueryCounter implements OnModuleInit, OnApplicationShutdown {
  queries = 0;
  failed = 0;
  readonly failures: Record<string, number> = {};
  #timer: NodeJS.Timeout | undefined;

  constructor(@Inject(PG_POOL) private readonly pool: HushPgPool) {}

  async run<T>(query: () => Promise<T>): Promise<T> {
    this.queries++;
    try {
      return await query();
    } catch (error) {
      this.failed++;
      const code = String((error as { code?: string }).code ?? (error as Error).name);
      this.failures[code] = (this.failures[code] ?? 0) + 1;
      throw error;
    }
  }

  onModuleInit(): void {
    // Up to four queries every 50 ms: background load, so a rotation window always sees new logins.
    // At most four in flight: on a slow machine the load waits for the database instead of piling
    // up in the pool's queue (where `GET /db` would wait behind it for seconds).
    let inFlight = 0;
    this.#timer = setInterval(() => {
      for (; inFlight < 4; inFlight++) {
        void this.run(() => this.pool.query('SELECT 1'))
          .catch(() => undefined)
          .finally(() => inFlight--);
      }
    }, 50);
    this.#timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.#timer);
  }
}

@Controller('db')
export class DbController {
  constructor(
    @Inject(PG_POOL) private readonly pool: HushPgPool,
    private readonly counter: QueryCounter,
  ) {}

  @Get()
  async status(): Promise<DbStatus> {
    const { rows } = await this.counter.run(() => this.pool.query<{ user: string }>('SELECT current_user AS "user"'));
    return {
      user: rows[0]!.user,
      queries: this.counter.queries,
      failed: this.counter.failed,
      failures: { ...this.counter.failures },
      pool: this.pool.credentialStats(),
    };
  }
}
