import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { SecretsConfigError } from '@hush/core';
import { Fragments } from '@hush/core/internal';
import { errorTexts, type VaultAnswer } from './errors';

/**
 * TLS settings for an `https://` Vault address (Node's `tls.connect` options of the same names).
 * Unset ones fall back to the files the Vault CLI's variables name (`VAULT_CACERT`,
 * `VAULT_CLIENT_CERT`, `VAULT_CLIENT_KEY`). `VAULT_SKIP_VERIFY` is deliberately not read.
 */
export interface VaultTlsOptions {
  /** CA certificate(s), PEM: Vault's own CA when it is not in Node's store. @default the file at VAULT_CACERT */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** Client certificate, PEM (mutual TLS). @default the file at VAULT_CLIENT_CERT */
  readonly cert?: string | Buffer;
  /** Client key, PEM. @default the file at VAULT_CLIENT_KEY */
  readonly key?: string | Buffer;
  /** `false` skips certificate checks; never in production. @default true */
  readonly rejectUnauthorized?: boolean;
}

/** A PEM file named by an environment variable, read once at construction. */
function pemFromEnv(variable: string): Buffer | undefined {
  const file = process.env[variable];
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new SecretsConfigError(`hashicorpVault.tls (${variable})`, `cannot read ${file}`, { cause: error });
  }
}

/** The longest answer read (a KV v2 secret is at most ~1 MiB in Vault's default storage). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** One request to Vault's API. */
export interface VaultCall {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** The API path after `/v1/`, with its query string. */
  readonly path: string;
  readonly token?: string | undefined;
  readonly body?: unknown;
  /** What else the call sends that Vault's answer must not echo (a login's secret id, role id, JWT, signature). */
  readonly credentials?: readonly string[];
  readonly signal?: AbortSignal | undefined;
}

/**
 * Vault's HTTP API over Node's `http`/`https` (keep-alive; no client dependency): JSON in, JSON
 * out, `X-Vault-Token`, `X-Vault-Namespace` and `X-Vault-Request` headers. Never follows a
 * redirect (a standby's 307 is an answer). Resolves with any status; rejects only when no answer
 * came (refused, reset, aborted).
 */
export class VaultHttp {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(
    address: string,
    private readonly namespace: string | undefined,
    tls: VaultTlsOptions,
  ) {
    this.base = new URL(address.endsWith('/') ? address : `${address}/`);
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ca: (tls.ca ?? pemFromEnv('VAULT_CACERT')) as https.AgentOptions['ca'],
            cert: tls.cert ?? pemFromEnv('VAULT_CLIENT_CERT'),
            key: tls.key ?? pemFromEnv('VAULT_CLIENT_KEY'),
            rejectUnauthorized: tls.rejectUnauthorized ?? true,
          })
        : new http.Agent({ keepAlive: true });
  }

  /** The address without credentials or query, for log lines and `Source.location`. */
  get location(): string {
    return `${this.base.protocol}//${this.base.host}${this.base.pathname}`;
  }

  request(call: VaultCall): Promise<VaultAnswer> {
    const url = new URL(`v1/${call.path}`, this.base);
    const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
    const headers: Record<string, string> = { 'X-Vault-Request': 'true', Accept: 'application/json' };
    if (call.token !== undefined) headers['X-Vault-Token'] = call.token;
    if (this.namespace) headers['X-Vault-Namespace'] = this.namespace;
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<VaultAnswer>((resolve, reject) => {
      if (call.signal?.aborted) return reject(call.signal.reason ?? new Error('aborted'));
      const req = mod.request(url, { method: call.method, headers, agent: this.agent, signal: call.signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            res.destroy();
            resolve({ status: 502, body: { errors: [`answer larger than ${MAX_BODY_BYTES} bytes`] } });
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: withholdEcho(body, call) });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** What replaces an error text of Vault's that quotes a credential the call sent. */
export const ECHO_WITHHELD = "Vault's error text is withheld: it quotes a credential this source sent";

/**
 * The answer's `errors` with every text that quotes a credential the call sent (the token, a
 * login's secret id, role id, JWT or signature, raw or encoded, 6 characters or more) replaced by
 * {@link ECHO_WITHHELD}. The store withholds text quoting a secret value; the source's own
 * credentials are not values, so the source checks them here, where it still knows what it sent.
 */
function withholdEcho(body: unknown, call: VaultCall): unknown {
  const texts = errorTexts(body);
  if (texts.length === 0) return body;
  const sent = Fragments.of(call.token ?? '', ...(call.credentials ?? []));
  if (!texts.some((t) => sent.in(t))) return body;
  return { ...(body as object), errors: texts.map((t) => (sent.in(t) ? ECHO_WITHHELD : t)) };
}
