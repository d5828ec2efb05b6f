// A NestJS service: NestFactory.create waits for SecretsModule's load, then app.listen.
// Plain JavaScript, so the decorators are applied as functions.
import 'reflect-metadata';
import { Controller, Get, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SecretsModule, SecretsService } from '@hush/nestjs';
import { fieldConfig } from './field-env.cjs';

class StatusController {
  constructor(secrets) {
    this.secrets = secrets;
  }
  status() {
    return { status: this.secrets.health().status, length: String(this.secrets.get('a')).length };
  }
}
Inject(SecretsService)(StatusController, undefined, 0);
Get('status')(
  StatusController.prototype,
  'status',
  Object.getOwnPropertyDescriptor(StatusController.prototype, 'status'),
);
Controller()(StatusController);

const { secrets, options } = fieldConfig();
class AppModule {}
Module({ imports: [SecretsModule.forRoot({ secrets, ...options })], controllers: [StatusController] })(AppModule);

const t0 = performance.now();
console.log('loading');
const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
console.log(`listening on ${app.getHttpServer().address().port} after ${Math.round(performance.now() - t0)} ms`);
