import { defineSecrets, memorySource, SecretStore } from '@hush/core';
import { otherStoreFailing } from './other-store';

/*
 * Foreign text that carries another store's value through a composition of encodings the leak
 * rule names (packages/core/README.md, "The leak rule"): escapes inside a URL-encoded document, and
 * JSON escaping deeper than four levels ("at any depth").
 */

const stores: { close(): Promise<void> }[] = [];

function track<S extends { close(): Promise<void> }>(store: S): S {
  stores.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** A store holding `pw` as the `pw` leaf of a JSON document, then rotated: `pw` is its previous value. */
async function holdingPrevious(pw: string): Promise<string> {
  const doc = JSON.stringify({ user: 'u-244827', pw });
  const held = memorySource({ 'x/db': doc });
  const holder = track(
    new SecretStore(defineSecrets({ pw: { id: 'x/db', key: 'pw' } }), { source: held, minRefreshInterval: 0 }),
  );
  await holder.load();
  held.set('x/db', JSON.stringify({ user: 'u-9', pw: 'next-Qz81kPw3' }));
  await holder.refresh();
  return doc;
}

/** Every string in `value`, however deep (JSON.stringify would escape the echo and hide it). */
function strings(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) strings(v, into);
  return into;
}

/** No event, log record (message or field) or health field carries `echo` as written. */
function expectWithheld(out: Awaited<ReturnType<typeof otherStoreFailing>>, echo: string) {
  const texts = strings(out);
  expect(texts.some((t) => t.includes('upstream said'))).toBe(false);
  expect(texts.filter((t) => t.includes(echo))).toEqual([]);
}

describe('foreign text carrying a value through nested encodings', () => {
  it.each([
    ['backslashes and unicode', 'tc\\日kt\\B🔑d'],
    ['quotes', 'a"b"c"d"e"f"g"h'],
    ['newlines', 'a\nb\nc\nd\ne\nf\ng'],
  ])('a URL-encoded JSON document holding another secret (%s) is withheld', async (_, pw) => {
    // The escapes JSON adds (\\, \", \n) sit inside the URL encoding: decoded, the document still
    // reads with its escapes in place, and no six characters of the password survive as written.
    const doc = await holdingPrevious(pw);
    const echo = encodeURIComponent(doc);
    expectWithheld(await otherStoreFailing(`upstream said ?body=${echo}`, track), echo);
  });

  it('a value JSON-escaped five times is withheld (the rule says at any depth)', async () => {
    // A plain value (a JSON leaf is also indexed as its escaped text, which four levels reach).
    const pw = 'Qz8"kP\\w3';
    const holder = track(new SecretStore(defineSecrets({ pw: 'x/pw' }), { source: memorySource({ 'x/pw': pw }) }));
    await holder.load();
    let echo = pw;
    for (let i = 0; i < 5; i++) echo = JSON.stringify(echo);
    expect(echo.length).toBeLessThan(300);
    expectWithheld(await otherStoreFailing(`upstream said ${echo}`, track), echo);
  });

  it('base64 of a URL-encoded form body holding another secret is withheld', async () => {
    // Every other character of the password is URL-encoded in the body: no six survive as written.
    const pw = 'p@s s/w!r#d&x';
    await holdingPrevious(pw);
    const echo = Buffer.from(`user=u-9&pw=${encodeURIComponent(pw)}`).toString('base64');
    expectWithheld(await otherStoreFailing(`upstream said ${echo}`, track), echo);
  });

  it.each([
    ['URL-encoded (a query string)', (b64: string) => encodeURIComponent(b64)],
    ['in a JSON string that escapes slashes (PHP json_encode)', (b64: string) => b64.replace(/\//g, '\\/')],
  ])('base64 of another secret %s is withheld', async (_, encode) => {
    // The value's base64 (`Pz8/Pz8/…`) has a '/' every four characters: once each is encoded, no
    // base64 run is long enough to be decoded.
    const pw = '????????????';
    const holder = track(new SecretStore(defineSecrets({ pw: 'x/pw' }), { source: memorySource({ 'x/pw': pw }) }));
    await holder.load();
    const echo = encode(Buffer.from(pw).toString('base64'));
    expectWithheld(await otherStoreFailing(`upstream said token=${echo}`, track), echo);
  });

  it.each([76, 64])(
    'base64 wrapped every %i characters (MIME, PEM) with a value across a line break is withheld',
    async (width) => {
      const pw = 'Zq81kPw3xY';
      const holder = track(new SecretStore(defineSecrets({ pw: 'x/pw' }), { source: memorySource({ 'x/pw': pw }) }));
      await holder.load();
      // The value's fifth and sixth characters fall on either side of a line break.
      const pad = (width / 4) * 3 - 5;
      const echo = Buffer.from(`${'y'.repeat(pad)}${pw}${'y'.repeat(12)}`)
        .toString('base64')
        .replace(new RegExp(`(.{${width}})`, 'g'), '$1\r\n');
      expectWithheld(await otherStoreFailing(`upstream said ${echo}`, track), echo);
    },
  );

  it.each([
    ['quotes', 'a"b"c"d"e"f"g"h'],
    ['newlines', 'a\nb\nc\nd\ne\nf\ng'],
  ])('a JSON document holding another secret (%s), JSON-escaped five more times, is withheld', async (_, pw) => {
    // Six levels in all: after the fifth pass the text has no doubled backslash left, yet one
    // level of escapes (`\"`, `\n`) still stands between the text and the password.
    await holdingPrevious(pw);
    let echo = JSON.stringify({ pw });
    for (let i = 0; i < 5; i++) echo = JSON.stringify(echo);
    expectWithheld(await otherStoreFailing(`upstream said ${echo}`, track), echo);
  });
});
