import { Injectable, Logger } from '@nestjs/common';
import { InjectSecret, OnSecretRotation, Secret, type RotationInfo } from '@hush/nestjs';
import type { DbCredentials } from './demo-secrets';

/**
 * Stands in for a connection pool: it holds the live credential handle, reads the api key as a
 * property, and "reconnects" when the database secret rotates.
 */
@Injectable()
export class DbService {
  private readonly logger = new Logger(DbService.name);

  /** Always the current api key (an accessor bound by SecretsModule, not a copied string). */
  @InjectSecret('apiKey') apiKey!: string;

  /** Rotations seen by the hook. */
  reconnects = 0;

  constructor(@InjectSecret('db') readonly db: Secret<DbCredentials>) {}

  @OnSecretRotation('db')
  reconnect(next: DbCredentials, info: RotationInfo): void {
    this.reconnects++;
    // Name and version only: a rotation hook must never log the password.
    this.logger.log(`rotation hook: db now version ${info.version.slice(0, 8)} (user ${next.username})`);
  }
}
