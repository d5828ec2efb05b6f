/**
 * classifyAwsError delegates the throttling and transient decision to the SDK's own classification
 * (`@smithy/core/retry`), plus Secrets Manager's 5xx error names and the store's abort.
 */
import { classifyAwsError } from '@hush/core/internal';

const sdkError = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} message`), { name, $metadata: {}, ...extra });

describe('classifyAwsError', () => {
  it.each(['ThrottlingException', 'TooManyRequestsException', 'SlowDown', 'RequestLimitExceeded', 'Throttling'])(
    '%s is throttled and retryable (SDK list)',
    (name) => {
      expect(classifyAwsError(sdkError(name))).toMatchObject({ code: name, throttled: true, retryable: true });
    },
  );

  it('HTTP 429 is throttled whatever the code', () => {
    expect(classifyAwsError(sdkError('Weird', { $metadata: { httpStatusCode: 429 } }))).toMatchObject({
      throttled: true,
      retryable: true,
    });
  });

  it.each(['TimeoutError', 'RequestTimeout', 'InternalServiceError', 'InternalFailure', 'ServiceUnavailable'])(
    '%s is transient (retryable, not throttled)',
    (name) => {
      expect(classifyAwsError(sdkError(name))).toMatchObject({ code: name, throttled: false, retryable: true });
    },
  );

  it('the store deadline abort (AbortError) is retryable although the SDK treats it as final', () => {
    expect(classifyAwsError(sdkError('AbortError'))).toMatchObject({ retryable: true, throttled: false });
  });

  it.each([
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ENOTFOUND',
    'EAI_AGAIN',
  ])('network errno %s is transient', (code) => {
    expect(classifyAwsError(Object.assign(new Error(`connect ${code}`), { code }))).toMatchObject({
      code,
      retryable: true,
      throttled: false,
    });
  });

  it.each(['ResourceNotFoundException', 'AccessDeniedException', 'DecryptionFailure', 'InvalidParameterException'])(
    '%s is final',
    (name) => {
      expect(classifyAwsError(sdkError(name, { $metadata: { httpStatusCode: 400 } }))).toMatchObject({
        code: name,
        retryable: false,
        throttled: false,
      });
    },
  );

  it('5xx statuses and server faults are retryable', () => {
    expect(classifyAwsError(sdkError('Odd', { $metadata: { httpStatusCode: 503 } })).retryable).toBe(true);
    expect(classifyAwsError(sdkError('Odd', { $fault: 'server', $metadata: { httpStatusCode: 400 } })).retryable).toBe(
      true,
    );
  });

  it('a $retryable throttling trait counts as throttled', () => {
    expect(classifyAwsError(sdkError('CustomLimit', { $retryable: { throttling: true } }))).toMatchObject({
      throttled: true,
      retryable: true,
    });
  });
});
