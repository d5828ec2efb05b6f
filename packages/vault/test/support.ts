import { inspect } from 'node:util';
import { startVaultEmulator, type VaultEmulator, type VaultEmulatorOptions } from '@hush/emulator';

/** Every value in these tests carries the leak canary (test/setup scans every output for it). */
export const CANARY = 'CANARY-Q9z';

/** A hostile value: quotes, backslashes, newlines, unicode, long. */
export const hostile = (tag: string): string => `${tag}-${CANARY}'"\\\n✓ λ ${'x'.repeat(300)}`;

const started: VaultEmulator[] = [];

/** A Vault emulator closed after the test. */
export async function vault(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const v = await startVaultEmulator(options);
  started.push(v);
  return v;
}

export async function closeVaults(): Promise<void> {
  await Promise.all(started.splice(0).map((v) => v.close()));
}

/** One call to the emulator's `/v1` API with the root token (test set-up, not the code under test). */
export async function v1(
  emu: VaultEmulator,
  method: string,
  path: string,
  body?: unknown,
  token: string = emu.rootToken,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Vault's JSON, read by the tests
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emu.url}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Everything a user could print of `things`, as one string (to search for fragments of values). */
export function printed(...things: unknown[]): string {
  return things
    .map((t) => {
      let json: string;
      try {
        json = JSON.stringify(t) ?? '';
      } catch {
        json = '';
      }
      return `${inspect(t, { depth: 8, showHidden: true })}\n${json}\n${String(t)}`;
    })
    .join('\n');
}

/** Runs of 6 characters of `value` (and its base64/hex) found in `text`. */
export function fragmentsIn(text: string, value: string): string[] {
  const hits: string[] = [];
  for (const encoded of [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex')]) {
    for (let i = 0; i + 6 <= encoded.length; i++) {
      const piece = encoded.slice(i, i + 6);
      if (/^\s*$/.test(piece) || /^x+$/.test(piece)) continue;
      if (text.includes(piece)) hits.push(piece);
    }
  }
  return hits;
}
