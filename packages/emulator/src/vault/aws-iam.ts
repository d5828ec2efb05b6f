/**
 * `auth/aws/login`, iam method (`hashicorp/vault` `builtin/credential/aws/path_login.go`,
 * `pathLoginUpdateIam`): the client sends a signed `sts:GetCallerIdentity` request
 * (`iam_http_request_method`, base64 `iam_request_url`, `iam_request_body`, `iam_request_headers`)
 * and Vault forwards it to STS, which checks the signature and names the caller. The emulator has
 * no STS, so it checks what STS would: the request is `POST` (or `GET`) `Action=GetCallerIdentity`
 * to an `sts` endpoint, the `Authorization` header is AWS Signature Version 4 for service `sts`
 * made with an access key the emulator knows (recomputed over the given method, URL, headers and
 * body), `X-Amz-Date` is within 15 minutes of the emulator clock, a session token matches the
 * key's, and `X-Vault-AWS-IAM-Server-ID` equals the configured one when one is configured. The
 * caller is the key's configured ARN.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { badRequest } from './common';

/** An access key `auth/aws/login` accepts, and the identity GetCallerIdentity would return for it. */
export interface VaultAwsCredential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** e.g. `arn:aws:iam::123456789012:role/app` or `arn:aws:sts::123456789012:assumed-role/app/session`. */
  readonly arn: string;
  /** Required `X-Vault-AWS-IAM-Server-ID` header value (`iam_server_id_header_value`). */
  readonly serverIdHeader?: string;
}

const SKEW_MS = 15 * 60_000;

function b64(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || !v) throw badRequest(`missing ${field}`);
  return Buffer.from(v, 'base64').toString('utf8');
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** Verifies the signed GetCallerIdentity request; returns the caller's ARN. Failures are 400 errors, as Vault's. */
export function verifyAwsIamLogin(
  body: Record<string, unknown>,
  credentials: readonly VaultAwsCredential[],
  now: number,
): { arn: string } {
  const method = typeof body.iam_http_request_method === 'string' ? body.iam_http_request_method : '';
  if (method !== 'POST' && method !== 'GET')
    throw badRequest('invalid iam_http_request_method; can only be GET or POST');
  const url = new URL(b64(body, 'iam_request_url'));
  const payload = method === 'POST' ? b64(body, 'iam_request_body') : '';
  let rawHeaders: Record<string, unknown>;
  try {
    // Either base64 of a JSON object, or the object itself (both accepted by Vault).
    const given = body.iam_request_headers;
    rawHeaders = (given && typeof given === 'object' ? given : JSON.parse(b64(body, 'iam_request_headers'))) as Record<
      string,
      unknown
    >;
    if (!rawHeaders || typeof rawHeaders !== 'object' || Array.isArray(rawHeaders)) throw new Error('not an object');
  } catch {
    throw badRequest('error parsing iam_request_headers');
  }
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(rawHeaders))
    headers.set(k.toLowerCase(), Array.isArray(v) ? v.map(String).join(',') : String(v));
  const params = new URLSearchParams(method === 'POST' ? payload : url.search);
  if (params.get('Action') !== 'GetCallerIdentity')
    throw badRequest('iam_request_body must be a GetCallerIdentity request');
  if (!/(^|\.)sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/.test(url.hostname) && !/sts/.test(url.hostname)) {
    throw badRequest(`iam_request_url ${url.origin} is not an STS endpoint`);
  }
  const auth = headers.get('authorization') ?? '';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) throw badRequest('error making upstream request: missing or malformed SigV4 Authorization header');
  const [, keyId, date, region, service, signedHeaderList, signature] = m as unknown as string[];
  if (service !== 'sts') throw badRequest('error making upstream request: signature is not for service sts');
  const cred = credentials.find((c) => c.accessKeyId === keyId);
  // STS's answer for an unknown key, passed on by Vault.
  if (!cred) throw badRequest('error making upstream request: received error code 403 from STS: InvalidClientTokenId');
  const amzDate = headers.get('x-amz-date') ?? '';
  const t = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!t || amzDate.slice(0, 8) !== date)
    throw badRequest('error making upstream request: missing or invalid X-Amz-Date');
  const signedAt = Date.UTC(+t[1]!, +t[2]! - 1, +t[3]!, +t[4]!, +t[5]!, +t[6]!);
  if (Math.abs(now - signedAt) > SKEW_MS)
    throw badRequest(
      'error making upstream request: received error code 403 from STS: SignatureDoesNotMatch (request expired)',
    );
  const signed = signedHeaderList!.split(';');
  if (!signed.includes('host') && !headers.has('host')) headers.set('host', url.host);
  if (cred.sessionToken !== undefined && headers.get('x-amz-security-token') !== cred.sessionToken) {
    throw badRequest('error making upstream request: received error code 403 from STS: InvalidClientTokenId');
  }
  if (cred.serverIdHeader !== undefined) {
    if (
      !signed.includes('x-vault-aws-iam-server-id') ||
      headers.get('x-vault-aws-iam-server-id') !== cred.serverIdHeader
    ) {
      throw badRequest('expected X-Vault-AWS-IAM-Server-ID header value to match the configured one');
    }
  }
  const canonicalHeaders = signed
    .map(
      (h) =>
        `${h}:${(h === 'host' ? (headers.get('host') ?? url.host) : (headers.get(h) ?? '')).trim().replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const query = [...new URLSearchParams(url.search)]
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  // The hash of the body actually sent: a signed X-Amz-Content-Sha256 must agree with it.
  const payloadHash = sha256(payload);
  const claimed = headers.get('x-amz-content-sha256');
  if (claimed !== undefined && claimed !== payloadHash) {
    throw badRequest('error making upstream request: received error code 403 from STS: SignatureDoesNotMatch');
  }
  const canonical = [method, url.pathname || '/', query, canonicalHeaders, signedHeaderList, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${cred.secretAccessKey}`, date!), region!), service!), 'aws4_request');
  const expected = hmac(key, toSign);
  const given = Buffer.from(signature!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw badRequest('error making upstream request: received error code 403 from STS: SignatureDoesNotMatch');
  }
  return { arn: cred.arn };
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
