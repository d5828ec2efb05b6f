import express from 'express';
import request from 'supertest';
import { SecretsConfigError, defineSecrets, memorySource, type SecretDeclarations } from '@hush/core';
import { createSecrets } from '@hush/express';

/*
 * Issue 21, defect 7: a secret named like an object hook (toJSON, toString, then…) used to shadow
 * that hook in req.secrets and store.snapshot(): every route behind hush.middleware() answered
 * 500. Such names are now rejected at start-up, before any request.
 */
describe('secret names that collide with object hooks', () => {
  it.each(['toJSON', 'toString', 'inspect', 'constructor', 'valueOf', 'then'])(
    'createSecrets rejects "%s" at start-up with a SecretsConfigError naming it',
    async (name) => {
      const secrets = { [name]: 'app/one', db: 'app/db' } as SecretDeclarations;
      const error = await createSecrets({
        secrets,
        source: memorySource({ 'app/one': 'one-Val-91', 'app/db': 'db-Val-92' }),
        logger: false,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SecretsConfigError);
      expect((error as SecretsConfigError).option).toBe(`secrets.${name}`);
      expect((error as Error).message).not.toContain('one-Val-91');
    },
  );

  it('names that only resemble a hook serve requests, and req.secrets prints no value', async () => {
    const hush = await createSecrets({
      secrets: defineSecrets({ toJSONKey: 'app/one', thenToken: 'app/db' }),
      source: memorySource({ 'app/one': 'one-Val-93', 'app/db': 'db-Val-94' }),
      logger: false,
    });
    const app = express();
    app.use(hush.middleware());
    app.get('/', (req, res) => {
      const secrets = req.secrets as unknown as Record<string, string>;
      res.json({
        spread: Object.keys({ ...secrets }),
        printed: JSON.stringify(secrets),
        len: secrets['toJSONKey']!.length,
      });
    });
    const res = await request(app).get('/');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ spread: ['toJSONKey', 'thenToken'], printed: '"[redacted]"', len: 10 });
    await hush.close();
  });
});
