import { SecretsConfigError, secretsManagerAgent, sourceFromEnv } from '@hush/core';

describe('the Lambda extension through the environment', () => {
  test('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT sets the agent URL when none is given', () => {
    const env = { HUSH_SOURCE: 'agent', PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2999', AWS_SESSION_TOKEN: 't' };
    expect((sourceFromEnv(env) as unknown as { url: string }).url).toBe('http://localhost:2999');
    expect(secretsManagerAgent({ env }).url).toBe('http://localhost:2999');
    // An explicit URL wins.
    expect((sourceFromEnv({ ...env, HUSH_AGENT_URL: 'http://127.0.0.1:4000' }) as unknown as { url: string }).url).toBe(
      'http://127.0.0.1:4000',
    );
    expect(secretsManagerAgent({ env: { AWS_SESSION_TOKEN: 't' } }).url).toBe('http://localhost:2773');
  });

  test.each(['0', '65536', '27a3', ' -1', '2773\n"x"'])(
    'a port that is not one (%j) is a SecretsConfigError naming the variable',
    (port) => {
      const make = () =>
        secretsManagerAgent({ env: { PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: port, AWS_SESSION_TOKEN: 't' } });
      expect(make).toThrow(SecretsConfigError);
      expect(make).toThrow(/PARAMETERS_SECRETS_EXTENSION_HTTP_PORT/);
    },
  );

  test('SnapStart: the token comes from AWS_CONTAINER_AUTHORIZATION_TOKEN when AWS_SESSION_TOKEN is absent', () => {
    const source = secretsManagerAgent({ env: { AWS_CONTAINER_AUTHORIZATION_TOKEN: 'snap-"token"' } });
    expect(JSON.stringify(source)).toContain('from AWS_CONTAINER_AUTHORIZATION_TOKEN');
    expect(JSON.stringify(source)).not.toContain('snap-');
  });
});
