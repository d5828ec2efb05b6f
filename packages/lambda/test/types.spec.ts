/**
 * Type tests: the wrappers accept the handlers users pass them. Compiled by
 * `tsc -p tsconfig.spec.json`; the runtime checks are trivial.
 */
import serverlessExpress from '@codegenie/serverless-express';
import type middy from '@middy/core';
import { SecretStore, memorySource } from '@hush/core';
import { withSecrets } from '@hush/lambda';
import { secretsMiddleware } from '@hush/lambda/middy';
import express from 'express';

const store = new SecretStore({ api: 'app/api' }, { source: memorySource({ 'app/api': 'v' }) });

afterAll(() => store.close());

test('serverless-express handlers (event, context, callback) fit withSecrets', () => {
  const handler = withSecrets(store, serverlessExpress({ app: express() }), { closeOnSigterm: false });
  expect(typeof handler).toBe('function');
});

/** The shape of `Handler` in @types/aws-lambda (what serverless-express and most handlers are typed as). */
type AwsLambdaHandler<E, R> = (
  event: E,
  context: { getRemainingTimeInMillis(): number; awsRequestId: string },
  callback: (error?: Error | string | null, result?: R) => void,
) => void | Promise<R>;

test('a handler typed as @types/aws-lambda Handler (with its callback parameter) fits withSecrets', () => {
  const typed: AwsLambdaHandler<{ id: number }, { ok: boolean }> = async () => ({ ok: true });
  const handler = withSecrets(store, typed, { closeOnSigterm: false });
  expect(typeof handler).toBe('function');
});

test('typed handlers keep their event and result types', () => {
  const handler = withSecrets(store, async (event: { id: number }) => ({ id: event.id }), { closeOnSigterm: false });
  const result: { id: number } | Promise<{ id: number }> = handler({ id: 1 }, {});
  expect(result).toBeDefined();
  // @ts-expect-error the event type is kept
  void (() => handler({ id: 'x' }, {}));
});

test("secretsMiddleware fits Middy's use()", () => {
  type Use = Parameters<ReturnType<typeof middy>['use']>[0];
  const middleware: Use = secretsMiddleware(store, { closeOnSigterm: false });
  expect(middleware).toBeDefined();
});
