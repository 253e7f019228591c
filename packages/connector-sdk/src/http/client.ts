import { createRequire } from 'node:module';
import { isSecretHeaderName, redactString, redactUrl, registerSecret } from '../log/redact.js';
import { sleep } from '../time/index.js';
import { BodyProblem, lenientBody, parseJsonBody, validateBody, vendorDetail } from './body.js';
import {
  credentialsRefusedError,
  credentialsUnavailableError,
  invalidResponseError,
  localRateLimitError,
  type RequestContext,
  redirectError,
  responseTooLargeError,
  statusError,
  type TransportFailure,
  transportError,
} from './failure.js';
import { createTransportAgents, extraCaCertificates, resolveProxySettings, trustStore } from './proxy.js';
import { createRateLimiter, RateLimitWaitError } from './rate-limit.js';
import {
  backoffDelayMs,
  isIdempotentMethod,
  isRetryableStatus,
  isUnprocessedStatus,
  resolveRetryPolicy,
  retryAfterMs,
} from './retry.js';
import { createSharedRateLimiter } from './shared-rate-limit.js';
import { createAxios, sendOverWire, type WireOutcome } from './transport.js';
import type {
  HttpAcceptedResponse,
  HttpAuth,
  HttpClient,
  HttpClientOptions,
  HttpRequest,
  HttpRequestOptions,
  HttpResponse,
  QueryParams,
} from './types.js';

/** Time and randomness, replaceable in tests. */
export interface HttpRuntime {
  now(): number;
  sleep(ms: number, signal: AbortSignal | undefined): Promise<void>;
  random(): number;
  env: Record<string, string | undefined>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

export const defaultRuntime: HttpRuntime = {
  now: () => Date.now(),
  sleep,
  random: Math.random,
  env: process.env,
};

function sdkVersion(): string {
  try {
    // src/http and dist/http are both two levels below the package root.
    const pkg: unknown = createRequire(import.meta.url)('../../package.json');
    const version = (pkg as { version?: unknown }).version;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const SDK_VERSION = sdkVersion();

function parseBaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`baseURL is not an absolute URL: ${redactUrl(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`baseURL must be http:// or https://, got ${url.protocol}`);
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

/** Relative URLs extend the base path (axios' rule): '/smoke/1.2.3.4' on '.../v2' is '.../v2/smoke/1.2.3.4'. */
function resolveUrl(base: URL, url: string, params: QueryParams | undefined): URL {
  const target = /^[a-z][a-z0-9+.-]*:/i.test(url) ? new URL(url) : new URL(url.replace(/^\/+/, ''), base);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new TypeError(`only http:// and https:// URLs can be requested, got ${target.protocol}`);
  }
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null) continue;
    const values: readonly (string | number | boolean)[] = Array.isArray(value) ? value : [value];
    for (const v of values) target.searchParams.append(name, String(v));
  }
  return target;
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/** Registers a header value and, for "Bearer x" style values, the credential alone. */
function registerHeaderSecret(value: string): void {
  registerSecret(value);
  const scheme = /^(?:bearer|basic|token|apikey)\s+(.+)$/i.exec(value.trim());
  registerSecret(scheme?.[1]);
}

function staticAuthHeaders(auth: HttpAuth | undefined): Record<string, string> | undefined {
  if (auth === undefined || typeof auth === 'function' || auth.type === 'none') return undefined;
  if (auth.type === 'bearer') {
    registerSecret(auth.token);
    return { authorization: `Bearer ${auth.token}` };
  }
  registerSecret(auth.value);
  return { [auth.name.toLowerCase()]: auth.value };
}

/** `scheme://host:port` with the port always written (https://api.example:443). */
export function originOf(url: URL): string {
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '') : url.port;
  return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
}

function parseAllowedOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(
      `allowedOrigins entries are origins such as https://files.example.com, got ${redactUrl(value)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`allowedOrigins entries must be http:// or https:// origins, got ${url.protocol}`);
  }
  return originOf(url);
}

/** The auth function failed; carried out of the rate limiter to be reported as the vendor's error. */
class CredentialsUnavailable extends Error {
  constructor(cause: unknown) {
    super('credentials unavailable', { cause });
  }
}

/** Vendor APIs answer in kilobytes; a connector that downloads more says so (HttpClientOptions.maxResponseBytes). */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

const SUCCESS = (status: number): boolean => status >= 200 && status < 300;

