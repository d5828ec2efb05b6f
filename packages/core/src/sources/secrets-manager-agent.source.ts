import { setMaxListeners } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { inspect } from 'node:util';
import { SecretFetchError, SecretsConfigError, errorCodeName } from '../errors';
import { Fragments, REDACTED } from '../redaction';
import { checkKnownKeys, parseDuration, type Duration } from '../validation';
import { sleepUnlessAborted } from '../abort';
import { identityProblem } from './answers';
import { parameterToRaw } from './ssm-parameter-store.source';
import {
  SourceCounters,
  mapConcurrent,
  type FetchContext,
  type FetchOutcome,
  type RawSecret,
  type SecretRequest,
  type Source,
  type SourceStats,
} from './source';

/** Where the Secrets Manager Agent and the Parameters and Secrets Lambda extension listen. */
export const DEFAULT_AGENT_URL = 'http://localhost:2773';
/** The SSRF header both the agent and the Lambda extension accept. */
export const AGENT_TOKEN_HEADER = 'X-Aws-Parameters-Secrets-Token';
/**
 * The port the Parameters and Secrets Lambda extension listens on when it is not 2773: the
 * extension reads it, and so does {@link secretsManagerAgent} when no `url` is given.
 */
export const EXTENSION_PORT_ENV = 'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT';
/**
 * How long a load keeps knocking on a closed agent port (or on an extension that answers "not
 * ready to serve traffic") before it reports the failure to the store: in Lambda the runtime's
 * INIT starts once the extension has registered, which can be before it listens or is ready. Short, so a short bootTimeout still ends on the real
 * cause (ECONNREFUSED) rather than on its own deadline.
 */
const AGENT_START_GRACE_MS = 750;

/**
 * The agent URL when none is given: `http://localhost:<PARAMETERS_SECRETS_EXTENSION_HTTP_PORT>`
 * when that is set (the extension's own setting), else {@link DEFAULT_AGENT_URL}.
 * @throws SecretsConfigError when the variable is not a port number.
 */
export function defaultAgentUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const raw = env[EXTENSION_PORT_ENV]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_AGENT_URL;
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 1 && port <= 65_535)) {
    throw new SecretsConfigError(
      EXTENSION_PORT_ENV,
      `expected a port number (1-65535) as the extension reads it, got ${JSON.stringify(raw.slice(0, 20))}.`,
    );
  }
  return `http://localhost:${port}`;
}

