/**
 * The run-wide scanner (test/setup) must see a canary however it was encoded on the way out, not
 * only as the raw token: escaped, URL-encoded, hex and base64 at any byte alignment.
 */
import { inspect } from 'node:util';
import { findCanary, maskCanary } from '../setup/leak-scanner';

const value = 'pw-"\\\n-CANARY-ünï-' + 'x'.repeat(5);

describe('leak scanner', () => {
  it.each([
    ['raw', value],
    ['JSON-escaped', JSON.stringify({ password: value })],
    ['inspect-escaped', inspect({ password: value })],
    ['URL-encoded', encodeURIComponent(value)],
    ['hex', Buffer.from(value).toString('hex')],
    ['HEX', Buffer.from(value).toString('hex').toUpperCase()],
    ...[0, 1, 2].flatMap((shift) => {
      const bytes = Buffer.concat([Buffer.alloc(shift, 7), Buffer.from(value)]);
      return [
        [`base64 at offset ${shift}`, `token=${bytes.toString('base64')}`],
        [`base64url at offset ${shift}`, bytes.toString('base64url')],
      ] as [string, string][];
    }),
  ])('finds a %s canary, and masks it in the report', (_form, text) => {
    const snippet = findCanary(text);
    expect(snippet).toBeDefined();
    expect(findCanary(snippet!)).toBeUndefined();
    expect(findCanary(maskCanary(text))).toBeUndefined();
  });

  it('ignores text with no canary in any form', () => {
    const clean = `Loaded 3 secrets in 12 ms ${Buffer.from('pw-value-1').toString('base64')} ${'0123456789abcdef'.repeat(4)}`;
    expect(findCanary(clean)).toBeUndefined();
  });
});
