import type { ZodType } from 'zod';

/**
 * How the client authenticates to the vendor. Credentials are only ever sent to the origin of `baseURL`
 * (scheme, host and port) and to `allowedOrigins`.
 *
 * A function is called before every attempt that carries credentials (an OAuth client refreshes
 * its token there); the values it returns are registered as secrets, so they are redacted from
 * every log line and error.
 */
export type HttpAuth =
  | { type: 'bearer'; token: string }
  | { type: 'header'; name: string; value: string }
  | { type: 'none' }
  | (() => Record<string, string> | Promise<Record<string, string>>);

/**
 * A vendor's rate limit, stated the way the vendor states it. Several windows may be combined
 * (`{ perMinute: 60, perHour: 500, perDay: 5000 }`, as urlscan.io publishes them); each is
 * enforced as a sliding window, so no window of that length ever holds more requests than the
 * limit, bursts at start-up included. `perSecond` is enforced as even spacing (1000 / n ms).
 *
 * Every attempt counts, retries included: the vendor counts them too.
 */
export interface RateLimit {
  perSecond?: number;
  perMinute?: number;
  perHour?: number;
  perDay?: number;
  /** A window of any length: at most `count` requests in any `intervalMs`. Give both or neither. */
  count?: number;
  intervalMs?: number;
  /** Requests in flight at the same time. Default: unlimited. */
  maxConcurrent?: number;
  /**
   * Longest time a request may wait for a free slot before it fails with a RateLimitError
   * (whose `retryAfterMs` says when a slot frees up). When the wait is known to be longer up
   * front (a daily budget used up), the request fails at once. Default 300 000 (5 minutes).
   */
  maxWaitMs?: number;
  /**
   * Names this limiter: replicas that share a Redis (redisUrl) and an id share the budget. The SDK's
   * runtime sets it to "<connector slug>:<vendor>".
   */
  id?: string;
  /**
   * Redis URL (CONNECTOR_RATE_LIMIT_REDIS_URL): the budget is shared by every process using the same
   * Redis and id. Without it, each process keeps its own budget.
   */
  redisUrl?: string;
}

export interface RetryOptions {
  /** Attempts in total, the first included. Default 4; 1 disables retries. */
  maxAttempts?: number;
  /** Base of the exponential backoff (full jitter). Default 500 ms. */
  baseDelayMs?: number;
  /** Upper bound of one backoff wait. Default 30 000 ms. */
  maxDelayMs?: number;
  /**
   * A Retry-After (or rate-limit reset) longer than this is not waited for: the request fails at
   * once with the vendor's wait in `retryAfterMs`. Default 120 000 ms.
   */
  maxRetryAfterMs?: number;
}

/**
 * Proxy settings. By default they come from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case,
 * lower-case first); `false` ignores the environment; an object replaces it.
 */
export type ProxyOptions = false | { httpProxy?: string; httpsProxy?: string; noProxy?: string };

/** pino-compatible: `logger.debug(obj, msg)`. */
export interface HttpLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface HttpClientOptions {
  /** The vendor as analysts know it ("CrowdSec", "urlscan.io"): named in every error message. */
  vendor: string;
  /** Base URL of the API; relative request URLs resolve against it. A trailing slash is optional. */
  baseURL: string;
  auth?: HttpAuth;
  /** Headers sent with every request. Credential-named headers follow the same host rule as `auth`. */
  headers?: Record<string, string>;
  /** Default `cti-connector-sdk/<version> (+<vendor>)`. */
  userAgent?: string;
  /** Bound on each attempt, from connect to the last byte of the body. Default 30 000 ms. */
  timeoutMs?: number;
  rateLimit?: RateLimit;
  retry?: RetryOptions;
  proxy?: ProxyOptions;
  /**
   * PEM certificates trusted IN ADDITION to Node's default store. HTTPS_CA_CERTIFICATES and
   * HTTPS_PROXY_CA (PEM text or a file path) are added too.
   */
  caCertificates?: string[];
  /** Default true. `false` turns TLS verification off for this vendor only, with a warning. */
  rejectUnauthorized?: boolean;
  /**
   * Origins besides `baseURL`'s that may receive the credentials ("https://files.example.com",
   * "https://api.example.com:8443"). An origin is scheme, host and port, the default port included: another
   * port or scheme of the same host is another origin. Others get the request without credentials; see
   * HttpRequest.withAuth.
   */
  allowedOrigins?: string[];
  /** Redirects followed per attempt (credentials are dropped on an origin change). Default 5. */
  maxRedirects?: number;
  /**
   * Largest successful body accepted, in bytes after decompression: a larger one fails with reason
   * 'too-large' as soon as the cap is passed (or at once when Content-Length says so), so one answer can
   * never take the process's memory. Size it to the API. Default 8 MiB.
   */
  maxResponseBytes?: number;
  /** The connector setting behind maxResponseBytes (e.g. TEAMT5_MAX_RESPONSE_MB), named in the error. */
  maxResponseSetting?: string;
  logger?: HttpLogger;
  /** Aborts every request and every wait (rate-limit queue, backoff): connector shutdown. */
  signal?: AbortSignal;
}