/** Environment variables read for the SSRF token, in order (the agent's `ssrf_env_variables` default). */
export const AGENT_TOKEN_ENV = ['AWS_TOKEN', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN'] as const;

const THROTTLING_CODES = new Set([
  'ThrottlingException',
  'LimitExceededException',
  'TooManyRequestsException',
  'Throttling',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);
/**
 * Codes of a TLS handshake Node refused (`DEPTH_ZERO_SELF_SIGNED_CERT`, `CERT_HAS_EXPIRED`,
 * `ERR_TLS_CERT_ALTNAME_INVALID`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`…; `EPROTO` for https to a plain
 * http port): Node's and OpenSSL's names, not text from the agent, so they are reported as they are.
 */
const TLS_CODE = /^(?:[A-Z_]*(?:CERT|SIGNATURE|HOSTNAME_MISMATCH)[A-Z_]*|ERR_(?:TLS|SSL)_[A-Z0-9_]+|EPROTO)$/;
const MAX_BODY_BYTES = 1024 * 1024;
/**
 * The Lambda extension's answer (HTTP 400) while it listens but has not finished starting: what
 * its users retry on (e.g. "trying to call it at init will yield … 'not ready to serve traffic,
 * please wait'"). Retryable, and knocked on again during a load like a port not open yet.
 */
const NOT_READY = /^\s*not ready to serve traffic/i;
/** Plain-text answers of the agent and the Lambda extension, quoted in messages (lower case). */
const AGENT_PLAIN_ANSWERS = [
  'bad token',
  'not found',
  'unknown parameter',
  'connection limit exceeded',
  'forbidden',
  'not ready to serve traffic',
];

/** Options of {@link secretsManagerAgent}. */
export interface SecretsManagerAgentOptions {
  /**
   * Base URL of the agent or Lambda extension.
   * @default `http://localhost:${PARAMETERS_SECRETS_EXTENSION_HTTP_PORT}`, else 'http://localhost:2773'
   */
  url?: string;
  /**
   * SSRF token sent as `X-Aws-Parameters-Secrets-Token`. A `file://` value is read from that file.
   * @default the first of AWS_TOKEN, AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN that is set
   */
  token?: string;
  /** Requests in flight at once (and keep-alive sockets kept). @default 8 */
  concurrency?: number;
  /** Deadline of one HTTP request to the agent. @default '10s' */
  requestTimeout?: Duration;
  /** Environment to read the token from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Cross-account read: the AWS Workload Credentials Provider's `roleArn` query parameter (it
   * assumes the role and caches per role; `arn:<partition>:iam::<account>:role/<name>`). The older
   * Secrets Manager Agent and the Lambda extension reject it (400 `unknown parameter: roleArn`),
   * which fails as `AgentRoleArnUnsupported`, never silently reading the wrong account.
   */
  roleArn?: string;
  /**
   * A keep-alive socket older than this is closed instead of reused: the agent cuts every
   * connection 61 s after it opened (`MAX_REQ_TIME_SEC`), so reusing one near that age races the
   * cut. A request that still meets a reset connection is retried once, on a new connection.
   * @default '50s'
   */
  connectionMaxAge?: Duration;
  /**
   * Allow a plain `http://` URL to a host that is not loopback (`localhost`, `127.0.0.0/8`, `::1`).
   * Off by default: the SSRF token — in Lambda the `AWS_SESSION_TOKEN` — and every value would
   * cross the network in clear text. Use `https://` for a remote agent instead.
   * @default false
   */
  allowInsecureHttp?: boolean;
  /**
   * What this source reads through the agent: `secretsmanager` (`/secretsmanager/get`) or `ssm`,
   * Parameter Store through the Parameters and Secrets Lambda extension's
   * `/systemsmanager/parameters/get?name=…&withDecryption=true` (same token header). An `ssm`
   * source reads the same declarations as `ssmParameterStore()` (a `versionId` is sent as
   * `version`, a `versionStage` as `label`, a `name:selector` id as is) except `path: true`,
   * which the extension cannot read. Give it to the store as a named source:
   * `sources: { ssm: secretsManagerAgent({ service: 'ssm' }) }`.
   * @default 'secretsmanager'
   */
  service?: 'secretsmanager' | 'ssm';
}

const OPTION_KEYS = [
  'url',
  'token',
  'concurrency',
  'requestTimeout',
  'env',
  'allowInsecureHttp',
  'roleArn',
  'connectionMaxAge',
  'service',
];
/** The Workload Credentials Provider's check (`parse.rs`, `validate_role_arn`). */
const ROLE_ARN = /^arn:[\w-]+:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** Whether `hostname` (as `URL.hostname` gives it) is this machine. */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** A URL as messages show it: without `user:password@`. */
function displayUrl(url: URL): string {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  return shown.href.replace(/\/+$/, '');
}

/**
 * Reads secrets through the AWS Secrets Manager Agent (AWS Workload Credentials Provider) or the
 * AWS Parameters and Secrets Lambda extension, so every process on a node or in a Lambda sandbox
 * shares one cache and one set of upstream calls. `store.refresh()` sends `refreshNow=true`.
 *
 * The token is resolved once at construction. A `file://` token is read on first use and re-read
 * once after a 403. (The agent does not write a new token when it restarts: the token file is
 * written once at boot by the install's oneshot seed unit, so a re-read only helps after a
 * re-seed or a reboot.)
 *
 * If a forced refresh's `refreshNow=true` is rejected (400 naming `refreshNow` — the Lambda
 * extension does not document the parameter), the request is sent again without it, the source
 * stops sending it and warns once; forced refreshes then return the agent's cached value.
 *
 * @example
 * new SecretStore(secrets, { source: secretsManagerAgent() }); // http://localhost:2773, token from AWS_TOKEN…
 * secretsManagerAgent({ url: 'http://127.0.0.1:2773', token: 'file:///var/run/awssmatoken' });
 * @throws SecretsConfigError when no token is configured or an option is invalid.
 */
export function secretsManagerAgent(options: SecretsManagerAgentOptions = {}): SecretsManagerAgentSource {
  return new SecretsManagerAgentSource(options);
}

export class SecretsManagerAgentSource implements Source {
  readonly kind = 'secrets-manager-agent';
  /** Base URL as messages show it: without a trailing slash and without `user:password@`. */
  readonly url: string;
  /** {@link url}, for the store's log lines. */
  readonly location: string;
  // Credentials live in private fields: never an enumerable property, so util.inspect (with any
  // options), JSON.stringify, spreading and structured logging of the source cannot show them.
  readonly #base: URL;
  readonly #tokenSpec: { value: string } | { file: string };
  readonly #tokenSourceName: string;
  #cachedToken: string | undefined;
  /** The fragments of the token last sent, to withhold agent text that quotes it. */
  #tokenFragments: { token: string; fragments: Fragments } | undefined;
  #permissionsChecked = false;
  private readonly concurrency: number;
  private readonly requestTimeout: number;
  private readonly counters = new SourceCounters();
  private readonly httpAgent: http.Agent;
  private readonly roleArn: string | undefined;
  private readonly connectionMaxAge: number;
  /** Set when the agent rejected `refreshNow` (the Lambda extension may): it is not sent again. */
  private refreshNowRejected = false;
  /** Parameter Store through the Lambda extension's `/systemsmanager/parameters/get`, or Secrets Manager. */
  readonly service: 'secretsmanager' | 'ssm';
  /**
   * Aborted by {@link close}: ends every request in flight, pooled or on its own connection (the
   * retry after a reset is not in the pool `close()` destroys), and starts no retry after it.
   */
  readonly #closing = new AbortController();

  constructor(options: SecretsManagerAgentOptions) {
    if (!options || typeof options !== 'object')
      throw new SecretsConfigError('secretsManagerAgent', 'expected an options object.');
    checkKnownKeys(options, OPTION_KEYS, 'secretsManagerAgent');
    const env = options.env ?? process.env;
    const rawUrl = options.url ?? defaultAgentUrl(env);
    let base: URL;
    try {
      base = new URL(rawUrl);
    } catch {
      // The text is not a URL, so userinfo cannot be cut out of it: it is not quoted at all.
      throw new SecretsConfigError(
        'secretsManagerAgent.url',
        'cannot parse the url option as a URL (its text is not shown), e.g. "http://localhost:2773".',
      );
    }
    this.#base = base;
    this.url = displayUrl(base);
    this.location = this.url;
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new SecretsConfigError(
        'secretsManagerAgent.url',
        `expected an http:// or https:// URL, got protocol "${base.protocol}".`,
      );
    }
    if (base.protocol === 'http:' && !isLoopback(base.hostname) && options.allowInsecureHttp !== true) {
      throw new SecretsConfigError(
        'secretsManagerAgent.url',
        `refusing plain http to ${base.hostname}, which is not loopback: the SSRF token and every value would ` +
          'cross the network in clear text. Use https://, run the agent on this host (http://localhost:2773), ' +
          'or pass allowInsecureHttp: true if the network path is trusted.',
      );
    }
    const concurrency = options.concurrency ?? 8;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new SecretsConfigError(
        'secretsManagerAgent.concurrency',
        `expected a positive integer, got ${String(concurrency)}.`,
      );
    }
    this.concurrency = concurrency;
    this.requestTimeout = parseDuration(options.requestTimeout ?? 10_000, 'secretsManagerAgent.requestTimeout');

    let token = options.token;
    let from = 'the token option';
    if (token === undefined) {
      const name = AGENT_TOKEN_ENV.find((n) => env[n] !== undefined && env[n] !== '');
      if (name) {
        token = env[name];
        from = name;
      }
    }
    if (token === undefined || token.trim() === '') {
      throw new SecretsConfigError(
        options.token !== undefined ? 'secretsManagerAgent.token' : 'secretsManagerAgent',
        `no SSRF token for the Secrets Manager Agent. Set AWS_TOKEN (the agent's default, e.g. AWS_TOKEN=file:///var/run/awssmatoken), ` +
          `or in Lambda AWS_SESSION_TOKEN, or pass { token } to secretsManagerAgent().`,
      );
    }
    this.#tokenSourceName = from;
    if (token.startsWith('file://')) {
      let file: string;
      try {
        file = decodeURIComponent(new URL(token).pathname);
      } catch {
        file = token.slice('file://'.length);
      }
      if (!file) throw new SecretsConfigError('secretsManagerAgent.token', `the ${from} file:// value names no file.`);
      this.#tokenSpec = { file };
    } else {
      this.#tokenSpec = { value: token.trim() };
    }
    if (options.roleArn !== undefined && (typeof options.roleArn !== 'string' || !ROLE_ARN.test(options.roleArn))) {
      throw new SecretsConfigError(
        'secretsManagerAgent.roleArn',
        'expected an IAM role ARN like arn:aws:iam::123456789012:role/reader (the format the Workload Credentials Provider accepts).',
      );
    }
    this.roleArn = options.roleArn;
    const service = options.service ?? 'secretsmanager';
    if (service !== 'secretsmanager' && service !== 'ssm') {
      throw new SecretsConfigError('secretsManagerAgent.service', `expected "secretsmanager" or "ssm".`);
    }
    if (service === 'ssm' && options.roleArn !== undefined) {
      throw new SecretsConfigError('secretsManagerAgent.roleArn', 'the Parameter Store route takes no roleArn.');
    }
    this.service = service;
    this.connectionMaxAge = parseDuration(options.connectionMaxAge ?? 50_000, 'secretsManagerAgent.connectionMaxAge');
    setMaxListeners(Infinity, this.#closing.signal); // one listener per fetch in flight
    // One keep-alive pool per source, sized to the concurrency, destroyed by close().
    const Agent = base.protocol === 'https:' ? https.Agent : http.Agent;
    this.httpAgent = new Agent({ keepAlive: true, maxSockets: this.concurrency });
    const born = new WeakMap<object, number>();
    // Node's Agent hooks: createConnection makes each socket; keepSocketAlive decides whether a freed one is pooled.
    const agent = this.httpAgent as unknown as {
      createConnection(options: object, callback?: unknown): object;
      keepSocketAlive(socket: object): boolean | undefined;
    };
    const create = agent.createConnection.bind(agent);
    agent.createConnection = (opts, callback) => {
      const socket = create(opts, callback);
      born.set(socket, performance.now());
      return socket;
    };
    const keep = agent.keepSocketAlive.bind(agent);
    // Returning false closes the socket instead of pooling it.
    agent.keepSocketAlive = (socket) =>
      performance.now() - (born.get(socket) ?? 0) < this.connectionMaxAge && keep(socket) !== false;
  }

  stats(): SourceStats {
    return this.counters.snapshot();
  }

  async fetch(requests: readonly SecretRequest[], context: FetchContext): Promise<readonly FetchOutcome[]> {
    // The caller's signal or close(), whichever comes first.
    const either = new AbortController();
    setMaxListeners(Infinity, either.signal); // one listener per request in flight
    const links = [context.signal, this.#closing.signal].map((signal) => {
      const forward = (): void => either.abort(signal.reason);
      if (signal.aborted) forward();
      else signal.addEventListener('abort', forward, { once: true });
      return () => signal.removeEventListener('abort', forward);
    });
    try {
      const linked = { ...context, signal: either.signal };
      return await mapConcurrent(requests, this.concurrency, (request) => this.getOne(request, linked));
    } finally {
      for (const unlink of links) unlink();
    }
  }

  async close(): Promise<void> {
    // Abort first: the resets the pool's destruction causes must not be retried on a new connection.
    this.#closing.abort(Object.assign(new Error('the source was closed'), { name: 'AbortError' }));
    this.httpAgent.destroy();
  }

  toString(): string {
    return `SecretsManagerAgentSource(${this.url})`;
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, url: this.url, token: `${REDACTED} (from ${this.#tokenSourceName})` };
  }

  [inspect.custom](): string {
    return `SecretsManagerAgentSource { url: ${this.url}, token: ${REDACTED} (from ${this.#tokenSourceName}) }`;
  }

  async #token(reread: boolean, context: FetchContext): Promise<string> {
    const spec = this.#tokenSpec;
    if ('value' in spec) return spec.value;
    if (this.#cachedToken === undefined || reread) {
      this.#cachedToken = (await readFile(spec.file, 'utf8')).trim();
      if (!this.#permissionsChecked) {
        this.#permissionsChecked = true;
        await this.#checkPermissions(spec.file, context);
      }
    }
    return this.#cachedToken;
  }

  /**
   * Whether `text` carries `token` or a fragment (6+ characters, or an encoding) of it: an agent,
   * proxy or broken extension may echo the header it got, and in Lambda that is AWS_SESSION_TOKEN.
   * A token shorter than a fragment is looked for as is (a fragment search finds it only quoted):
   * withholding text that merely contains it costs nothing.
   */
  #carriesToken(token: string, text: string): boolean {
    if (token !== '' && text.includes(token)) return true;
    if (this.#tokenFragments?.token !== token) this.#tokenFragments = { token, fragments: Fragments.of(token) };
    return this.#tokenFragments.fragments.in(text);
  }

  /** Warns once when the token file can be read by every user of the machine. */
  async #checkPermissions(file: string, context: FetchContext): Promise<void> {
    if (process.platform === 'win32') return;
    try {
      const mode = (await stat(file)).mode & 0o777;
      if ((mode & 0o004) === 0) return;
      context.logger?.warn(
        `The Secrets Manager Agent token file ${file} is readable by every user (mode ${mode.toString(8).padStart(4, '0')}); ` +
          'any process on the host can use the token to read secrets through the agent. Make it 0600 (owner only).',
        { event: 'agent-token-file-world-readable', file, mode: mode.toString(8) },
      );
    } catch {
      // The file was just read; a failing stat only loses the warning.
    }
  }

  /** The agent URL for one request: the Secrets Manager route, or the Parameter Store one. */
  private urlFor(request: SecretRequest, context: FetchContext): URL {
    const base = `${this.#base.href.replace(/\/+$/, '')}/`;
    if (this.service === 'ssm') {
      // The extension caches parameters for its TTL and documents no refreshNow here.
      const url = new URL('systemsmanager/parameters/get', base);
      url.searchParams.set('name', request.id);
      url.searchParams.set('withDecryption', 'true');
      if (request.versionId) url.searchParams.set('version', request.versionId);
      else if (request.versionStage) url.searchParams.set('label', request.versionStage);
      return url;
    }
    const url = new URL('secretsmanager/get', base);
    url.searchParams.set('secretId', request.id);
    if (request.versionId) url.searchParams.set('versionId', request.versionId);
    if (request.versionStage) url.searchParams.set('versionStage', request.versionStage);
    if (context.force && !this.refreshNowRejected) url.searchParams.set('refreshNow', 'true');
    if (this.roleArn) url.searchParams.set('roleArn', this.roleArn);
    return url;
  }

  private async getOne(request: SecretRequest, context: FetchContext): Promise<FetchOutcome> {
    const id = request.id;
    const url = this.urlFor(request, context);
    const operation = this.service === 'ssm' ? 'AgentGetParameter' : 'AgentGet';

    let attempts = 0;
    let rereadToken = false;
    // After a reset, the retry goes on a new connection: a pooled sibling opened with the reset
    // one (a load opens `concurrency` at once) is cut by the agent at the same moment.
    let reset = false;
    const started = performance.now();
    for (;;) {
      attempts++;
      let token: string;
      try {
        token = await this.#token(rereadToken, context);
      } catch (error) {
        const file = 'file' in this.#tokenSpec ? this.#tokenSpec.file : '';
        const code = (error as { code?: string }).code ?? 'UnknownError';
        this.counters.record(operation, attempts, 'AgentTokenUnavailable');
        // Retryable: the agent writes its token file when it starts, which may be after us.
        return fail(
          id,
          'AgentTokenUnavailable',
          `cannot read the agent token file ${file} (${code}; from ${this.#tokenSourceName}).`,
          true,
          false,
          error,
        );
      }
      let response: { status: number; body: string };
      try {
        response = await this.get(url, token, context.signal, reset);
      } catch (error) {
        const code = errorCode(error, context.signal);
        // A keep-alive socket the agent closed while idle fails once with ECONNRESET; retry that once,
        // also after a token re-read or a knock (a request that is not the first can meet the cut too).
        if ((code === 'ECONNRESET' || code === 'EPIPE') && !reset && !context.signal.aborted) {
          reset = true;
          continue;
        }
        // A Lambda extension registers before it listens: during load, knock again shortly instead
        // of handing the store ECONNREFUSED and its boot backoff (up to a second per try).
        if (code === 'ECONNREFUSED' && (await knockAgain(attempts, started, context))) continue;
        this.counters.record(operation, attempts, code);
        const hint =
          code === 'ECONNREFUSED'
            ? ` Is the Secrets Manager Agent (or the Lambda extension) running at ${this.url}?`
            : TLS_CODE.test(code)
              ? ` TLS with the agent failed: it must serve https with a certificate for ${this.#base.hostname} that Node trusts (add a private CA with NODE_EXTRA_CA_CERTS); the Agent and the Lambda extension serve plain http on localhost.`
              : '';
        return fail(id, code, `request to the agent at ${this.url} failed (${code}).${hint}`, true, false, error);
      }
      if (response.status === 200) {
        try {
          const parsed: unknown = JSON.parse(response.body);
          const secret = this.service === 'ssm' ? parameterFromAgent(parsed, request) : toRaw(parsed as AgentBody, id);
          this.counters.record(operation, attempts, 'ok');
          return { ok: true, secret };
        } catch {
          this.counters.record(operation, attempts, 'InvalidAgentResponse');
          return fail(
            id,
            'InvalidAgentResponse',
            `the agent at ${this.url} answered 200 with a body that is not a ${this.service === 'ssm' ? 'GetParameter' : 'GetSecretValue'} result.`,
            true,
            false,
          );
        }
      }
      if (response.status === 403) {
        if ('file' in this.#tokenSpec && !rereadToken) {
          rereadToken = true;
          continue;
        }
        this.counters.record(operation, attempts, 'AgentForbidden');
        return fail(
          id,
          'AgentForbidden',
          `the agent at ${this.url} rejected the SSRF token (403 Bad Token; token from ${this.#tokenSourceName}). ` +
            'Set AWS_TOKEN (or the token option) to the token the agent was started with, e.g. AWS_TOKEN=file:///var/run/awssmatoken.',
          false,
          false,
        );
      }
      if (response.status < 500 && NOT_READY.test(response.body)) {
        // Listening, not ready yet: like a port not open yet, then a retryable failure.
        if (await knockAgain(attempts, started, context)) continue;
        this.counters.record(operation, attempts, 'AgentNotReady');
        return fail(
          id,
          'AgentNotReady',
          `the Lambda extension at ${this.url} is not ready yet (${response.status} "not ready to serve traffic").`,
          true,
          false,
        );
      }
      if (response.status === 400 && url.searchParams.has('refreshNow') && /refreshNow/i.test(response.body)) {
        // The Lambda extension documents no refreshNow: send the request again without it, and stop sending it.
        url.searchParams.delete('refreshNow');
        if (!this.refreshNowRejected)
          context.logger?.warn(
            `The agent at ${this.url} rejected refreshNow (400); forced refreshes are sent without it from now on and return the agent's cached value.`,
            { event: 'agent-refresh-now-unsupported', source: this.kind },
          );
        this.refreshNowRejected = true;
        attempts--;
        continue;
      }
      if (response.status === 400 && this.roleArn && /unknown parameter:?\s*roleArn/i.test(response.body)) {
        this.counters.record(operation, attempts, 'AgentRoleArnUnsupported');
        return fail(
          id,
          'AgentRoleArnUnsupported',
          `the agent at ${this.url} does not accept roleArn (400 unknown parameter). Cross-account roleArn needs the AWS Workload Credentials Provider; the Secrets Manager Agent and the Lambda extension read with their own role only.`,
          false,
          false,
        );
      }
      const mapped = mapError(response.status, response.body, this.url, url.pathname, (text) =>
        this.#carriesToken(token, text),
      );
      this.counters.record(operation, attempts, mapped.throttled ? 'throttled' : mapped.code);
      return fail(id, mapped.code, mapped.message, mapped.retryable, mapped.throttled);
    }
  }

  /** One GET; `fresh` sends it on a new connection, closed after the answer, instead of a pooled one. */
  private get(url: URL, token: string, signal: AbortSignal, fresh = false): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const lib = url.protocol === 'https:' ? https : http;
      let timedOut = false;
      const req = lib.request(
        url,
        {
          method: 'GET',
          agent: fresh ? false : this.httpAgent,
          headers: { [AGENT_TOKEN_HEADER]: token, Accept: 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES)
              req.destroy(Object.assign(new Error('agent response too large'), { code: 'InvalidAgentResponse' }));
            else chunks.push(chunk);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(Object.assign(new Error(`no answer within ${this.requestTimeout} ms`), { code: 'TimeoutError' }));
      }, this.requestTimeout);
      timer.unref();
      const onAbort = () => req.destroy(Object.assign(new Error('aborted'), { code: 'AbortError' }));
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      });
      req.on('error', (error) =>
        reject(timedOut ? Object.assign(new Error('timeout'), { code: 'TimeoutError' }) : error),
      );
      req.end();
    });
  }
}

