import { Controller, Get } from '@nestjs/common';
import { SecretStore } from '@hush/nestjs';
import { DbService } from './db.service';

/** What `/whoami` returns: who the app is connected as and which secret versions it uses. Never a password. */
export interface WhoAmI {
  dbUser: string;
  dbHost: string;
  dbVersion: string | undefined;
  apiKeyVersion: string | undefined;
  /** Increments on every rotation the app has picked up. */
  generation: number;
  reconnects: number;
}

@Controller()
export class WhoamiController {
  constructor(
    private readonly db: DbService,
    private readonly store: SecretStore,
  ) {}

  @Get('whoami')
  whoami(): WhoAmI {
    const credentials = this.db.db.value;
    return {
      dbUser: credentials.username,
      dbHost: credentials.host,
      dbVersion: this.db.db.version?.slice(0, 8),
      apiKeyVersion: this.store.handle('apiKey').version?.slice(0, 8),
      generation: this.store.generation,
      reconnects: this.db.reconnects,
    };
  }
}
