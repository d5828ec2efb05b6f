import { inspect } from 'node:util';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { z } from 'zod';
import { awsSecretsManager, defineSecrets, SecretBytes, SecretStore } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { recordingLogger } from '../../../test/support';

const CERT = Buffer.from('\u0000\u00ff-bin-CANARY-"\\\n-é', 'utf8');
const logger = recordingLogger();
let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({
    seed: {
      'prod/app/cert': { binary: CERT.toString('base64') },
      'prod/app/keys': JSON.stringify({ signing: CERT.toString('base64'), name: 'k-1' }),
    },
  });
});
afterAll(async () => {
  await emu.close();
  expect(logger.lines.join('\n')).not.toContain('CANARY');
});

function open<D extends Parameters<typeof defineSecrets>[0]>(decls: D): SecretStore<D> {
  return new SecretStore(defineSecrets(decls), {
    source: awsSecretsManager({
      region: 'us-east-1',
      endpoint: emu.url,
      clientConfig: { credentials: emu.clientConfig().credentials },
    }),
    refreshInterval: false,
    logger,
  });
}

/** A Standard Schema whose output is whatever `out` makes of the input (typed arrays included). */
function outputs<O>(out: (input: unknown) => O): StandardSchemaV1<unknown, O> {
  return { '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value: out(value) }) } };
}

describe("format: 'binary' values are immutable for every reader", () => {
  it("one reader's fill(0) on its bytes changes nothing another reader sees", async () => {
    const store = open({ cert: { id: 'prod/app/cert', format: 'binary' } });
    await store.load();
    const first = store.get('cert');
    expect(first).toBeInstanceOf(SecretBytes);
    const mine = first.toUint8Array();
    mine.fill(0); // the documented way to wipe a copy after use
    first.toBuffer().fill(0);
    expect(store.get('cert').toBuffer().equals(CERT)).toBe(true);
    expect(store.handle('cert').value.equals(CERT)).toBe(true);
    expect((store.snapshot().cert as SecretBytes).equals(CERT)).toBe(true);
    await store.close();
  });

  it('no reader can reach the shared bytes: frozen, no indices, no buffer', async () => {
    const store = open({ cert: { id: 'prod/app/cert', format: 'binary' } });
    await store.load();
    const value = store.get('cert') as unknown as Record<string | number, unknown>;
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.keys(value)).toEqual([]);
    expect(value[0]).toBeUndefined();
    expect(value.buffer).toBeUndefined();
    expect(() => {
      value.byteLength = 0;
    }).toThrow(TypeError);
    expect(store.get('cert').byteLength).toBe(CERT.byteLength);
    await store.close();
  });

  it('every read is the same object (no copy on the hot path) and prints [redacted]', async () => {
    const store = open({ cert: { id: 'prod/app/cert', format: 'binary' } });
    await store.load();
    expect(store.get('cert')).toBe(store.get('cert'));
    expect(store.handle('cert').value).toBe(store.get('cert'));
    const value = store.get('cert');
    for (const text of [String(value), `${value}`, JSON.stringify({ value }), inspect(value), inspect({ value })]) {
      expect(text).toContain('[redacted]');
      expect(text).not.toContain('CANARY');
      expect(text).not.toContain(CERT.toString('base64').slice(0, 12));
      expect(text).not.toContain(CERT.toString('hex').slice(0, 12));
    }
    expect(value.equals(SecretBytes.from(CERT))).toBe(true);
    expect(value.equals(new Uint8Array([1, 2]))).toBe(false);
    await store.close();
  });
});

describe('a schema whose output is a Buffer or a typed array loads', () => {
  it('a binary secret transformed to a Buffer (zod), and to a Float64Array', async () => {
    const store = open({
      certBuffer: {
        id: 'prod/app/cert',
        format: 'binary',
        schema: z.instanceof(Uint8Array).transform((bytes) => Buffer.from(bytes)),
      },
      certFloats: { id: 'prod/app/cert', format: 'binary', schema: outputs(() => new Float64Array([1.5, 2.5])) },
    });
    await store.load();
    expect(Buffer.isBuffer(store.get('certBuffer'))).toBe(true);
    expect(store.get('certBuffer').equals(CERT)).toBe(true);
    expect([...store.get('certFloats')]).toEqual([1.5, 2.5]);
    await store.close();
  });

  it('a JSON secret whose schema decodes base64 into a Buffer: the object is frozen, the Buffer intact', async () => {
    const store = open({
      keys: {
        id: 'prod/app/keys',
        format: 'json',
        schema: z
          .object({ signing: z.string(), name: z.string() })
          .transform((o) => ({ name: o.name, signing: Buffer.from(o.signing, 'base64') })),
      },
      // The immutable alternative: the schema returns SecretBytes.
      sealed: {
        id: 'prod/app/keys',
        key: 'signing',
        schema: z.string().transform((b64) => SecretBytes.from(Buffer.from(b64, 'base64'))),
      },
    });
    await store.load();
    const keys = store.get('keys');
    expect(Object.isFrozen(keys)).toBe(true);
    expect(keys.signing.equals(CERT)).toBe(true);
    expect(store.get('sealed').equals(CERT)).toBe(true);
    await store.close();
  });
});