/**
 * During a load and within {@link AGENT_START_GRACE_MS} of the request's start, waits a little
 * (10-200 ms, growing) and says to send the request again; else (or when aborted) says not to.
 */
async function knockAgain(attempts: number, started: number, context: FetchContext): Promise<boolean> {
  if (context.reason !== 'load' || performance.now() - started >= AGENT_START_GRACE_MS) return false;
  await sleepUnlessAborted(Math.min(200, 10 * 2 ** Math.min(attempts, 5)), context.signal);
  return !context.signal.aborted;
}

interface AgentBody {
  ARN?: string | null;
  Name?: string | null;
  VersionId?: string | null;
  SecretString?: string | null;
  SecretBinary?: string | null;
  CreatedDate?: string | number | null;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A GetSecretValue result for `id`, or throws when the body is not one (the caller reports InvalidAgentResponse). */
function toRaw(body: AgentBody, id: string): RawSecret {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new TypeError('not an object');
  // The agent sends absent members as null.
  const string = body.SecretString ?? undefined;
  const binary = body.SecretBinary ?? undefined;
  if (string === undefined && binary === undefined) throw new TypeError('neither SecretString nor SecretBinary');
  if (string !== undefined && typeof string !== 'string') throw new TypeError('SecretString is not a string');
  if (binary !== undefined && (typeof binary !== 'string' || !BASE64.test(binary)))
    throw new TypeError('SecretBinary is not base64');
  if (typeof body.VersionId !== 'string' || body.VersionId === '') throw new TypeError('no VersionId');
  if (identityProblem(id, body.Name ?? undefined, body.ARN ?? undefined) !== undefined)
    throw new TypeError('another secret');
  return {
    versionId: body.VersionId,
    string,
    binary: string === undefined && binary !== undefined ? new Uint8Array(Buffer.from(binary, 'base64')) : undefined,
    createdDate: parseAgentDate(body.CreatedDate),
    arn: body.ARN ?? undefined,
  };
}

/**
 * A GetParameter result (`{ Parameter: {...} }`) for `request`, or throws when the body is not one
 * (the caller reports InvalidAgentResponse). The version id is the parameter's Version, as
 * `ssmParameterStore()` reads it.
 */
function parameterFromAgent(body: unknown, request: SecretRequest): RawSecret {
  const p = (body as { Parameter?: unknown } | null)?.Parameter as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new TypeError('no Parameter');
  if (typeof p['Value'] !== 'string') throw new TypeError('Value is not a string');
  const name = p['Name'];
  const selector = typeof p['Selector'] === 'string' ? p['Selector'] : '';
  const sent = request.versionId ?? request.versionStage;
  const wanted = sent === undefined ? request.id : `${request.id}:${sent}`;
  if (typeof name !== 'string' || (`${name}${selector}` !== wanted && name !== wanted && !wanted.startsWith('arn:')))
    throw new TypeError('another parameter');
  const raw = parameterToRaw({
    Name: name,
    Value: p['Value'],
    Version: typeof p['Version'] === 'number' ? p['Version'] : undefined,
    Selector: selector || undefined,
    SourceResult: typeof p['SourceResult'] === 'string' ? p['SourceResult'] : undefined,
    LastModifiedDate: parseAgentDate(p['LastModifiedDate']),
    ARN: typeof p['ARN'] === 'string' ? p['ARN'] : undefined,
  });
  if (typeof raw.versionId !== 'string') throw new TypeError('no Version');
  return raw;
}

/** The agent sends `CreatedDate` as a string of epoch seconds (`"1569534789.046"`); the API sends a number. */
export function parseAgentDate(value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000);
  if (typeof value === 'string' && value.trim() !== '') {
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return new Date(seconds * 1000);
    const parsed = Date.parse(value);
    if (Number.isFinite(parsed)) return new Date(parsed);
  }
  return undefined;
}