export function createHttpClientWith(options: HttpClientOptions, runtime: HttpRuntime): HttpClient {
  const vendor = options.vendor;
  const base = parseBaseUrl(options.baseURL);
  const retry = resolveRetryPolicy(options.retry);
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${String(timeoutMs)}`);
  const maxRedirects = options.maxRedirects ?? 5;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!(Number.isSafeInteger(maxResponseBytes) && maxResponseBytes > 0)) {
    throw new RangeError(`maxResponseBytes must be a positive integer, got ${String(maxResponseBytes)}`);
  }
  const allowedOrigins = new Set([originOf(base), ...(options.allowedOrigins ?? []).map(parseAllowedOrigin)]);
  const logger = options.logger;
  const userAgent = options.userAgent ?? `cti-connector-sdk/${SDK_VERSION} (+${vendor})`;

  const fixedAuth = staticAuthHeaders(options.auth);
  const authFunction = typeof options.auth === 'function' ? options.auth : undefined;
  const clientHeaders = lowerCaseKeys(options.headers);
  const credentialNames = new Set(Object.keys(fixedAuth ?? {}));
  for (const [name, value] of Object.entries(clientHeaders)) {
    if (isSecretHeaderName(name)) registerHeaderSecret(value);
  }
  const isCredentialHeader = (name: string): boolean => credentialNames.has(name) || isSecretHeaderName(name);

  const rejectUnauthorized = options.rejectUnauthorized ?? true;
  if (!rejectUnauthorized) {
    logger?.warn(
      { vendor },
      `TLS certificate verification is OFF for ${vendor}: its answers could come from anyone on the network path`,
    );
  }
  const agents = createTransportAgents(
    resolveProxySettings(options.proxy, runtime.env),
    { ca: trustStore(extraCaCertificates(options.caCertificates, runtime.env)), rejectUnauthorized },
    timeoutMs,
  );
  const limiter = options.rateLimit?.redisUrl
    ? createSharedRateLimiter({ ...options.rateLimit, redisUrl: options.rateLimit.redisUrl }, vendor, options.logger)
    : createRateLimiter(options.rateLimit, vendor);
  const http = createAxios();
  const lifecycle = new AbortController();
  const stopOnShutdown = (): void => lifecycle.abort(options.signal?.reason);
  if (options.signal?.aborted) stopOnShutdown();
  else options.signal?.addEventListener('abort', stopOnShutdown, { once: true });

  // Scheme, host and port, the default port made explicit: another port of the same host is another server,
  // and an https vendor's credentials never go over plain http.
  const mayReceiveCredentials = (url: URL): boolean => allowedOrigins.has(originOf(url));

  async function credentialHeaders(): Promise<Record<string, string>> {
    if (fixedAuth !== undefined) return fixedAuth;
    if (authFunction === undefined) return {};
    const produced = lowerCaseKeys(await authFunction());
    for (const [name, value] of Object.entries(produced)) {
      credentialNames.add(name);
      registerHeaderSecret(value);
    }
    return produced;
  }

  function headersFor(req: HttpRequest<unknown>): (url: URL) => Promise<Record<string, string>> {
    const requestHeaders = lowerCaseKeys(req.headers);
    for (const [name, value] of Object.entries(requestHeaders)) {
      if (isSecretHeaderName(name)) registerHeaderSecret(value);
    }
    return async (url) => {
      const withCredentials = req.withAuth !== false && mayReceiveCredentials(url);
      const headers: Record<string, string> = {
        'user-agent': userAgent,
        accept: (req.responseType ?? 'json') === 'json' ? 'application/json' : '*/*',
      };
      for (const source of [clientHeaders, requestHeaders]) {
        for (const [name, value] of Object.entries(source)) {
          if (withCredentials || !isCredentialHeader(name)) headers[name] = value;
        }
      }
      if (withCredentials) {
        try {
          Object.assign(headers, await credentialHeaders());
        } catch (err) {
          throw new CredentialsUnavailable(err);
        }
      } else if (req.withAuth !== false && (fixedAuth !== undefined || authFunction !== undefined)) {
        logger?.debug({ vendor, host: url.host }, 'credentials left out: the host may not receive them');
      }
      return headers;
    };
  }

  function combinedSignal(req: HttpRequestOptions<unknown>): AbortSignal {
    return req.signal === undefined ? lifecycle.signal : AbortSignal.any([lifecycle.signal, req.signal]);
  }

  function logAttempt(ctx: RequestContext, outcome: WireOutcome, attempt: number, startedAt: number): void {
    const fields: Record<string, unknown> = {
      vendor,
      method: ctx.method,
      url: ctx.url,
      attempt,
      durationMs: Math.max(0, runtime.now() - startedAt),
    };
    if (outcome.kind === 'failure') fields.error = outcome.failure.code ?? outcome.failure.kind;
    else fields.status = outcome.status;
    logger?.debug(fields, 'vendor HTTP request');
  }

  async function execute<T>(req: HttpRequest<T>): Promise<HttpResponse<T> | HttpAcceptedResponse> {
    const method = (req.method ?? 'GET').toUpperCase();
    const target = resolveUrl(base, req.url, req.params);
    const ctx: RequestContext = { vendor, method, url: redactString(redactUrl(target.href)) };
    const signal = combinedSignal(req);
    if (signal.aborted) throw abortReason(signal);
    if (req.withAuth === true && !mayReceiveCredentials(target)) {
      throw credentialsRefusedError(ctx, originOf(target), [...allowedOrigins]);
    }
    const idempotent = req.idempotent ?? isIdempotentMethod(method);
    const responseType = req.responseType ?? 'json';
    const wire = {
      method,
      url: target,
      data: req.data,
      headersFor: headersFor(req as HttpRequest<unknown>),
      maxRedirects,
      timeoutMs,
      maxResponseBytes,
      signal,
    };

    for (let attempt = 1; ; attempt++) {
      let startedAt = runtime.now();
      let outcome: WireOutcome;
      try {
        outcome = await limiter.schedule(() => {
          startedAt = runtime.now();
          return sendOverWire(http, agents, wire);
        }, signal);
      } catch (err) {
        if (signal.aborted) throw abortReason(signal);
        if (err instanceof RateLimitWaitError) throw localRateLimitError(ctx, err.budget, err.retryAfterMs);
        if (err instanceof CredentialsUnavailable) throw credentialsUnavailableError(ctx, err.cause);
        throw err;
      }
      logAttempt(ctx, outcome, attempt, startedAt);

      let failure: TransportFailure | undefined;
      let waitMs: number;
      if (outcome.kind === 'redirect-refused') {
        throw redirectError(ctx, outcome.status, outcome.why);
      } else if (outcome.kind === 'too-large') {
        // Not retried: the same request would bring the same answer.
        throw responseTooLargeError(ctx, { ...outcome, setting: options.maxResponseSetting });
      } else if (outcome.kind === 'failure') {
        failure = outcome.failure;
        const retryable = failure.retryable && (idempotent || failure.notSent);
        if (!retryable || attempt >= retry.maxAttempts) throw transportError(ctx, failure, attempt);
        waitMs = backoffDelayMs(attempt, retry, runtime.random);
      } else {
        const { status } = outcome;
        if (SUCCESS(status)) return successResponse(ctx, outcome, req.schema, responseType);
        if (req.acceptStatus?.includes(status)) {
          return {
            ok: false,
            status,
            data: lenientBody(outcome.body, responseType),
            headers: outcome.headers,
            url: redactString(redactUrl(outcome.url.href)),
          };
        }
        const hint = retryAfterMs(status, outcome.headers, runtime.now());
        const waitTooLong = hint !== undefined && hint > retry.maxRetryAfterMs;
        const retryable = isRetryableStatus(status) && (idempotent || isUnprocessedStatus(status));
        if (!retryable || attempt >= retry.maxAttempts || waitTooLong) {
          throw statusError(ctx, {
            status,
            attempts: attempt,
            detail: vendorDetail(outcome.body, outcome.headers['content-type']),
            retryAfterMs: hint,
            waitTooLong,
          });
        }
        waitMs = hint ?? backoffDelayMs(attempt, retry, runtime.random);
      }

      logger?.warn(
        {
          vendor,
          method,
          url: ctx.url,
          attempt,
          waitMs,
          ...(failure === undefined
            ? { status: outcome.kind === 'response' ? outcome.status : undefined }
            : { error: failure.code ?? failure.kind }),
        },
        'vendor HTTP request failed; retrying',
      );
      await runtime.sleep(waitMs, signal);
    }
  }

  function successResponse<T>(
    ctx: RequestContext,
    outcome: Extract<WireOutcome, { kind: 'response' }>,
    schema: HttpRequest<T>['schema'],
    responseType: 'json' | 'text',
  ): HttpResponse<T> {
    let data: unknown;
    try {
      data =
        responseType === 'text'
          ? outcome.body.toString('utf8')
          : parseJsonBody(outcome.body, outcome.headers['content-type']);
      if (schema !== undefined) data = validateBody(schema, data);
    } catch (err) {
      if (err instanceof BodyProblem) throw invalidResponseError(ctx, outcome.status, err.message);
      throw err;
    }
    return {
      ok: true,
      status: outcome.status,
      // Without a schema the caller chose T; with one, validateBody produced a T.
      data: data as T,
      headers: outcome.headers,
      url: redactString(redactUrl(outcome.url.href)),
    };
  }

  let closing: Promise<void> | undefined;
  const client = {
    request: <T>(req: HttpRequest<T>) => execute(req),
    get: <T>(url: string, opts?: HttpRequestOptions<T>) => execute<T>({ ...opts, method: 'GET', url }),
    post: <T>(url: string, data?: unknown, opts?: HttpRequestOptions<T>) =>
      execute<T>({ ...opts, method: 'POST', url, data }),
    sendsCredentialsTo: (url: string | URL) => mayReceiveCredentials(new URL(url, base)),
    close(): Promise<void> {
      closing ??= (async () => {
        lifecycle.abort(new DOMException(`the ${vendor} HTTP client was closed`, 'AbortError'));
        options.signal?.removeEventListener('abort', stopOnShutdown);
        await limiter.stop();
        agents.destroy();
      })();
      return closing;
    },
  };
  // The overloads only narrow `data` by whether acceptStatus was given; one implementation serves both.
  return client as HttpClient;
}

/**
 * The HTTP client for one vendor API: timeouts, retries with backoff, the vendor's rate limits,
 * proxy and CA from the environment, credentials only to the vendor's hosts, and errors that
 * name the vendor and never carry a secret.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  return createHttpClientWith(options, defaultRuntime);
}
