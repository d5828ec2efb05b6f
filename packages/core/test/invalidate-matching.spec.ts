import fc from 'fast-check';
import { referredBy, refersTo } from '../src/secret-store';

/*
 * `invalidate(ids)` matches every given id against every declared secret. It used to call
 * `refersTo` for each pair (10,000 secrets × 200 ARNs: ~750 ms of blocked event loop per call);
 * `referredBy` indexes the given ids once. It must answer exactly as the pairwise rule did.
 */

/** The pairwise rule as it was before `referredBy` (the reference). */
function pairwise(given: string, declared: string, arn: string | undefined): boolean {
  if (given === declared || (arn !== undefined && given === arn)) return true;
  const nameOf = (id: string): string | undefined => {
    if (!id.startsWith('arn:')) return id;
    const at = id.indexOf(':secret:');
    return at < 0 ? undefined : id.slice(at + ':secret:'.length);
  };
  const g = nameOf(given);
  const d = nameOf(declared) ?? declared;
  const known = arn !== undefined ? nameOf(arn) : undefined;
  if (g === undefined) return false;
  const strip = (n: string) => (/-[A-Za-z0-9]{6}$/.test(n) ? n.slice(0, -7) : n);
  return (
    g === d ||
    g === known ||
    (given.startsWith('arn:') && strip(g) === d) ||
    (known !== undefined && strip(known) === g)
  );
}

const PREFIX = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:';
const name = fc.constantFrom('db', 'prod/db', 'prod/db-AbCdEf', 'db-AbCdEf', 'api', 'api-x', 'db-Zz9Zz9', '');
const id = fc.oneof(
  name,
  name.map((n) => PREFIX + n),
  name.map((n) => `${PREFIX}${n}-AbCdEf`),
  name.map((n) => `arn:aws:lambda:us-east-1:1:function:${n}`),
);

describe('invalidate(ids) matching', () => {
  it('referredBy(ids) answers as refersTo did for each pair, for every mix of names, ARNs and partial ARNs', () => {
    fc.assert(
      fc.property(fc.array(id, { maxLength: 6 }), id, fc.option(id, { nil: undefined }), (given, declared, arn) => {
        const expected = given.some((g) => pairwise(g, declared, arn));
        expect(referredBy(given)(declared, arn)).toBe(expected);
        for (const g of given) expect(refersTo(g, declared, arn)).toBe(pairwise(g, declared, arn));
      }),
      { numRuns: 5_000 },
    );
  });
});