function mapError(
  status: number,
  body: string,
  url: string,
  route: string,
  carriesToken: (text: string) => boolean,
): { code: string; message: string; retryable: boolean; throttled: boolean } {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const parsed = JSON.parse(body) as { __type?: unknown; message?: unknown; Message?: unknown };
    if (typeof parsed.__type === 'string') code = errorCodeName(parsed.__type.replace(/^.*#/, ''));
    const m = parsed.message ?? parsed.Message;
    if (typeof m === 'string') message = m;
  } catch {
    // Plain-text bodies: "Bad Token", "Not found", "unknown parameter: x", "Connection limit exceeded".
    // The Secrets Manager Agent builds its error JSON with format!() and no escaping, so a message
    // with a quote is not JSON (the Workload Credentials Provider escapes it): keep its __type.
    const type = /^\s*\{\s*"__type"\s*:\s*"([A-Za-z0-9_.#:-]{1,128})"/.exec(body)?.[1];
    if (type) code = errorCodeName(type.replace(/^.*#/, ''));
  }
  // A body is foreign text (a proxy or a broken agent may answer with anything, the value included):
  // only the agent's JSON `message` and its known plain-text answers are quoted.
  const plain = body.replace(/\s+/g, ' ').trim();
  const known = AGENT_PLAIN_ANSWERS.find((answer) => plain.toLowerCase().startsWith(answer));
  const quoted = (
    message ??
    (known !== undefined && plain.length <= 120 ? plain : plain ? `body withheld, ${body.length} characters` : '')
  ).slice(0, 200);
  // Text or a code that quotes the SSRF token (a credential) is withheld like a value would be.
  if (code !== undefined && carriesToken(code)) code = undefined;
  const text = quoted && carriesToken(quoted) ? `text withheld, it quotes the SSRF token` : quoted;
  const throttled = status === 429 || (code !== undefined && THROTTLING_CODES.has(code));
  if (status === 429) {
    return {
      code: code ?? 'AgentConnectionLimitExceeded',
      message: `the agent at ${url} is at its connection limit (429): ${text}`,
      retryable: true,
      throttled,
    };
  }
  if (status >= 500) {
    return {
      code: code ?? `AgentHttp${status}`,
      message: `the agent at ${url} answered ${status}: ${text || 'no detail'}`,
      retryable: true,
      throttled,
    };
  }
  if (code !== undefined) return { code, message: text || code, retryable: throttled, throttled };
  if (status === 404) {
    return {
      code: 'AgentNotFound',
      message: `${url} answered 404 "${text}" for ${route}; is the url the Secrets Manager Agent${route === '/secretsmanager/get' ? '' : ' (Parameter Store: the Lambda extension)'}?`,
      retryable: false,
      throttled: false,
    };
  }
  return {
    code: `AgentHttp${status}`,
    message: `the agent at ${url} answered ${status}: ${text || 'no detail'}`,
    retryable: false,
    throttled: false,
  };
}

function errorCode(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason = signal.reason as { awsCode?: string; name?: string } | undefined;
    return reason?.awsCode ?? (reason?.name === 'TimeoutError' ? 'TimeoutError' : 'AbortError');
  }
  const code = (error as { code?: string })?.code;
  if (
    typeof code === 'string' &&
    (NETWORK_CODES.has(code) || code === 'TimeoutError' || code === 'InvalidAgentResponse')
  )
    return code;
  if (typeof code === 'string' && (/^E[A-Z]+$/.test(code) || TLS_CODE.test(code))) return code;
  return 'NetworkError';
}

function fail(
  id: string,
  code: string,
  message: string,
  retryable: boolean,
  throttled: boolean,
  cause?: unknown,
): FetchOutcome {
  return { ok: false, error: new SecretFetchError(id, code, message, { retryable, throttled, cause }) };
}