export type QueryValue = string | number | boolean;
export type QueryParams = Record<string, QueryValue | readonly QueryValue[] | null | undefined>;

export interface HttpRequestOptions<T = unknown> {
  /** Query parameters, appended to those already in the URL; arrays become repeated parameters. */
  params?: QueryParams;
  headers?: Record<string, string>;
  /** Validates a successful (2xx) JSON body; a mismatch is an 'invalid-response' error. */
  schema?: ZodType<T>;
  /**
   * Non-2xx statuses returned (with `ok: false`) instead of thrown, e.g. `[404]` for "unknown IP".
   * Accepted statuses are neither retried nor validated against `schema`.
   */
  acceptStatus?: readonly number[];
  /**
   * 'json' (default) parses the body; 'text' returns it as a string; 'bytes' returns it as a Buffer (a
   * download: an image, an archive), unvalidated (`schema` does not apply).
   */
  responseType?: 'json' | 'text' | 'bytes';
  /**
   * A lower cap than the client's maxResponseBytes for this request (a download whose use has its own
   * bound, e.g. a file attached to a bundle); never above the client's. Passing it fails the request with
   * reason 'too-large', as the client's cap does.
   */
  maxResponseBytes?: number;
  /** The setting behind this request's maxResponseBytes, named in the error instead of the client's. */
  maxResponseSetting?: string;
  /**
   * Credentials: by default sent to allowed hosts and silently left out for others. `true`
   * refuses (throws) to send the request to a host that may not receive them; `false` never
   * sends them.
   */
  withAuth?: boolean;
  /**
   * Whether the request may be repeated safely. Default: true for GET, HEAD, OPTIONS, PUT,
   * DELETE; false for POST and PATCH, which are then retried only when the vendor certainly did
   * not process them (connection refused, DNS failure, 408, 429, 503).
   */
  idempotent?: boolean;
  signal?: AbortSignal;
}

export interface HttpRequest<T = unknown> extends HttpRequestOptions<T> {
  method?: string;
  /** Relative to baseURL (leading slash optional), or absolute. */
  url: string;
  /** Body: an object is sent as JSON, URLSearchParams as a form, a string or Buffer as is. */
  data?: unknown;
}

interface HttpResponseBase {
  status: number;
  /** Lower-case names; credential headers (set-cookie, authorization...) removed. */
  headers: Record<string, string>;
  /** The final URL (after redirects), credentials masked. */
  url: string;
}

/** A 2xx answer; `data` passed the schema when one was given. */
export interface HttpResponse<T = unknown> extends HttpResponseBase {
  ok: true;
  data: T;
}

/** A status listed in `acceptStatus`: the body as parsed JSON (or text), not validated. */
export interface HttpAcceptedResponse extends HttpResponseBase {
  ok: false;
  data: unknown;
}

export type AcceptingRequestOptions<T> = HttpRequestOptions<T> & { acceptStatus: readonly number[] };
export type AcceptingRequest<T> = HttpRequest<T> & { acceptStatus: readonly number[] };

export interface HttpClient {
  request<T = unknown>(req: AcceptingRequest<T>): Promise<HttpResponse<T> | HttpAcceptedResponse>;
  request<T = unknown>(req: HttpRequest<T>): Promise<HttpResponse<T>>;
  get<T = unknown>(url: string, options: AcceptingRequestOptions<T>): Promise<HttpResponse<T> | HttpAcceptedResponse>;
  get<T = unknown>(url: string, options?: HttpRequestOptions<T>): Promise<HttpResponse<T>>;
  post<T = unknown>(
    url: string,
    data: unknown,
    options: AcceptingRequestOptions<T>,
  ): Promise<HttpResponse<T> | HttpAcceptedResponse>;
  post<T = unknown>(url: string, data?: unknown, options?: HttpRequestOptions<T>): Promise<HttpResponse<T>>;
  /** Whether a request to `url` (absolute, or relative to baseURL) would carry the credentials. */
  sendsCredentialsTo(url: string | URL): boolean;
  /** Stops the rate limiter (queued requests fail) and closes pooled connections. */
  close(): Promise<void>;
}
